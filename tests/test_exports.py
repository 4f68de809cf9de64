"""The exports plugin: xlsx and CSV files opened again and checked against the database.

The survey has two versions: v2 adds ``email`` after ``age`` and drops the
choice ``radio`` of ``channels``. Responses are stored as the platform stores
them (``answer_rows``), hostile texts included; each test opens the produced
file with openpyxl (or the csv module) and compares every cell it checks with
what was stored.
"""
from __future__ import annotations

import copy
import csv
import io
import os
import re
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
import xlsxwriter
from sqlalchemy import insert, select

from survey_app import db, plugins
from survey_app.models import (Answer, QuestionnaireVersion, Response, ResponseMetric, ResponseStatus, Role, Survey,
                               SurveyMember, SurveyRole, User)
from survey_app.questionnaire import load_questionnaire
from survey_app.responses.storage import answer_rows
from survey_app.results.tables import ResultFilters
from survey_app.surveys import import_survey, questionnaire_of
from survey_plugins.exports.columns import Column, Table, union_order
from survey_plugins.exports.options import ExportReport
from survey_plugins.exports.safety import EXCEL_MAX_TEXT, ExportError, checked, safe_text, sheet_name
from survey_plugins.exports.xlsx import Formats, TableWriter
from tests.helpers import login

ROOT = Path(__file__).resolve().parent.parent
UTC = timezone.utc
HEADER_FORMULA = '=HYPERLINK("http://x","header")'


def T(en: str, ru: str, kk: str) -> dict:
    return {"en": en, "ru": ru, "kk": kk}


def choice(value: str, en: str, ru: str, kk: str) -> dict:
    return {"value": value, "label": T(en, ru, kk)}


V1 = {
    "id": "export-test", "version": "1", "languages": ["kk", "ru", "en"], "default_language": "ru",
    "title": T("Export test", "Тест выгрузки", "Экспорт сынағы"),
    "plugins": {"breakdowns": {"gender": "gender"},
                "scoring": {"scores": [{"id": "s", "label": "Index",
                                        "items": [{"question": "likes", "points": {"yes": 1, "no": 0}}]}]}},
    "pages": [
        {"id": "about", "questions": [
            {"id": "gender", "type": "single_choice", "label": T("Gender", "Пол", "Жынысы"),
             "choices": [choice("female", "Female", "Женский", "Әйел"), choice("male", "Male", "Мужской", "Ер")],
             "other": T("Other", "Другое", "Басқа")},
            {"id": "age", "type": "integer", "label": T("Age", "Возраст", "Жасы")},
            {"id": "share", "type": "decimal", "label": T("Share", "Доля", "Үлес")},
            {"id": "visited", "type": "date", "label": T("Visited", "Дата", "Күні")},
            {"id": "likes", "type": "yes_no", "label": T("Likes", "Нравится", "Ұнайды")},
            {"id": "name", "type": "text", "label": T("Name", "Имя", "Аты")},
        ]},
        {"id": "media", "questions": [
            {"id": "channels", "type": "multiple_choice", "label": T("Channels", "Каналы", "Арналар"),
             "choices": [choice("web", "Web", "Сеть", "Желі"), choice("tv", "TV", "ТВ", "ТД"),
                         choice("radio", "Radio", "Радио", "Радио")],
             "other": T("Other", "Другое", "Басқа")},
            {"id": "grid", "type": "matrix", "label": T("Grid", "Сетка", "Тор"),
             "rows": [{"value": "row_a", "label": "A"}, {"value": "row_b", "label": "B"}],
             "choices": [choice("good", "Good", "Хорошо", "Жақсы"), choice("bad", "Bad", "Плохо", "Жаман")]},
            {"id": "rank", "type": "ranking", "label": T("Rank", "Ранг", "Дәреже"),
             "choices": [{"value": "x", "label": "X"}, {"value": "y", "label": "Y"}, {"value": "z", "label": "Z"}]},
            {"id": "comment", "type": "long_text", "max_length": 40000, "label": HEADER_FORMULA},
            {"id": "double_age", "type": "calculated", "expression": "age * 2"},
        ]},
        {"id": "events", "questions": [
            {"id": "incidents", "type": "repeat", "label": T("Incidents", "Инциденты", "Оқиғалар"), "questions": [
                {"id": "kind", "type": "single_choice", "label": T("Kind", "Вид", "Түрі"),
                 "choices": [choice("fraud", "Fraud", "Подлог", "Алаяқтық"),
                             choice("pressure", "Pressure", "Давление", "Қысым")]},
                {"id": "details", "type": "text", "label": T("Details", "Подробности", "Толығырақ")},
            ]},
        ]},
    ],
}


def _v2() -> dict:
    document = copy.deepcopy(V1)
    document["version"] = "2"
    about = document["pages"][0]["questions"]
    about.insert(2, {"id": "email", "type": "email", "label": T("E-mail", "Почта", "Пошта")})
    channels = document["pages"][1]["questions"][0]
    channels["choices"] = [c for c in channels["choices"] if c["value"] != "radio"]
    return document


V2 = _v2()

HOSTILE = {
    "formula": ('=HYPERLINK("http://x","y")', '=HYPERLINK("http://x","y")', True),
    "plus": ("+1", "+1", True),
    "minus": ("-1+2", "-1+2", True),
    "at": ("@SUM(A1)", "@SUM(A1)", True),
    "tab": ("\tcmd", "\tcmd", True),
    "cr": ("\rcmd", "\ncmd", True),
    "controls": ("a\x01\x02\x03\x04\x05\x06\x07\x08b", "ab", False),
    "url": ("http://evil.example/x", "http://evil.example/x", False),
    "rtl": ("abc\u202edcba.exe", "abc\u202edcba.exe", False),
    "emoji": ("👍🏽 ok 🇰🇿", "👍🏽 ok 🇰🇿", False),
    "long": ("Ж" * 30_000, "Ж" * 30_000, False),
}
TOO_LONG = "é" * 40_000


# --- building the survey --------------------------------------------------------


def _user(app, role: str) -> User:
    with app.app_context():
        session = db.session()
        user = User(email=f"{role}-{uuid.uuid4().hex[:6]}@example.org", name=role, role=Role(role),
                    password_hash="x")
        session.add(user)
        session.commit()
        return user


def _survey(app, owner: User) -> tuple[int, list[int]]:
    with app.app_context():
        session = db.session()
        version_ids = []
        for document in (V1, V2):
            questionnaire = load_questionnaire(document, check_plugins=plugins.questionnaire_checker(app))
            survey, version = import_survey(session, questionnaire, owner)
            session.commit()
            version_ids.append(version.id)
        return survey.id, version_ids


def _respond(app, survey_id: int, version_id: int, answers: dict, *, language: str = "en",
             submitted: datetime | None = datetime(2024, 5, 1, 10, 30, tzinfo=UTC)) -> int:
    with app.app_context():
        session = db.session()
        version = session.get(QuestionnaireVersion, version_id)
        response = Response(survey_id=survey_id, version_id=version_id, submission_id=uuid.uuid4().hex,
                            status=ResponseStatus.COMPLETE if submitted else ResponseStatus.PARTIAL,
                            language=language, data={"answers": answers}, submitted_at=submitted,
                            started_at=datetime(2024, 5, 1, 10, 0, tzinfo=UTC))
        session.add(response)
        session.flush()
        rows = [{**row, "survey_id": survey_id, "response_id": response.id}
                for row in answer_rows(questionnaire_of(version), answers)]
        if rows:
            session.execute(insert(Answer), rows)
        session.commit()
        return response.id


R1 = {"gender": "female", "age": 34, "share": 12.5, "visited": "2024-04-30", "likes": "yes", "name": "Айгерим",
      "channels": ["web", "radio"], "grid": {"row_a": "good", "row_b": "bad"}, "rank": ["z", "x", "y"],
      "comment": "fine", "double_age": 68,
      "incidents": [{"kind": "fraud", "details": "ballot stuffing"}, {"kind": "pressure"}]}
R2 = {"gender": "other", "gender:other": "non-binary", "age": 51, "likes": "no",
      "channels": ["tv", "other"], "channels:other": "newspaper", "double_age": 102}
R3 = {"gender": "male", "age": 20, "email": "a@example.org", "channels": ["web"], "grid": {"row_a": "bad"},
      "rank": ["x", "y", "z"], "double_age": 40}


@pytest.fixture
def survey(app):
    """The two-version survey with three complete responses (r1, r2 on v1; r3 on v2) and a partial one."""
    owner = _user(app, "researcher")
    survey_id, (v1, v2) = _survey(app, owner)
    ids = [_respond(app, survey_id, v1, R1, language="ru"), _respond(app, survey_id, v1, R2, language="kk"),
           _respond(app, survey_id, v2, R3), _respond(app, survey_id, v2, {"gender": "male"}, submitted=None)]
    with app.app_context():
        session = db.session()
        session.add_all([ResponseMetric(response_id=ids[0], survey_id=survey_id, plugin="scoring", name="s.points",
                                        number=1),
                         ResponseMetric(response_id=ids[0], survey_id=survey_id, plugin="scoring", name="s.percent",
                                        number=100)])
        session.commit()
    return {"id": survey_id, "owner": owner, "versions": (v1, v2), "responses": ids}


def _export(app, survey_id: int, name: str = "xlsx", filters: ResultFilters = ResultFilters(), **options):
    with app.app_context():
        session = db.session()
        survey = session.get(Survey, survey_id)
        target = io.BytesIO()
        report = plugins.export_formats(app)[name].write(
            target=target, survey_id=survey_id, questionnaire=questionnaire_of(survey.latest_version),
            filters=filters, session=session, progress=None, options=options)
        return target.getvalue(), report


def _workbook(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def _table(sheet) -> list[list]:
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def _records(sheet) -> list[dict]:
    header, *rows = _table(sheet)
    return [dict(zip(header, row)) for row in rows]


# --- the Responses sheet ------------------------------------------------------------

CODES_HEADER = ["_id", "_submission_id", "_submitted_at", "_started_at", "_language", "_version", "_status",
                "gender", "gender:other", "age", "email", "share", "visited", "likes", "name",
                "channels", "channels.web", "channels.tv", "channels.radio", "channels.other", "channels:other",
                "grid.row_a", "grid.row_b", "rank.x", "rank.y", "rank.z", "comment", "double_age",
                "scoring.s.points", "scoring.s.percent"]


def _metadata(app, response_id: int) -> tuple:
    with app.app_context():
        return db.session().execute(select(Response.submission_id, Response.language).where(
            Response.id == response_id)).one()


def test_responses_sheet_in_codes_is_the_union_of_the_versions(app, survey):
    data, report = _export(app, survey["id"], codes=True)
    book = _workbook(data)
    assert book.sheetnames == ["Responses", "incidents", "Codebook", "Summary"]
    sheet = book["Responses"]
    assert _table(sheet)[0] == CODES_HEADER
    rows = _records(sheet)
    r1, r2, r3 = survey["responses"][:3]
    assert [row["_id"] for row in rows] == [r1, r2, r3]  # the partial response is filtered out
    assert report.responses == 3 and report.rows == {"Responses": 3, "incidents": 2} and report.truncated == 0
    for row, response_id, version in zip(rows, (r1, r2, r3), (1, 1, 2)):
        submission_id, language = _metadata(app, response_id)
        assert (row["_submission_id"], row["_language"], row["_version"], row["_status"]) == (
            submission_id, language, version, "complete")
        assert row["_submitted_at"] == datetime(2024, 5, 1, 10, 30) and row["_started_at"] == datetime(2024, 5, 1, 10)
    first, second, third = rows
    assert {key: first[key] for key in CODES_HEADER[7:]} == {
        "gender": "female", "gender:other": None, "age": 34, "email": None, "share": 12.5,
        "visited": datetime(2024, 4, 30), "likes": "yes", "name": "Айгерим",
        "channels": "web radio", "channels.web": 1, "channels.tv": 0, "channels.radio": 1, "channels.other": 0,
        "channels:other": None, "grid.row_a": "good", "grid.row_b": "bad", "rank.x": 2, "rank.y": 3, "rank.z": 1,
        "comment": "fine", "double_age": 68, "scoring.s.points": 1, "scoring.s.percent": 100}
    assert (second["gender"], second["gender:other"], second["channels"], second["channels.other"],
            second["channels:other"], second["channels.web"], second["grid.row_a"], second["rank.x"]) == (
        "other", "non-binary", "tv other", 1, "newspaper", 0, None, None)
    # v2 asked email, and no longer offers radio: blank, not 0, for its respondents.
    assert (third["email"], third["channels.web"], third["channels.radio"], third["channels.tv"]) == (
        "a@example.org", 1, None, 0)
    assert third["scoring.s.points"] is None
    # Numbers are numbers, dates real dates, and nothing is a formula.
    header_row = {cell.value: cell.column for cell in sheet[1]}
    assert sheet.cell(2, header_row["age"]).data_type == "n"
    assert sheet.cell(2, header_row["share"]).data_type == "n"
    assert sheet.cell(2, header_row["visited"]).is_date
    assert sheet.cell(2, header_row["_submitted_at"]).is_date
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(CODES_HEADER))}4"


def test_repeat_sheet_has_one_row_per_entry_linked_by_response_id(app, survey):
    book = _workbook(_export(app, survey["id"], codes=True)[0])
    assert _table(book["incidents"]) == [
        ["_response_id", "_entry", "kind", "details"],
        [survey["responses"][0], 1, "fraud", "ballot stuffing"],
        [survey["responses"][0], 2, "pressure", None],
    ]
    labelled = _workbook(_export(app, survey["id"], language="en")[0])
    assert _table(labelled["Incidents"])[0] == ["Response id", "Entry", "Kind", "Details"]


def test_filters_are_those_of_the_results_page(app, survey):
    everything = _records(_workbook(_export(app, survey["id"], filters=ResultFilters(completed_only=False),
                                            codes=True)[0])["Responses"])
    assert [row["_status"] for row in everything] == ["complete"] * 3 + ["partial"]
    assert everything[3]["_submitted_at"] is None and everything[3]["gender"] == "male"
    v2_only = _records(_workbook(_export(app, survey["id"], filters=ResultFilters(version_numbers=(2,)),
                                         codes=True)[0])["Responses"])
    assert [row["_id"] for row in v2_only] == [survey["responses"][2]]
    women = _records(_workbook(_export(app, survey["id"], filters=ResultFilters(choice_filters=(("gender", "female"),)),
                                       codes=True)[0])["Responses"])
    assert [row["_id"] for row in women] == [survey["responses"][0]]


@pytest.mark.parametrize("language, expected", [
    ("en", {"gender": "Female", "likes": "Yes", "channels": "Web; Radio", "grid": "Good", "status": "Complete",
            "headers": ["Gender", "Likes", "Channels: Web", "Grid: A", "Rank: X (rank)", "Index (points)"]}),
    ("ru", {"gender": "Женский", "likes": "Да", "channels": "Сеть; Радио", "grid": "Хорошо",
            "headers": ["Пол", "Нравится", "Каналы: Сеть", "Сетка: A", "Index (points)"]}),
    ("kk", {"gender": "Әйел", "likes": "Иә", "channels": "Желі; Радио", "grid": "Жақсы",
            "headers": ["Жынысы", "Ұнайды", "Арналар: Желі", "Тор: A", "Index (points)"]}),
])
def test_labels_in_each_language(app, survey, language, expected):
    sheet = _workbook(_export(app, survey["id"], language=language)[0])["Responses"]
    header, first, second = _table(sheet)[:3]
    for text in expected["headers"]:
        assert text in header
    by_key = dict(zip(CODES_HEADER, first))
    assert (by_key["gender"], by_key["likes"], by_key["channels"], by_key["grid.row_a"]) == (
        expected["gender"], expected["likes"], expected["channels"], expected["grid"])
    assert by_key["channels.web"] == 1 and by_key["rank.z"] == 1 and by_key["_id"] == survey["responses"][0]
    if "status" in expected:
        assert by_key["_status"] == expected["status"]
    assert dict(zip(CODES_HEADER, second))["gender"] == {"en": "Other", "ru": "Другое", "kk": "Басқа"}[language]


def test_joined_column_is_optional(app, survey):
    header = _table(_workbook(_export(app, survey["id"], codes=True, joined=False)[0])["Responses"])[0]
    assert "channels" not in header and "channels.web" in header


def test_unknown_language_is_refused(app, survey):
    with pytest.raises(ValueError):
        _export(app, survey["id"], language="de")


# --- hostile texts ----------------------------------------------------------------------


@pytest.fixture
def hostile(app):
    owner = _user(app, "researcher")
    survey_id, (v1, _v2_id) = _survey(app, owner)
    ids = {name: _respond(app, survey_id, v1, {"name": raw, "incidents": [{"kind": "fraud", "details": raw}]})
           for name, (raw, _expected, _literal) in HOSTILE.items()}
    ids["too_long"] = _respond(app, survey_id, v1, {"comment": TOO_LONG})
    return survey_id, ids


def _assert_no_formulas_or_links(book: openpyxl.Workbook) -> None:
    for sheet in book.worksheets:
        assert not sheet._hyperlinks
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                assert cell.hyperlink is None


def test_hostile_answers_stay_literal_text_in_xlsx(app, hostile):
    survey_id, ids = hostile
    data, report = _export(app, survey_id, codes=True, language="en")
    book = _workbook(data)
    _assert_no_formulas_or_links(book)
    sheet = book["Responses"]
    column = CODES_HEADER.index("name") + 1
    row_of = {sheet.cell(row, 1).value: row for row in range(2, sheet.max_row + 1)}
    for name, (_raw, expected, literal) in HOSTILE.items():
        cell = sheet.cell(row_of[ids[name]], column)
        assert (cell.data_type, cell.value, bool(cell.quotePrefix)) == ("s", expected, literal), name
    repeat = {row[0]: row[3] for row in _table(book["incidents"])[1:]}
    for name, (_raw, expected, _literal) in HOSTILE.items():
        assert repeat[ids[name]] == expected
    long_cell = sheet.cell(row_of[ids["too_long"]], CODES_HEADER.index("comment") + 1)
    assert long_cell.data_type == "s" and len(long_cell.value) <= EXCEL_MAX_TEXT
    assert long_cell.value.startswith("é" * 32_000)
    assert long_cell.value.endswith("… [TRUNCATED: 40,000 characters in all]")
    assert report.truncated == 1
    summary = _table(book["Summary"])
    assert ["Truncated texts", 1] + [None] * (len(summary[0]) - 2) in summary


def test_question_labels_starting_with_equals_stay_literal_in_headers(app, hostile):
    survey_id, _ids = hostile
    book = _workbook(_export(app, survey_id, language="en")[0])
    cell = next(cell for cell in book["Responses"][1] if cell.value == HEADER_FORMULA)
    assert cell.data_type == "s" and cell.quotePrefix
    codebook = next(cell for row in book["Codebook"].iter_rows() for cell in row if cell.value == HEADER_FORMULA)
    assert codebook.data_type == "s" and codebook.quotePrefix
    _assert_no_formulas_or_links(book)


@pytest.mark.parametrize("name", ["csv", "csv-plain"])
def test_hostile_answers_are_prefixed_in_csv(app, hostile, name):
    survey_id, ids = hostile
    data, report = _export(app, survey_id, name, codes=True)
    text = data.decode("utf-8-sig" if name == "csv" else "utf-8")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header = rows[0]
    assert header == CODES_HEADER
    by_id = {int(row[0]): dict(zip(header, row)) for row in rows[1:]}
    for key, (_raw, expected, literal) in HOSTILE.items():
        assert by_id[ids[key]]["name"] == ("'" + expected if literal else expected), key
    comment = by_id[ids["too_long"]]["comment"]
    if name == "csv":  # for Excel: cut at its limit, with the marker
        assert comment.endswith("… [TRUNCATED: 40,000 characters in all]") and report.truncated == 1
    else:
        assert comment == TOO_LONG and report.truncated == 0
    labelled = _export(app, survey_id, name, language="en")[0].decode("utf-8-sig")
    quoted = HEADER_FORMULA.replace('"', '""')
    assert f'"\'{quoted}"' in labelled.splitlines()[0]


def test_csv_bom_quoting_and_values(app, survey):
    with_bom, report = _export(app, survey["id"], "csv", codes=True)
    plain, _report = _export(app, survey["id"], "csv-plain", codes=True)
    assert with_bom.startswith(b"\xef\xbb\xbf") and not plain.startswith(b"\xef\xbb\xbf")
    assert with_bom[3:] == plain
    assert plain.count(b"\r\n") == 4 and plain.endswith(b"\r\n")  # RFC 4180 line ends, header + 3 rows
    lines = plain.decode("utf-8").split("\r\n")
    fields = next(csv.reader([lines[1]]))
    assert dict(zip(CODES_HEADER, fields))["visited"] == "2024-04-30"
    assert dict(zip(CODES_HEADER, fields))["_submitted_at"] == "2024-05-01 10:30:00"
    assert f",34,\"\",12.5,\"2024-04-30\"," in lines[1]  # numbers unquoted, texts quoted
    assert report.responses == 3
    incidents = _export(app, survey["id"], "csv-plain", codes=True, table="incidents")[0].decode("utf-8")
    assert list(csv.reader(io.StringIO(incidents))) == [
        ["_response_id", "_entry", "kind", "details"],
        [str(survey["responses"][0]), "1", "fraud", "ballot stuffing"],
        [str(survey["responses"][0]), "2", "pressure", ""]]


# --- Codebook and Summary ---------------------------------------------------------------


def test_codebook_lists_every_question_with_choices_conditions_and_rules(app, survey):
    book = _workbook(_export(app, survey["id"])[0])
    rows = _records(book["Codebook"])
    questions = [row["Question"] for row in rows if row["Kind"] == "question"]
    assert questions == ["gender", "age", "email", "share", "visited", "likes", "name", "channels", "grid", "rank",
                         "comment", "double_age", "incidents", "kind", "details"]
    email = next(row for row in rows if row["Question"] == "email" and row["Kind"] == "question")
    assert (email["Type"], email["Versions"], email["Label [kk]"], email["Label [ru]"], email["Label [en]"]) == (
        "email", "2", "Пошта", "Почта", "E-mail")
    radio = next(row for row in rows if row["Question"] == "channels" and row["Code"] == "radio")
    assert (radio["Kind"], radio["Label [ru]"]) == ("choice", "Радио")
    likes = [row for row in rows if row["Question"] == "likes"]
    assert [(row["Code"], row["Label [ru]"], row["Label [kk]"]) for row in likes[1:]] == [
        ("yes", "Да", "Иә"), ("no", "Нет", "Жоқ")]
    assert likes[0]["Plugin rules"] == 'scoring/scores/0/items/0: {"question":"likes","points":{"yes":1,"no":0}}'
    double_age = next(row for row in rows if row["Question"] == "double_age")
    assert double_age["Calculation"] == "age * 2"
    grid_rows = [row["Code"] for row in rows if row["Question"] == "grid" and row["Kind"] == "row"]
    assert grid_rows == ["row_a", "row_b"]
    assert any(row["Question"] == "scoring.s.points" and row["Kind"] == "column" for row in rows)


def _summary_block(rows: list[list], title: str) -> list[list]:
    start = next(index for index, row in enumerate(rows) if row[0] == title)
    end = next(index for index in range(start + 1, len(rows)) if rows[index][0] is None)
    return [row[:4] for row in rows[start:end]]


def test_summary_frequencies_match_the_database_and_have_charts(app, survey):
    book = _workbook(_export(app, survey["id"], language="en")[0])
    sheet = book["Summary"]
    rows = _table(sheet)
    assert rows[0][0] == "Export test"
    assert ["Responses", 3] == rows[2][:2]
    with app.app_context():
        counts = dict(db.session().execute(
            select(Answer.code, sa.func.count()).join(Response, Response.id == Answer.response_id)
            .where(Answer.question_id == "gender", Answer.item == "", Response.status == ResponseStatus.COMPLETE)
            .group_by(Answer.code)).all())
    assert counts == {"female": 1, "male": 1, "other": 1}
    assert _summary_block(rows, "Gender (gender)") == [
        ["Gender (gender)", None, None, None],
        ["Code", "Answer", "Count", "Percent"],
        ["female", "Female", 1, pytest.approx(1 / 3)],
        ["male", "Male", 1, pytest.approx(1 / 3)],
        ["other", "Other", 1, pytest.approx(1 / 3)],
        ["Answered", None, 3, None],
        ["Shown", None, 3, None],
    ]
    assert len(sheet._charts) >= 5  # gender, likes, channels, the two grid rows, rank...


def test_summary_has_crosstabs_when_broken_down(app, survey):
    rows = _table(_workbook(_export(app, survey["id"], language="en",
                                    filters=ResultFilters(breakdown="gender"))[0])["Summary"])
    title = "Likes (likes) × Gender"
    block = _summary_block(rows, title)
    assert block[1][:4] == ["Code", "Answer", "Female", "Male"]
    assert block[2][:4] == ["yes", "Yes", 1, 0] and block[3][:4] == ["no", "No", 0, 0]


# --- safety, sheet names, write checks ------------------------------------------------------


@pytest.mark.parametrize("raw, text, literal", [
    ("\x00=1+1", "=1+1", True), ("a\x00b", "ab", False), ("\ud800x", "\ufffdx", False), ("a\r\nb\rc", "a\nb\nc", False),
    ("\x0b\x0c\x1f\x7fz", "z", False), ("", "", False), ("-", "-", True), ("\n=1", "\n=1", True),
    ("\ufffe\uffffok", "ok", False),
])
def test_safe_text(raw, text, literal):
    assert safe_text(raw) == (text, literal, False)


def test_truncation_counts_utf16_code_units():
    emoji = "😀" * 20_000  # 40,000 UTF-16 code units
    safe = safe_text(emoji)
    assert safe.truncated and len(safe.text.encode("utf-16-le")) // 2 <= EXCEL_MAX_TEXT
    assert safe.text.endswith("… [TRUNCATED: 20,000 characters in all]")
    assert safe_text("x" * EXCEL_MAX_TEXT) == ("x" * EXCEL_MAX_TEXT, False, False)
    assert safe_text("x" * 50_000, limit=None).truncated is False


def test_sheet_names():
    assert sheet_name("a/b\\c[d]:e*f?g", []) == "a_b_c_d__e_f_g"
    assert sheet_name("x" * 40, []) == "x" * 31
    assert sheet_name("Responses", ["responses"]) == "Responses (2)"
    assert sheet_name("Responses", ["Responses", "Responses (2)"]) == "Responses (3)"
    assert sheet_name("'quoted'", []) == "quoted"
    assert sheet_name("   ", []) == "Sheet"
    assert sheet_name("history", []) == "history_"
    assert len(sheet_name("y" * 40, ["y" * 31])) == 31


def test_write_failures_raise():
    with pytest.raises(ExportError, match="row 3, column 2"):
        checked(-1, "Responses", 2, 1)
    checked(0, "Responses", 0, 0)
    checked(None, "Responses", 0, 0)


def test_a_full_sheet_continues_on_a_new_one(tmp_path):
    path = tmp_path / "overflow.xlsx"
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True})
    report = ExportReport()
    table = Table("Responses", (Column("_id", "Response id", "id", lambda record: record),
                                Column("x", "=x", "text", lambda record: record)))
    writer = TableWriter(workbook, Formats(workbook), report, table, max_rows=3)
    for number in range(5):
        writer.write((number, f"={number}"))
    writer.close()
    workbook.close()
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Responses", "Responses (2)", "Responses (3)"]
    assert [_table(book[name]) for name in book.sheetnames] == [
        [["Response id", "=x"], [0, "=0"], [1, "=1"]],
        [["Response id", "=x"], [2, "=2"], [3, "=3"]],
        [["Response id", "=x"], [4, "=4"]]]
    assert report.rows == {"Responses": 2, "Responses (2)": 2, "Responses (3)": 1}
    assert all(book[name]["B2"].quotePrefix for name in book.sheetnames)


def test_union_order_places_new_keys_after_their_predecessor():
    assert union_order([["a", "b", "c"], ["a", "x", "b", "c", "y"], ["z", "c"]]) == ["z", "a", "x", "b", "c", "y"]


# --- the download route and the command line ----------------------------------------------


def test_download_route_checks_access_and_streams_the_file(app, client, survey, make_user):
    stranger = make_user("researcher")
    login(client, stranger.email)
    assert client.get(f"/surveys/export-test/export/xlsx").status_code == 404
    client.get("/account/logout")

    staff = make_user("staff")
    with app.app_context():
        session = db.session()
        session.add(SurveyMember(survey_id=survey["id"], user_id=staff.id, role=SurveyRole.VIEWER))
        session.commit()
    client2 = app.test_client()
    login(client2, staff.email)
    with client2.get("/surveys/export-test/export/xlsx?lang=kk&codes=1&version=2") as response:
        body = response.get_data()
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == "attachment; filename=export-test.xlsx"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    rows = _records(_workbook(body)["Responses"])
    assert [row["_id"] for row in rows] == [survey["responses"][2]]
    with client2.get("/surveys/export-test/export/csv?lang=ru") as csv_response:
        body = csv_response.get_data()
    assert csv_response.status_code == 200 and body.startswith(b"\xef\xbb\xbf")
    assert "Пол" in body.decode("utf-8-sig").splitlines()[0]
    assert client2.get("/surveys/export-test/export/pdf").status_code == 404
    assert client2.get("/surveys/no-such-survey/export/xlsx").status_code == 404
    for query in ("lang=de", "version=9", "where=gender:nobody", "table=nothing", "breakdown=age"):
        assert client2.get(f"/surveys/export-test/export/csv?{query}").status_code == 400, query


def test_results_page_links_each_format_with_its_filters(app, client, survey, make_user):
    staff = make_user("staff")
    with app.app_context():
        session = db.session()
        session.add(SurveyMember(survey_id=survey["id"], user_id=staff.id, role=SurveyRole.VIEWER))
        session.commit()
    login(client, staff.email)
    page = client.get("/surveys/export-test/results?version=2&lang=en").get_data(as_text=True)
    links = dict((label, href.replace("&amp;", "&")) for href, label in
                 re.findall(r'<li><a href="(/surveys/export-test/export/[^"]+)">([^<]+)</a></li>', page))
    assert links == {"Excel workbook": "/surveys/export-test/export/xlsx?version=2&lang=en",
                     "CSV for Excel (UTF-8 with BOM)": "/surveys/export-test/export/csv?version=2&lang=en",
                     "CSV (UTF-8)": "/surveys/export-test/export/csv-plain?version=2&lang=en"}
    with client.get(links["Excel workbook"]) as response:
        rows = _table(_workbook(response.get_data())["Responses"])[1:]
    assert [row[0] for row in rows] == [survey["responses"][2]]  # the page's filter holds in the file


def test_anonymous_users_are_sent_to_log_in(client, survey):
    response = client.get("/surveys/export-test/export/xlsx")
    assert response.status_code == 302 and "/account/login" in response.headers["Location"]


def test_cli_writes_the_file_and_shows_progress(app, runner, survey, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    target = folder / "out.xlsx"
    result = runner("export", "export-test", "--format", "xlsx", "-o", str(target), "--lang", "en")
    assert result.exit_code == 0, result.output
    assert "Exporting 3 responses of 'export-test'" in result.output
    assert f"Wrote 3 responses to {target}." in result.output
    assert [row["Response id"] for row in _records(_workbook(target.read_bytes())["Responses"])] == \
        survey["responses"][:3]
    assert [path.name for path in folder.iterdir()] == ["out.xlsx"]  # no temporary file left behind

    plain = folder / "out.csv"
    result = runner("export", "export-test", "--format", "csv-plain", "-o", str(plain), "--codes", "--status", "all",
                    "--where", "gender:male")
    assert result.exit_code == 0, result.output
    assert [row[0] for row in csv.reader(io.StringIO(plain.read_text("utf-8")))][1:] == [
        str(survey["responses"][2]), str(survey["responses"][3])]


def test_cli_refuses_what_it_cannot_do(runner, survey, tmp_path):
    for arguments, message in ((["--format", "pdf"], "unknown format 'pdf'"), (["--lang", "de"], "no language"),
                               (["--version", "7"], "no version")):
        result = runner("export", "export-test", "-o", str(tmp_path / "x"), *arguments)
        assert result.exit_code == 2 and message in result.output, result.output
    assert runner("export", "nothing", "-o", str(tmp_path / "x")).exit_code == 2
    assert not (tmp_path / "x").exists()


# --- memory stays flat ------------------------------------------------------------------------

MEMORY_SCRIPT = """
import sys
from survey_app import create_app, db, plugins
from survey_app.models import Survey
from survey_app.results.tables import ResultFilters
from survey_app.surveys import questionnaire_of


def status_kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))


app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": "memory"})
with app.app_context():
    session = db.session()
    survey = session.query(Survey).one()
    questionnaire = questionnaire_of(survey.latest_version)
    with open("/proc/self/clear_refs", "w") as clear:  # VmHWM starts again from here (Linux 4.0+)
        clear.write("5")
    with open(sys.argv[2], "wb") as target:
        report = plugins.export_formats(app)["xlsx"].write(target=target, survey_id=survey.id,
            questionnaire=questionnaire, filters=ResultFilters(), session=session, progress=None,
            options={"summary": False})
    print(report.responses, status_kib("VmHWM"))
"""


def _bulk_survey(url: str, count: int) -> None:
    """A survey with ``count`` complete responses of R1's answers (and a hostile name), by Core bulk inserts."""
    from survey_app import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "memory"})
    owner = _user(app, "researcher")
    survey_id, (version_id, _v2_id) = _survey(app, owner)
    with app.app_context():
        session = db.session()
        questionnaire = questionnaire_of(session.get(Survey, survey_id).latest_version)
        template = list(answer_rows(questionnaire, {**R1, "name": "=1+1 " + "x" * 200}))
        now = datetime(2024, 5, 1, tzinfo=UTC)
        for start in range(0, count, 2000):
            size = min(2000, count - start)
            session.execute(insert(Response), [
                {"survey_id": survey_id, "version_id": version_id, "submission_id": uuid.uuid4().hex,
                 "status": ResponseStatus.COMPLETE, "language": "ru", "data": {}, "started_at": now,
                 "updated_at": now, "submitted_at": now} for _ in range(size)])
            ids = session.execute(select(Response.id).order_by(Response.id.desc()).limit(size)).scalars().all()
            session.execute(insert(Answer), [{**row, "survey_id": survey_id, "response_id": response_id}
                                             for response_id in ids for row in template])
        session.commit()
    db.database(app).engine.dispose()


def _peak_memory(tmp_path: Path, template: Path, count: int) -> int:
    database = tmp_path / f"memory-{count}.sqlite3"
    database.write_bytes(template.read_bytes())
    url = f"sqlite:///{database}"
    _bulk_survey(url, count)
    result = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, url, str(tmp_path / f"{count}.xlsx")],
                            capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            timeout=600, check=True)
    written, peak = map(int, result.stdout.split())
    assert written == count
    return peak


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures VmHWM, which Linux has")
def test_memory_stays_flat_from_2000_to_20000_responses(tmp_path, sqlite_template):
    """Peak RSS while exporting (VmHWM reset after start-up, in a fresh process: ru_maxrss would include the parent's).

    The Summary sheet is left out: its counts are the results module's SQL, whose
    GROUP BY / COUNT(DISTINCT) temporaries live inside the SQLite process
    (about +19 MB at 20,000 responses, +5 MB at 2,000); what is measured is
    this plugin's streaming of responses, answers and cells.
    """
    small = _peak_memory(tmp_path, sqlite_template, 2_000)
    large = _peak_memory(tmp_path, sqlite_template, 20_000)
    assert large - small < 6 * 1024, f"peak RSS {small} KiB for 2,000 responses, {large} KiB for 20,000"
