"""The results page of a survey: every question's frequencies, filters, breakdowns and plugin sections.

Filters arrive as query arguments and are checked against allow-lists built
from the questionnaire; anything else is ignored and reported on the page.

``status``: ``complete`` (default) or ``all``; ``from``, ``to``: ISO dates;
``version``: a published version number (repeatable); ``where``:
``question_id:value`` for a single-choice or yes/no question (repeatable);
``breakdown``: a variable a plugin offers; ``lang``: a questionnaire language.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date

from flask import Blueprint, Response, abort, jsonify, render_template, request
from flask_babel import format_number as localized_number
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from survey_app import db, plugins
from survey_app.access import Permission, survey_or_404
from survey_app.questionnaire.model import SINGLE_VALUE_CHOICE_TYPES, YES_NO_VALUES, Question, Questionnaire
from survey_app.questionnaire.texts import Text, localize
from survey_app.jobs.running import work_path
from survey_app.models import Job, JobStatus
from survey_app.results.background import counting_job, fill_counts
from survey_app.results.queries import SurveyResults
from survey_app.results.tables import NOT_SHOWN, NOT_STATED, ResultFilters
from survey_app.surveys import questionnaire_of

blueprint = Blueprint("results", __name__)


@blueprint.route("/surveys/<slug>/results")
@login_required
def results(slug: str):
    """The results of a survey, for the users who may read them (404 for everyone else)."""
    survey = survey_or_404(slug, Permission.RESULTS)
    if survey.latest_version is None:
        abort(404)
    questionnaire = questionnaire_of(survey.latest_version)
    offered = breakdown_variables(questionnaire)
    filters, problems = parse_filters(request.args, questionnaire, [v.number for v in survey.versions], offered)
    session = db.session()
    counted = SurveyResults(session, survey.id, questionnaire, filters, split=offered[0] if offered else None)
    job = counting_job(counted)
    if job is not None:
        return render_template("results/counting.html", survey=survey, job=job, state=_counting_state(job))
    found = counted.summary()
    returned = plugins.hook().result_sections(survey_id=survey.id, questionnaire=questionnaire, filters=filters,
                                              session=session, results=counted)
    sections = [section for found in returned for section in found or ()]
    language = _language(questionnaire)
    snippets = [snippet for found in plugins.hook().page_snippets(slot="results", questionnaire=questionnaire,
                                                                  response=None, language=language)
                for snippet in found or ()]

    def text(value: Text | None) -> str:
        return localize(value, language, questionnaire.default_language)

    return render_template(
        "results/results.html", survey=survey, questionnaire=questionnaire, summary=found, sections=sections,
        snippets=snippets,
        filters=filters, problems=problems, breakdowns=[questionnaire.questions[id] for id in offered],
        filterable=filterable_questions(questionnaire), page_language=language, text=text,
        category_label=lambda code, label: text(label) if label is not None else standard_label(code),
        number=format_number, percent=format_percent,
    )


@blueprint.route("/surveys/<slug>/results/counting/<int:job_id>")
@login_required
def counting_status(slug: str, job_id: int) -> Response:
    """How far the survey's background counting job ``job_id`` got, as JSON for the counting page's script:
    ``done``, ``total``, ``text``, ``finished``."""
    survey = survey_or_404(slug, Permission.RESULTS)
    job = db.session().get(Job, job_id)
    if job is None or job.survey_id != survey.id or job.kind != work_path(fill_counts):
        abort(404)
    response = jsonify(_counting_state(job))
    response.headers["Cache-Control"] = "no-store"
    return response


def _counting_state(job: Job) -> dict:
    """What the counting page and its script show of ``job``."""
    if job.total:
        text = _("%(done)s of %(total)s responses counted", done=localized_number(job.done),
                 total=localized_number(job.total))
    else:
        text = _("Waiting to start…")
    return {"done": job.done, "total": job.total, "text": text,
            "finished": job.status in (JobStatus.DONE, JobStatus.FAILED)}


def breakdown_variables(questionnaire: Questionnaire) -> list[str]:
    """The question ids plugins offer to break results down by (single-choice questions outside repeats)."""
    returned = plugins.hook().breakdown_variables(questionnaire=questionnaire)
    offered = dict.fromkeys(question_id for found in returned for question_id in found or ())
    return [question_id for question_id in offered if _is_variable(questionnaire.questions.get(question_id))]


def filterable_questions(questionnaire: Questionnaire) -> list[Question]:
    """The questions results can be filtered by: single-choice and yes/no questions outside repeats."""
    return [question for question in questionnaire.all_questions() if _is_variable(question)]


def _is_variable(question: Question | None) -> bool:
    return question is not None and question.type in SINGLE_VALUE_CHOICE_TYPES and question.repeat_id is None


def _values(question: Question) -> tuple[str, ...]:
    return YES_NO_VALUES if question.type == "yes_no" else question.choice_values()


def parse_filters(args: MultiDict, questionnaire: Questionnaire, version_numbers: Collection[int],
                  offered: Sequence[str]) -> tuple[ResultFilters, list[str]]:
    """Filters from query arguments, keeping only allowed values; the second item lists what was ignored."""
    problems: list[str] = []
    status = args.get("status", "complete")
    if status not in ("complete", "all"):
        problems.append(_("Unknown response status “%(status)s”.", status=status[:40]))
        status = "complete"
    date_from, date_to = _date(args.get("from"), problems), _date(args.get("to"), problems)
    versions = []
    for raw in args.getlist("version"):
        if raw.isascii() and raw.isdigit() and int(raw) in version_numbers:
            versions.append(int(raw))
        else:
            problems.append(_("There is no version “%(number)s”.", number=raw[:40]))
    allowed = {question.id: _values(question) for question in filterable_questions(questionnaire)}
    choices = []
    for raw in args.getlist("where"):
        question_id, _separator, value = raw.partition(":")
        if value in allowed.get(question_id, ()):
            choices.append((question_id, value))
        else:
            problems.append(_("Unknown filter “%(filter)s”.", filter=raw[:100]))
    breakdown = args.get("breakdown") or None
    if breakdown is not None and breakdown not in offered:
        problems.append(_("Results cannot be broken down by “%(name)s”.", name=breakdown[:100]))
        breakdown = None
    filters = ResultFilters(status == "complete", date_from, date_to, tuple(sorted(set(versions))),
                            tuple(dict.fromkeys(choices)), breakdown)
    return filters, problems


def _date(raw: str | None, problems: list[str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        problems.append(_("“%(date)s” is not a date (YYYY-MM-DD).", date=raw[:40]))
        return None


def _language(questionnaire: Questionnaire) -> str:
    """The questionnaire language to show texts in: ``?lang=``, else the interface's, else the default."""
    for candidate in (request.args.get("lang"), str(get_locale())):
        if candidate in questionnaire.languages:
            return candidate
    return questionnaire.default_language


def standard_label(code: str) -> str:
    """The wording of a category the questionnaire gives no label for (yes/no, not stated, ...)."""
    return {"yes": _("Yes"), "no": _("No"), NOT_STATED: _("Not stated"), NOT_SHOWN: _("Not shown")}.get(code, code)


def format_percent(value: float | None) -> str:
    """A percentage for a table or chart ("42.5%"); a dash when there is no base."""
    return "–" if value is None else f"{format_number(value)}%"


def format_number(value: float | None, decimals: int = 1) -> str:
    """A number for a table: whole numbers without decimals, others rounded; a dash for none."""
    if value is None:
        return "–"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.{decimals}f}"
