"""A third-party plugin, as an outside developer would write it, exercising every hook.

The tests register it with ``create_app(config, plugins=[plugin_example])``.
"""
from __future__ import annotations

import click
from sqlalchemy import func, select
from flask import Blueprint
from flask.cli import with_appcontext
from markupsafe import Markup

from survey_app import hookimpl
from survey_app.contributions import ExportFormat, ResponseColumn
from survey_app.models import ResponseMetric
from survey_app.questionnaire import Problem
from survey_app.results.tables import FrequencyRow, FrequencyTable, ResultSection

ping = Blueprint("example", "example")


@ping.route("/example/ping")
def pong():
    return "pong"


@hookimpl
def register_routes(app):
    app.register_blueprint(ping)


@click.command("example-hello")
@with_appcontext
def hello():
    click.echo("hello from the example plugin")


@hookimpl
def register_commands(cli):
    cli.add_command(hello)


@hookimpl
def plugin_sections():
    return ["example"]


@hookimpl
def validate_questionnaire(questionnaire):
    section = questionnaire.plugins.get("example")
    if section is not None and section.get("forbidden"):
        return [Problem("/plugins/example/forbidden", "the example plugin forbids this")]
    return []


def _count(session, response, name: str) -> None:
    metric = session.get(ResponseMetric, (response.id, "example", name))
    if metric is None:
        session.add(ResponseMetric(response_id=response.id, survey_id=response.survey_id, plugin="example",
                                   name=name, number=1))
    else:
        metric.number += 1


@hookimpl
def page_saved(response, page, session):
    _count(session, response, f"saved.{page.id}")


@hookimpl
def response_completed(response, questionnaire, session):
    if "example" in questionnaire.plugins:
        _count(session, response, "completed")


@hookimpl
def response_columns(questionnaire):
    if "example" in questionnaire.plugins:
        return [ResponseColumn(plugin="example", name="completed", label={"en": "Completed"})]


def _write_text(target, survey_id, **_options):
    target.write(f"survey {survey_id}\n".encode())


@hookimpl
def result_sections(survey_id, questionnaire, filters, session):
    """A section counting, in SQL, the responses this plugin marked completed."""
    if "example" not in questionnaire.plugins:
        return None
    count = session.execute(select(func.count()).select_from(ResponseMetric).where(
        ResponseMetric.survey_id == survey_id, ResponseMetric.plugin == "example",
        ResponseMetric.name == "completed")).scalar_one()
    table = FrequencyTable(question_id="example_completed", question_type="integer", label={"en": "Completed"},
                           rows=(FrequencyRow(code="completed", label={"en": "Completed"}, count=count, percent=100.0),),
                           base=count, shown=count)
    return [ResultSection(title={"en": "Example section"}, plugin="example", tables=(table,))]


@hookimpl
def breakdown_variables(questionnaire):
    section = questionnaire.plugins.get("example")
    return [section["break_down_by"]] if section and "break_down_by" in section else None


@hookimpl
def register_export_formats():
    return [ExportFormat(name="example-txt", label="Example text", media_type="text/plain", extension="txt",
                         write=_write_text)]


@hookimpl
def extra_template_vars(template):
    return {"example_template_seen": template}


@hookimpl
def page_snippets(slot, questionnaire, language):
    section = questionnaire.plugins.get("example")
    if slot == "thank_you" and section:
        return [Markup('<p class="example-snippet">{}</p>').format(section.get("message", ""))]
