"""Question types from plugins (``register_question_types``), through the real application.

The example plugin (tests/plugin_example.py) adds ``geopoint``: "latitude,
longitude" text, optionally within a box, exported as two number columns. Its
questions are validated, drawn, answered, stored, exported, generated and
added in the designer like built-in ones; without the plugin, questionnaires
using the type do not validate and published surveys show a friendly page.
"""
from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
import random
import re
from html import unescape

import openpyxl
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from survey_app import create_app, db, hookimpl, question_types
from survey_app.cli import build_cli
from survey_app.contributions import QuestionType
from survey_app.demo_data import DemoDataError, DemoGenerator
from survey_app.models import Answer, Response, ResponseStatus, SurveyStatus
from survey_app.plugins import StartupError
from survey_app.questionnaire import QuestionnaireInvalid, load_questionnaire
from survey_app.questionnaire.plugin_types import QuestionTypes
from survey_app.responses.validation import response_problems
from survey_app.surveys import checked_problems, import_survey, load_checked
from tests import plugin_example
from tests.conftest import _base_config
from tests.helpers import Respondent, login
from tests.test_design import draft_of, new_draft, outline_post, publish

HOSTILE = '<img src=x onerror="alert(1)"> Where did it happen?'
BOX = {"south": 40.5, "west": 46.4, "north": 55.5, "east": 87.4}  # Kazakhstan, roughly
DOCUMENT = {
    "id": "incident-map", "version": "1", "languages": ["en", "ru", "kk"], "title": "Incidents",
    "pages": [
        {"id": "where", "questions": [
            {"id": "place", "type": "geopoint", "label": HOSTILE, "hint": "Latitude, longitude", "within": BOX},
            {"id": "place_note", "type": "text", "label": "Describe the place", "show_if": "answered(place)"},
        ]},
        {"id": "more", "questions": [{"id": "comment", "type": "long_text", "label": "Anything else?"}]},
    ],
}
PLACE = "/pages/0/questions/0"


def with_place(**changes) -> dict:
    """DOCUMENT with the geopoint question's keys changed (None removes a key)."""
    document = copy.deepcopy(DOCUMENT)
    place = document["pages"][0]["questions"][0]
    place.update(changes)
    for key in [key for key, value in changes.items() if value is None]:
        del place[key]
    return document


@pytest.fixture(scope="module")
def checker():
    """An app with the example plugin, for checks that need no database."""
    return create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "checks"}, plugins=[plugin_example])


def problems_of(app, document: dict) -> list[tuple[str, str]]:
    with app.app_context():
        return [(problem.path, problem.message) for problem in checked_problems(json.dumps(document))]


@pytest.fixture
def geo_app(database_url, tmp_path):
    """An app on a fresh database with the example plugin, as a third-party plugin is tested."""
    application = create_app(_base_config(tmp_path, database_url), plugins=[plugin_example])
    yield application
    db.database(application).engine.dispose()


@pytest.fixture
def survey(geo_app):
    """DOCUMENT published and open; its slug."""
    return open_survey(geo_app)


def open_survey(app) -> str:
    """DOCUMENT published and open in ``app``'s database, owned by a new researcher; its slug."""
    from survey_app.auth.passwords import hash_password
    from survey_app.models import Role, User
    from tests.helpers import PASSWORD

    with app.app_context():
        session = db.session()
        owner = User(email="owner@example.org", name="Owner", role=Role.RESEARCHER,
                     password_hash=hash_password(PASSWORD))
        session.add(owner)
        import_survey(session, load_checked(json.dumps(DOCUMENT)), owner, status=SurveyStatus.OPEN)
        session.commit()
    return DOCUMENT["id"]


def error_message(html: str) -> str:
    found = re.search(r'<p class="error-message" id="place-error">.*?</span>(.*?)</p>', html, re.S)
    assert found, "no error message next to the question"
    return unescape(found.group(1)).strip()


def place_input(html: str) -> str:
    found = re.search(r'<input[^>]*name="place"[^>]*>', html)
    assert found, "no input for the geopoint question"
    return found.group(0)


# --- loading ---------------------------------------------------------------------


def test_a_questionnaire_using_the_type_loads_and_its_questions_carry_it(checker):
    with checker.app_context():
        questionnaire = load_checked(json.dumps(DOCUMENT))
    place = questionnaire.questions["place"]
    assert place.plugin_type is plugin_example.GEOPOINT and place.options == {"within": BOX}
    assert questionnaire.questions["place_note"].plugin_type is None


@pytest.mark.parametrize("changes, expected", [
    ({"withn": BOX, "within": None}, (f"{PLACE}/withn", "unknown key 'withn' (did you mean 'within'?)")),
    ({"within": {**BOX, "south": "north"}}, (f"{PLACE}/within/south", "must be a number, not a string")),
    ({"within": {key: value for key, value in BOX.items() if key != "east"}},
     (f"{PLACE}/within", "'east' is required here")),
    ({"within": "Almaty"}, (f"{PLACE}/within", "must be an object, not a string")),
    ({"label": None}, (PLACE, "'label' is required here")),
    ({"within": {**BOX, "south": 56.0}}, (f"{PLACE}/within/south", "'south' is north of 'north'")),
    ({"default": "95, 10"}, (f"{PLACE}/default",
                             "the default is not a valid answer: The latitude must be between -90 and 90")),
    ({"default": 43.2}, (f"{PLACE}/default", "the default is not a valid answer: must be text")),
])
def test_the_types_own_keys_and_defaults_are_checked_like_built_in_ones(checker, changes, expected):
    assert problems_of(checker, with_place(**changes)) == [expected]


def test_expressions_treat_the_answer_by_its_value_kind(checker):
    document = copy.deepcopy(DOCUMENT)
    document["pages"][1]["questions"][0]["show_if"] = "place > 10"
    [(path, message)] = problems_of(checker, document)
    assert path == "/pages/1/questions/0/show_if" and "text" in message and "number" in message


def test_an_unknown_type_names_the_installed_types(checker, tmp_path):
    [(path, message)] = problems_of(checker, with_place(type="geopiont"))
    assert path == f"{PLACE}/type"
    assert message.startswith("'geopiont' is not a question type installed here (did you mean 'geopoint'?)")
    assert message.endswith("calculated, repeat, geopoint")
    without = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x", "DISABLED_PLUGINS": "tests.plugin_example"},
                         plugins=[plugin_example])
    [(path, message)] = problems_of(without, DOCUMENT)
    assert path == f"{PLACE}/type" and "'geopoint' is not a question type installed here" in message
    assert "geopoint" not in message.split("installed types are:")[1]


class Twin:
    """A second plugin registering a type (``kind``), as another distribution would."""

    __name__ = "twin"

    def __init__(self, kind: QuestionType):
        self.kind = kind

    @hookimpl
    def register_question_types(self):
        return [self.kind]


@pytest.mark.parametrize("kind, message", [
    (plugin_example.GEOPOINT, "plugins 'tests.plugin_example' and 'twin' both register the question type 'geopoint'"),
    (dataclasses.replace(plugin_example.GEOPOINT, name="text"),
     "plugin 'twin' registers the question type 'text', which is a built-in type"),
    (dataclasses.replace(plugin_example.GEOPOINT, name="where", schema={"properties": {"label": {"type": "string"}}}),
     "the core defines the keys label of every question"),
    (dataclasses.replace(plugin_example.GEOPOINT, name="where", schema={"properties": {"within": {"type": "box"}}}),
     "its schema is not a valid JSON Schema"),
    (dataclasses.replace(plugin_example.GEOPOINT, name="where", value_kind="point"),
     "value_kind must be one of text, number, date"),
    (dataclasses.replace(plugin_example.GEOPOINT, name="Where"), "a name is a lowercase letter"),
])
def test_a_type_that_cannot_work_stops_the_app_at_start_up(kind, message):
    with pytest.raises(StartupError, match=re.escape(message)):
        create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "x"}, plugins=[plugin_example, Twin(kind)])


# --- answering --------------------------------------------------------------------


def test_the_input_is_drawn_inside_the_cores_label_with_everything_escaped(geo_app, survey):
    respondent = Respondent(geo_app.test_client(), survey)
    html = respondent.open("where").get_data(as_text=True)
    assert '<label for="place">&lt;img src=x onerror=&#34;alert(1)&#34;&gt; Where did it happen?' in html
    assert "<img src=x" not in html
    assert place_input(html).startswith('<input type="text" inputmode="decimal"')
    assert ' id="place" name="place" aria-describedby="place-hint"' in place_input(html)
    assert respondent.post("where", {"place": '"><script>alert(1)</script>'}).status_code == 422
    drawn = place_input(respondent.html)
    assert 'value="&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"' in drawn and "<script>alert" not in respondent.html
    assert 'aria-describedby="place-hint place-error" aria-invalid="true"' in drawn


@pytest.mark.parametrize("language, posted, message", [
    ("en", "95, 10", "The latitude must be between -90 and 90"),
    ("ru", "95, 10", "Широта должна быть от -90 до 90"),
    ("ru", "сорок три", "Введите широту и долготу, например 43.2383, 76.9453"),
    ("en", "51.1, 10.4", "Enter a point between latitudes 40.5 and 55.5 and longitudes 46.4 and 87.4"),
    ("kk", "95, 10", "The latitude must be between -90 and 90"),  # no Kazakh wording: the default language's
])
def test_the_plugins_messages_are_shown_in_the_respondents_language(geo_app, survey, language, posted, message):
    respondent = Respondent(geo_app.test_client(), survey)
    respondent.open("where", lang=language)
    assert respondent.post("where", {"place": posted}).status_code == 422
    assert error_message(respondent.html) == message
    assert '<a href="#place">' in respondent.html  # the error summary links to the input


def test_an_answer_is_stored_and_read_back(geo_app, survey):
    client = geo_app.test_client()
    respondent = Respondent(client, survey)
    respondent.open("where")
    assert respondent.post("where", {"place": "43,2383; 76,9453", "place_note": "near the bazaar"}).status_code == 302
    again = respondent.open("where").get_data(as_text=True)
    assert 'value="43.2383, 76.9453"' in place_input(again)  # the stored answer, written the one way
    respondent.post("where", {"place": "43.2383, 76.9453", "place_note": "near the bazaar"})
    respondent.open("more")
    respondent.post("more", {"comment": ""})
    assert "43.2383, 76.9453" in client.get(f"/s/{survey}/review").get_data(as_text=True)
    assert "/done" in respondent.submit().headers["Location"]
    with geo_app.app_context():
        session = db.session()
        response = session.execute(select(Response)).scalar_one()
        assert response.status is ResponseStatus.COMPLETE
        assert response.data["answers"] == {"place": "43.2383, 76.9453", "place_note": "near the bazaar"}
        rows = session.execute(select(Answer.item, Answer.code, Answer.number, Answer.text)
                               .where(Answer.question_id == "place")).all()
        assert [tuple(row) for row in rows] == [("", None, None, "43.2383, 76.9453")]


def test_a_show_if_depends_on_the_plugin_question(geo_app, survey):
    respondent = Respondent(geo_app.test_client(), survey)
    html = respondent.open("where").get_data(as_text=True)
    logic = json.loads(re.search(r'<script type="application/json" id="survey-logic">(.*?)</script>', html).group(1))
    assert logic["types"]["place"] == "text"  # respondent.js reads the input's text
    assert logic["rules"][0][0] == "place_note"
    respondent.post("where", {"place": "", "place_note": "kept?"})
    with geo_app.app_context():
        assert db.session().execute(select(Response)).scalar_one().data["answers"] == {}  # hidden: dropped
    respondent.open("where")
    respondent.post("where", {"place": "43.2383, 76.9453", "place_note": "kept"})
    with geo_app.app_context():
        answers = db.session().execute(select(Response)).scalar_one().data["answers"]
    assert answers == {"place": "43.2383, 76.9453", "place_note": "kept"}


# --- exports ---------------------------------------------------------------------


def test_exports_write_the_types_columns(geo_app, survey):
    client = geo_app.test_client()
    respondent = Respondent(client, survey)
    respondent.open("where")
    respondent.post("where", {"place": "43.2383, 76.9453"})
    respondent.open("more")
    respondent.post("more", {"comment": "ok"})
    respondent.submit()
    login(client, "owner@example.org")
    with client.get(f"/surveys/{survey}/export/xlsx?codes=1") as download:
        assert download.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(download.data))["Responses"]
    header, row = ([cell.value for cell in line] for line in sheet.iter_rows(max_row=2))
    record = dict(zip(header, row))
    assert (record["place.lat"], record["place.lon"]) == (43.2383, 76.9453)
    assert "place" not in record and record["place_note"] is None and record["comment"] == "ok"
    with client.get(f"/surveys/{survey}/export/xlsx?lang=ru") as download:
        sheet = openpyxl.load_workbook(io.BytesIO(download.data))["Responses"]
    header = [cell.value for cell in next(sheet.iter_rows())]
    assert f"{HOSTILE}: широта" in header and f"{HOSTILE}: долгота" in header
    with client.get(f"/surveys/{survey}/export/csv?codes=1") as download:
        [record] = csv.DictReader(io.StringIO(download.data.decode("utf-8-sig")))
    assert (record["place.lat"], record["place.lon"]) == ("43.2383", "76.9453")


# --- the plugin gone ----------------------------------------------------------------


def test_without_the_plugin_the_survey_shows_a_friendly_page(geo_app, survey, database_url, tmp_path):
    without = create_app({**_base_config(tmp_path, database_url), "DISABLED_PLUGINS": "tests.plugin_example"},
                         plugins=[plugin_example])
    try:
        assert "geopoint" not in question_types.registry(without)
        client = without.test_client()
        for path in (f"/s/{survey}", f"/s/{survey}/p/where"):
            page = client.get(path)
            assert page.status_code == 503, path
            assert "This survey is not available at the moment" in page.get_data(as_text=True)
        source = tmp_path / "incident-map.json"
        source.write_text(json.dumps(DOCUMENT), "utf-8")
        result = CliRunner().invoke(build_cli(without), ["validate", str(source)])
        assert result.exit_code != 0 and "'geopoint' is not a question type installed here" in result.output
    finally:
        db.database(without).engine.dispose()
    assert geo_app.test_client().get(f"/s/{survey}").status_code == 200  # with the plugin, it works again


class Failing:
    """The example's geopoint type with one of its functions (``step``) raising, as a buggy plugin's would."""

    __name__ = "failing"

    def __init__(self, step: str):
        self.step = step

    @hookimpl
    def register_question_types(self):
        def bug(*_arguments):
            raise RuntimeError("a bug in the plugin")
        return [dataclasses.replace(plugin_example.GEOPOINT, **{self.step: bug})]


@pytest.mark.parametrize("step", ["render", "parse", "check"])
def test_a_type_that_raises_gives_the_friendly_page_and_stores_nothing_of_the_page(database_url, tmp_path, step):
    app = create_app(_base_config(tmp_path, database_url), plugins=[Failing(step)])
    try:
        slug = open_survey(app)
        respondent = Respondent(app.test_client(), slug)
        opened = respondent.open("where")
        if step == "render":
            assert opened.status_code == 503
        else:
            assert opened.status_code == 200
            assert respondent.post("where", {"place": "43.2, 76.9", "place_note": "kept?"}).status_code == 503
        assert "This survey is not available at the moment" in respondent.html
        assert "a bug in the plugin" not in respondent.html
        with app.app_context():
            assert db.session().scalars(select(Answer.question_id)).all() == []
    finally:
        db.database(app).engine.dispose()


def test_a_check_that_raises_on_a_default_is_a_validation_problem(tmp_path):
    app = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "checks"}, plugins=[Failing("check")])
    assert problems_of(app, with_place(default="43.2, 76.9")) == [
        (f"{PLACE}/default", "the default could not be checked: the question type 'geopoint' failed to check an "
                             "answer (RuntimeError('a bug in the plugin'))")]


# --- designer and demo data ---------------------------------------------------------


def test_the_designer_offers_the_type_and_adds_a_question_that_loads(geo_app, survey):
    client = geo_app.test_client()
    login(client, "owner@example.org")
    slug = new_draft(geo_app, client, {**DOCUMENT, "id": "draft-map"})
    assert '<option value="geopoint">Map point (latitude, longitude)</option>' in \
        client.get(f"/surveys/{slug}/edit").get_data(as_text=True)
    assert outline_post(client, slug, "add", kind="geopoint", position="1:1").status_code == 302
    with geo_app.app_context():
        questionnaire = load_checked(draft_of(geo_app, slug))
    added = questionnaire.pages[1].questions[1]
    assert added.type == "geopoint" and added.plugin_type is plugin_example.GEOPOINT
    assert publish(client, slug).status_code == 302
    assert client.get(f"/s/{slug}/p/more").status_code == 200


def test_demo_data_uses_the_types_examples():
    types = QuestionTypes({"geopoint": plugin_example.GEOPOINT})
    questionnaire = load_questionnaire(json.dumps(with_place(required=True)), question_types=types)
    generator = DemoGenerator(questionnaire, seed=3)
    for number in range(50):
        answers = generator.answers(random.Random(number))
        latitude, longitude = plugin_example.coordinates(answers["place"])
        assert BOX["south"] <= latitude <= BOX["north"] and BOX["west"] <= longitude <= BOX["east"]
        assert response_problems(questionnaire, answers) == []
    silent = QuestionTypes({"geopoint": dataclasses.replace(plugin_example.GEOPOINT, example=None)})
    optional = load_questionnaire(json.dumps(DOCUMENT), question_types=silent)
    assert "place" not in DemoGenerator(optional).answers(random.Random(1))
    with pytest.raises(DemoDataError, match="gives no example answers"):
        DemoGenerator(load_questionnaire(json.dumps(with_place(required=True)), question_types=silent))


def test_the_core_alone_refuses_the_type():
    with pytest.raises(QuestionnaireInvalid, match="'geopoint' is not a question type installed here"):
        load_questionnaire(json.dumps(DOCUMENT))
