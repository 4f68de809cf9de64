"""Every hook a plugin can implement, in one place.

Hooks are called with keyword arguments only; an implementation may accept any
subset of a hook's arguments, so new arguments never break old plugins.
Implement them with ``from survey_app import hookimpl``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click
    from flask import Flask

    from markupsafe import Markup
    from sqlalchemy.orm import Session

    from flask import Request as FlaskRequest

    from survey_app.contributions import ExportFormat, QuestionType, ResponseColumn
    from survey_app.models import Response
    from survey_app.questionnaire import Page, Problem, Questionnaire
    from survey_app.results.queries import SurveyResults
    from survey_app.results.tables import ResultFilters, ResultSection

hookspec = pluggy.HookspecMarker("survey_app")
hookimpl = pluggy.HookimplMarker("survey_app")


# --- Start-up: called once per app, while it is built ------------------------


@hookspec
def register_routes(app: Flask) -> None:
    """Register blueprints or routes on ``app``. Called once, at the end of ``create_app``."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``survey-app`` command group."""


@hookspec
def register_question_types() -> list[QuestionType] | None:
    """Question types this plugin adds, as :class:`~survey_app.contributions.QuestionType` objects.

    Collected once at start-up. Each type brings everything the core needs:
    its ``name`` (never a built-in type's or another plugin's: a clash stops
    the app, naming both), a ``label`` for the designer's add-question menu, a
    JSON Schema of its own keys (merged into questionnaire validation, so its
    questions get the same path-and-message problems as built-in ones), a
    ``value_kind`` ("text", "number" or "date": what the answer is for
    expressions, storage, results and exports), ``parse`` (posted text to value
    or ``Unparsable``), ``check`` (value to ``Issue`` or None) with its own
    translated ``messages``, ``render`` (the input's ``Markup``, drawn inside the
    core's label and error structure), ``export_columns`` and an optional
    ``example`` for demo data. A questionnaire naming a type that no loaded
    plugin registers does not validate; a published survey using one shows a
    "not available" page until the plugin is back.
    """


# --- Questionnaires ---------------------------------------------------------


@hookspec
def plugin_sections() -> list[str] | None:
    """Name the sections of a questionnaire's ``plugins`` object this plugin reads.

    A section that no plugin claims is reported as an error (with a did-you-mean),
    so a misspelt ``"scorng"`` never silently turns scoring off.
    """


@hookspec
def validate_questionnaire(questionnaire: Questionnaire) -> list[Problem] | None:
    """Check this plugin's own section of ``questionnaire.plugins``.

    Called when a questionnaire is validated or imported, after the core checks
    passed. Return problems whose paths start with ``/plugins/<section>``;
    return nothing (or an empty list) when all is well.
    """


# --- Responses --------------------------------------------------------------


@hookspec
def page_saved(response: Response, page: Page, questionnaire: Questionnaire, session: Session) -> None:
    """React to a page of answers saved into a (still partial) response.

    Called after the save is committed, each plugin in its own savepoint, exactly
    as :func:`response_completed`.
    """


@hookspec
def response_completed(response: Response, questionnaire: Questionnaire, session: Session) -> None:
    """React to a completed response (e.g. compute and store a score).

    Called in the final submit's transaction, once the response is complete,
    each plugin in its own savepoint of ``session``: what it writes is committed
    together with the completion, so a score never lags behind its response. A
    plugin that raises has only its own writes rolled back; the answers are still
    stored, and the exception is logged as a ``PluginFailure`` shown to staff.
    ``response.data["answers"]`` holds only the answers to questions that were
    shown (see ``survey_app.responses.logic.resolve``).
    """


@hookspec
def response_columns(questionnaire: Questionnaire) -> list[ResponseColumn] | None:
    """Extra per-response columns (e.g. scores) for response tables and exports.

    Their values are read from the ``ResponseMetric`` rows the plugin stores.
    """


# --- Results ----------------------------------------------------------------


@hookspec
def result_sections(survey_id: int, questionnaire: Questionnaire, filters: ResultFilters, session: Session,
                    results: SurveyResults) -> list[ResultSection] | None:
    """Sections for a survey's results (e.g. crosstabs by gender, score distributions).

    Called for the results page and for exports, which show exactly the same
    objects, so the numbers always agree. Count in SQL (``session``), never by
    loading responses into Python; honour ``filters``. ``results`` is the
    core's count of every question under these filters (its ``summary()`` and
    ``crosstabs(variable)``), already made or shared with the page: read
    question counts from it rather than counting them again.
    """


# --- Exports ----------------------------------------------------------------


@hookspec
def register_export_formats() -> list[ExportFormat] | None:
    """Export formats this plugin offers (the Excel and CSV exports are two of them).

    Collected once at start-up; two formats with the same name are a start-up error.
    """


@hookspec
def breakdown_variables(questionnaire: Questionnaire) -> list[str] | None:
    """Question ids the results page offers to break every table down by (e.g. gender)."""


# --- Pages ------------------------------------------------------------------


@hookspec
def extra_template_vars(template: str, request: FlaskRequest) -> dict[str, object] | None:
    """Variables to add to the context of every page rendered from ``template``."""



@hookspec
def page_snippets(slot: str, questionnaire: Questionnaire, response: Response | None, language: str) -> list[Markup] | None:
    """HTML to insert in a page at ``slot``.

    Slots: ``"thank_you"`` (the respondent's last page; ``response`` is theirs) and
    ``"results"`` (a survey's results page, below its filters, for staff and
    researchers; ``response`` is None and ``flask.request`` holds the survey's
    ``slug`` and the filters' query arguments).

    Return ``Markup`` built with escaping (e.g. ``Markup("<p>{}</p>").format(text)``):
    texts from questionnaires and answers are untrusted.
    """
