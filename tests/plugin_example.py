"""A third-party plugin, as an outside developer would write it, exercising every hook.

The tests register it with ``create_app(config, plugins=[plugin_example])``. Besides
its ``example`` section it adds a question type, ``geopoint``: a place as
"latitude, longitude" (e.g. ``43.2383, 76.9453``), optionally within a box.
"""
from __future__ import annotations

import math
import re

import click
from sqlalchemy import func, select
from flask import Blueprint
from flask.cli import with_appcontext
from markupsafe import Markup

from survey_app import hookimpl
from survey_app.contributions import ExportColumn, ExportFormat, Issue, QuestionType, ResponseColumn, Unparsable
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


# --- the geopoint question type ------------------------------------------------

_EDGES = {"south": (-90, 90), "north": (-90, 90), "west": (-180, 180), "east": (-180, 180)}
GEOPOINT_SCHEMA = {"properties": {"within": {
    "title": "Within",
    "description": "The area the point must lie in: {\"south\": ..., \"west\": ..., \"north\": ..., \"east\": ...} "
                   "in degrees.",
    "type": "object",
    "required": list(_EDGES),
    "properties": {edge: {"type": "number", "minimum": low, "maximum": high} for edge, (low, high) in _EDGES.items()},
    "additionalProperties": False,
}}}
GEOPOINT_MESSAGES = {
    "geopoint_format": {"en": "Enter the latitude and the longitude, e.g. 43.2383, 76.9453",
                        "ru": "Введите широту и долготу, например 43.2383, 76.9453"},
    "latitude_range": {"en": "The latitude must be between -90 and 90",
                       "ru": "Широта должна быть от -90 до 90"},
    "longitude_range": {"en": "The longitude must be between -180 and 180",
                        "ru": "Долгота должна быть от -180 до 180"},
    "outside_area": {
        "en": "Enter a point between latitudes %(south)s and %(north)s and longitudes %(west)s and %(east)s",
        "ru": "Укажите точку между широтами %(south)s и %(north)s и долготами %(west)s и %(east)s",
    },
}


def coordinates(text: str) -> tuple[float, float] | None:
    """Latitude and longitude from "lat, lon" (or "lat lon", or "lat; lon" with decimal commas)."""
    parts = [part.replace(",", ".") for part in text.split(";")] if ";" in text else re.split(r"\s*,\s*|\s+", text)
    try:
        numbers = [float(part) for part in parts if part.strip()]
    except ValueError:
        return None
    if len(numbers) != 2 or not all(math.isfinite(number) for number in numbers):
        return None
    return numbers[0], numbers[1]


def _degrees(number: float) -> str:
    return f"{number:.6f}".rstrip("0").rstrip(".")  # 6 places: about 10 cm


def _point(latitude: float, longitude: float) -> str:
    return f"{_degrees(latitude)}, {_degrees(longitude)}"


def parse_geopoint(question, text: str):
    """The typed point, written the one way answers are stored ("43.2383, 76.9453")."""
    found = coordinates(text)
    return _point(*found) if found is not None else Unparsable(text, "geopoint_format")


def check_geopoint(question, value: str):
    """Why the point is not acceptable (on Earth, in the question's box), or None."""
    found = coordinates(value)
    if found is None:
        return Issue("geopoint_format")
    latitude, longitude = found
    if not -90 <= latitude <= 90:
        return Issue("latitude_range")
    if not -180 <= longitude <= 180:
        return Issue("longitude_range")
    box = question.options.get("within")
    if box and not (box["south"] <= latitude <= box["north"] and box["west"] <= longitude <= box["east"]):
        return Issue("outside_area", dict(box))
    return None


def render_geopoint(question, field):
    """One text input; the core draws its label, hint and error around it."""
    return Markup('<input type="text" inputmode="decimal" autocomplete="off" spellcheck="false" '
                  'placeholder="43.2383, 76.9453" value="{}"{}>').format(field.value, field.attributes)


def example_geopoint(question, rng):
    """A random point in the question's box (or anywhere), for demo data."""
    box = question.options.get("within") or {"south": -90, "north": 90, "west": -180, "east": 180}
    return _point(rng.uniform(box["south"], box["north"]), rng.uniform(box["west"], box["east"]))


GEOPOINT = QuestionType(
    name="geopoint",
    label={"en": "Map point (latitude, longitude)", "ru": "Точка на карте (широта, долгота)"},
    schema=GEOPOINT_SCHEMA,
    value_kind="text",
    parse=parse_geopoint,
    check=check_geopoint,
    messages=GEOPOINT_MESSAGES,
    render=render_geopoint,
    export_columns=(
        ExportColumn("lat", {"en": "latitude", "ru": "широта"}, "number", lambda value: coordinates(value)[0]),
        ExportColumn("lon", {"en": "longitude", "ru": "долгота"}, "number", lambda value: coordinates(value)[1]),
    ),
    example=example_geopoint,
)


@hookimpl
def register_question_types():
    return [GEOPOINT]


# --- the other hooks ------------------------------------------------------------


@hookimpl
def plugin_sections():
    return ["example"]


@hookimpl
def validate_questionnaire(questionnaire):
    problems = []
    section = questionnaire.plugins.get("example")
    if section is not None and section.get("forbidden"):
        problems.append(Problem("/plugins/example/forbidden", "the example plugin forbids this"))
    for question in questionnaire.all_questions():  # what a JSON Schema cannot say about geopoint questions
        box = question.options.get("within") if question.type == "geopoint" else None
        if box and box["south"] > box["north"]:
            problems.append(Problem(f"{question.path}/within/south", "'south' is north of 'north'"))
        if box and box["west"] > box["east"]:
            problems.append(Problem(f"{question.path}/within/west", "'west' is east of 'east'"))
    return problems


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
