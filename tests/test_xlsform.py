"""XLSForm import and export (survey_app.xlsform): the fixtures in tests/xlsform/,
malformed and hostile workbooks, expression translation, and the round trip of the
example questionnaires."""
from __future__ import annotations

import copy
import importlib.util
import io
import json
import struct
import time
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from survey_app.questionnaire import QuestionnaireInvalid, find_problems
from survey_app.questionnaire.builder import TEXT_KEYS
from survey_app.questionnaire.expressions import Call, ListOf, Lit, Op, Ref, parse_expression
from survey_app.xlsform import (
    LOST_IN_XLSFORM,
    Unsupported,
    convert_xlsform,
    find_xlsform_problems,
    is_xlsform,
    load_xlsform,
    questionnaire_to_xlsform,
    to_xpath,
    translate_xpath,
)
from survey_app.xlsform.export import EMAIL_PATTERN
from survey_app.xlsform.reader import MAX_CELLS, MAX_ENTRY_BYTES, MAX_ROWS

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "xlsform"
EXAMPLES = sorted((ROOT / "questionnaires").glob("*.json"))
VALID = ["household.xlsx", "multilingual.xlsx", "constraints.xlsx", "choices_other.xlsx",
         "repeat_calculate.xlsx", "matrix_rank_range.xlsx"]


def _load_generator():
    spec = importlib.util.spec_from_file_location("xlsform_make_fixtures", FIXTURES / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make = _load_generator()


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def converted(name: str) -> dict:
    document, problems = convert_xlsform(fixture(name))
    assert problems == []
    return document


def questions(document: dict) -> dict[str, dict]:
    found = {}
    for page in document["pages"]:
        for question in page["questions"]:
            found[question["id"]] = question
            for child in question.get("questions", ()):
                found[child["id"]] = child
    return found


def page_of(document: dict, question_id: str) -> dict:
    return next(page for page in document["pages"] if any(q["id"] == question_id for q in page["questions"]))


def only_problem(data: bytes, **options) -> str:
    """The one problem of ``data`` (at the file level), after checking there is exactly one."""
    document, problems = convert_xlsform(data, **options)
    assert document is None
    assert len(problems) == 1, problems
    assert problems[0].path.startswith("/xlsform")
    return problems[0].message


# ---------------------------------------------------------------- the fixtures


def test_fixtures_are_up_to_date_with_their_generator():
    built = make.build_all()
    assert sorted(built) == sorted(path.name for path in FIXTURES.glob("*.xlsx"))
    stale = [name for name, data in built.items() if fixture(name) != data]
    assert stale == [], "run tests/xlsform/make_fixtures.py"


@pytest.mark.parametrize("name", sorted(make.FIXTURES))
def test_fixtures_are_xlsforms_that_pyxform_accepts(name):
    from pyxform.xls2xform import convert

    result = convert(xlsform=fixture(name), file_type=".xlsx")
    assert "<h:html" in result.xform


@pytest.mark.parametrize("name", VALID)
def test_each_fixture_converts_and_passes_every_check(name):
    data = fixture(name)
    document, problems = convert_xlsform(data)
    assert problems == []
    assert find_problems(document) == []
    assert find_xlsform_problems(data) == []
    assert load_xlsform(data).id == document["id"]


@pytest.mark.parametrize("name", VALID)
def test_every_survey_row_becomes_part_of_the_questionnaire(name):
    """No row is dropped: each named row is a page or question, except the "please
    specify" row that becomes the built-in box of the question before it."""
    document = converted(name)
    ids = {page["id"] for page in document["pages"]} | set(questions(document))
    matrix_rows = {f"{q['id']}_{row['value']}" for q in questions(document).values() if q["type"] == "matrix"
                   for row in q["rows"]}
    sheet = load_workbook(io.BytesIO(fixture(name)), read_only=True)["survey"]
    rows = list(sheet.iter_rows(values_only=True))
    type_column, name_column = rows[0].index("type"), rows[0].index("name")
    missing = [row[name_column] for row in rows[1:]
               if row[name_column] and not str(row[type_column]).startswith("end")
               and row[name_column] not in ids | matrix_rows]
    assert missing == (["employment_other"] if name == "choices_other.xlsx" else [])


def test_settings_become_id_title_version_and_languages():
    document = converted("household.xlsx")
    assert (document["id"], document["title"], document["version"]) == \
        ("household-survey", "Household survey", "2024.1")
    assert document["languages"] == ["en"] and document["default_language"] == "en"
    bare = converted("constraints.xlsx")  # no settings sheet at all
    assert (bare["id"], bare["title"], bare["version"], bare["languages"]) == ("xlsform", "XLSForm", "1", ["en"])


def test_languages_come_from_label_columns():
    document = converted("multilingual.xlsx")
    assert document["languages"] == ["kk", "ru", "en"]
    assert document["default_language"] == "ru"
    district = questions(document)["district"]
    assert district["label"] == {"kk": "Қай аудан?", "ru": "Какой район?", "en": "Which district?"}
    assert district["hint"]["kk"] == "Тұратын ауданыңыз"
    assert district["choices"][2] == {"value": "medeu", "label": {"kk": "Медеу", "ru": "Медеуский", "en": "Medeu"}}
    message = questions(document)["years_in_city"]["constraints"][0]["message"]
    assert message == {"kk": "Жасыңыздан аспауы керек", "ru": "Не больше вашего возраста",
                       "en": "No more than your age"}
    assert page_of(document, "age")["title"] == {"kk": "Сіз туралы", "ru": "О вас", "en": "About you"}


@pytest.mark.parametrize(("label", "options", "language"), [
    ("Сіздің атыңыз қандай?", {}, "kk"),
    ("Как вас зовут?", {}, "ru"),
    ("What is your name?", {}, "en"),
    ("What is your name?", {"language": "ky"}, "ky"),
])
def test_a_plain_label_column_is_in_the_language_it_is_written_in(label, options, language):
    data = make.workbook_bytes({"survey": [["type", "name", "label"], ["text", "name", label]]})
    document, problems = convert_xlsform(data, **options)
    assert problems == []
    assert document["languages"] == [language]


def test_or_other_is_translated_in_every_language():
    data = make.workbook_bytes({
        "survey": [["type", "name", "label::Kazakh (kk)", "label::Russian (ru)", "label::English (en)"],
                   ["select_one l or_other", "q", "С", "В", "Q"]],
        "choices": [["list_name", "name", "label::Kazakh (kk)", "label::Russian (ru)", "label::English (en)"],
                    ["l", "a", "А", "А", "A"]],
    })
    document, problems = convert_xlsform(data)
    assert problems == []
    assert questions(document)["q"]["other"] == {"kk": "Басқа", "ru": "Другое", "en": "Other"}


def test_relevance_becomes_show_if():
    household = converted("household.xlsx")
    assert page_of(household, "members")["show_if"] == "age >= 18"
    inner = questions(household)
    assert inner["children"]["show_if"] == "members > 1"  # a nested group is flattened into its page
    assert inner["children_block"] == {"id": "children_block", "type": "note", "label": "Children",
                                       "hint": "Only if others live with you", "show_if": "members > 1"}
    assert questions(converted("multilingual.xlsx"))["district"]["show_if"] == "resident = 'yes'"
    assert questions(converted("matrix_rank_range.xlsx"))["satisfaction"]["show_if"] == \
        "awareness.hearings = 'well'"


def test_constraints_use_the_question_id_for_dot():
    found = questions(converted("constraints.xlsx"))
    assert found["candidates"]["constraints"] == [
        {"expression": "candidates >= seats", "message": "At least as many candidates as seats"}]
    assert found["women"]["min"] == 0 and found["women"]["constraints"] == [
        {"expression": "women <= candidates", "message": "No more than all candidates"}]
    assert questions(converted("multilingual.xlsx"))["years_in_city"]["constraints"][0]["expression"] == \
        "years_in_city <= age"


def test_constraints_become_our_own_keys_where_we_have_them():
    found = questions(converted("constraints.xlsx"))
    assert (found["seats"]["min"], found["seats"]["max"]) == (1, 500) and "constraints" not in found["seats"]
    assert (found["turnout"]["min"], found["turnout"]["max"]) == (0, 100)
    assert found["election_date"]["min"] == "2021-01-01"
    assert found["station_code"]["pattern"] == "^[0-9]{4}$"
    assert found["station_code"]["pattern_message"] == "Four digits"
    assert found["remark"]["max_length"] == 200
    # bounds that carry the author's own message stay one constraint, message and all
    assert found["initials"]["constraints"] == [
        {"expression": "len(initials) >= 2 and len(initials) <= 4", "message": "Two to four letters"}]
    assert "min_length" not in found["initials"]


def test_selects_with_other_exclusive_and_appearances():
    found = questions(converted("choices_other.xlsx"))
    assert found["org_type"]["type"] == "single_choice" and found["org_type"]["other"] == "Other"
    assert found["org_type"]["required"] is True
    assert found["sources"]["type"] == "multiple_choice" and found["sources"]["other"] == "Other"
    assert found["sources"]["max_selected"] == 3
    assert found["employment"]["other"] == "Other (specify)"  # a choice named "other" keeps its label
    assert [choice["value"] for choice in found["employment"]["choices"]] == ["employed", "unemployed", "student"]
    assert "employment_other" not in found  # folded into the built-in "please specify" box
    assert found["problems"]["choices"][2] == {"value": "none", "label": "None of these", "exclusive": True}
    assert "constraints" not in found["problems"]
    assert found["region"]["display"] == "dropdown"
    assert "display" not in found["agree"]  # likert is presentation only


def test_a_yes_no_list_becomes_a_yes_no_question():
    assert questions(converted("multilingual.xlsx"))["resident"] == {
        "id": "resident", "type": "yes_no", "required": True,
        "label": {"kk": "Алматыда тұрасыз ба?", "ru": "Вы живёте в Алматы?", "en": "Do you live in Almaty?"}}
    assert questions(converted("repeat_calculate.xlsx"))["member_works"]["type"] == "yes_no"


def test_repeat_calculate_notes_hints_and_defaults():
    document = converted("repeat_calculate.xlsx")
    found = questions(document)
    member = found["member"]
    assert member["type"] == "repeat" and member["max_count"] == 5 and member["hint"] == "One entry per person"
    assert [child["id"] for child in member["questions"]] == ["member_name", "member_age", "member_works"]
    assert member["questions"][1]["min"] == 0 and member["questions"][2]["default"] == "no"
    assert found["members_listed"] == {"id": "members_listed", "type": "calculated", "expression": "count(member)"}
    assert found["listed_share"]["expression"] == "if(members > 0, round(members_listed / members * 100, 1), null)"
    assert found["summary"]["label"] == "You listed {members_listed} of {members} members."
    assert found["visits"]["default"] == 0 and found["visits"]["hint"] == "Count every visit"
    assert found["visit_notes"]["default"] == "none"
    # a calculate outside any group joins the page before it
    assert page_of(document, "visits_doubled")["id"] == "summary_page"
    assert found["visits_doubled"]["expression"] == "visits * 2 + members % 2"


def test_table_list_matrix_rank_and_range():
    found = questions(converted("matrix_rank_range.xlsx"))
    assert found["awareness"]["type"] == "matrix" and found["awareness"]["required"] is True
    assert found["awareness"]["rows"] == [{"value": "hearings", "label": "Public hearings"},
                                          {"value": "petitions", "label": "Petitions"}]
    assert [choice["value"] for choice in found["awareness"]["choices"]] == ["well", "heard", "never"]
    assert found["barriers"]["type"] == "ranking"
    assert (found["satisfaction"]["type"], found["satisfaction"]["min"], found["satisfaction"]["max"]) == \
        ("rating", 1, 5)


def test_questions_outside_groups_get_pages_of_their_own():
    document = converted("household.xlsx")
    assert [page["id"] for page in document["pages"]] == ["intro_page", "respondent", "household", "comments_page"]
    assert page_of(document, "comments")["questions"] == [
        {"id": "comments", "type": "long_text", "label": "Anything else you want to tell us?"}]
    assert questions(document)["gender"]["display"] == "dropdown"
    assert questions(document)["full_name"]["required_message"] == "Please give your name"


def test_piping_and_literal_braces():
    data = make.workbook_bytes({"survey": [
        ["type", "name", "label"],
        ["text", "who", "Your {nick}name"],
        ["note", "hello", "Hello, ${who}! {not piped}"],
    ]})
    found = questions(convert_xlsform(data)[0])
    assert found["who"]["label"] == "Your {{nick}}name"
    assert found["hello"]["label"] == "Hello, {who}! {{not piped}}"


# ---------------------------------------------------------------- unsupported features


def test_choice_filter_gives_a_row_numbered_problem():
    document, problems = convert_xlsform(fixture("choice_filter.xlsx"))
    assert document is None
    assert [problem.path for problem in problems] == ["/xlsform/survey/row/4", "/xlsform/choices/row/4"]
    assert "choice_filter" in problems[0].message and "not supported" in problems[0].message
    assert "'region'" in problems[1].message


def test_unsupported_features_give_row_numbered_problems():
    document, problems = convert_xlsform(fixture("unsupported.xlsx"))
    assert document is None
    expected = {
        2: "'start'", 4: "'geopoint'", 5: "today()", 6: "regex()", 7: "jr:choice-name()", 8: "'media::image'",
        9: "required", 10: "repeat_count", 11: "position()",
    }
    assert [problem.path for problem in problems] == [f"/xlsform/survey/row/{row}" for row in expected]
    for problem, words in zip(problems, expected.values()):
        assert words in problem.message
        assert "not supported" in problem.message or "only" in problem.message


@pytest.mark.parametrize(("rows", "path", "words"), [
    ([["text", "a", "A"], ["text", "a", "B"]], "/xlsform/survey/row/3", "'a' is already used in row 2"),
    ([["select_one nolist", "a", "A"]], "/xlsform/survey/row/2", "no list named 'nolist'"),
    ([["begin group", "g", "G"], ["end repeat", None, None]], "/xlsform/survey/row/3", "closes the group"),
    ([["begin group", "g", "G"], ["text", "a", "A"]], "/xlsform/survey/row/2", "never ended"),
    ([["end group", None, None]], "/xlsform/survey/row/2", "no matching 'begin group'"),
    ([["barcode", "a", "A"]], "/xlsform/survey/row/2", "'barcode' is not supported"),
    ([["text", "a", "A"], [None, "b", "B"]], "/xlsform/survey/row/3", "no type"),
    ([["text", None, "A"]], "/xlsform/survey/row/2", "needs a name"),
    ([["begin repeat", "r", "R"], ["begin repeat", "s", "S"], ["text", "a", "A"], ["end repeat", None, None],
      ["end repeat", None, None]], "/xlsform/survey/row/3", "repeat inside a repeat"),
    ([["select_one_from_file towns.csv", "a", "A"]], "/xlsform/survey/row/2", "external file"),
])
def test_structure_problems_name_their_row(rows, path, words):
    data = make.workbook_bytes({"survey": [["type", "name", "label"], *rows],
                                "choices": [["list_name", "name", "label"], ["l", "x", "X"]]})
    document, problems = convert_xlsform(data)
    assert document is None
    assert any(problem.path == path and words in problem.message for problem in problems), problems


@pytest.mark.parametrize(("choices", "path", "words"), [
    ([["l", "x", None]], "/xlsform/choices/row/2", "no label"),
    ([["l", "bad value", "X"]], "/xlsform/choices/row/2", "not a choice value"),
    ([["l", "x", "X"], ["l", "x", "Y"]], "/xlsform/choices/row/3", "already has the choice 'x' (row 2)"),
])
def test_choice_problems_name_their_row(choices, path, words):
    data = make.workbook_bytes({"survey": [["type", "name", "label"], ["select_one l", "q", "Q"]],
                                "choices": [["list_name", "name", "label"], *choices]})
    problems = convert_xlsform(data)[1]
    assert any(problem.path == path and words in problem.message for problem in problems), problems


def test_a_language_without_a_code_is_a_problem_at_the_header():
    data = make.workbook_bytes({"survey": [["type", "name", "label::Klingon"], ["text", "a", "A"]]})
    problems = convert_xlsform(data)[1]
    assert [(p.path, "'Klingon' has no code" in p.message) for p in problems] == [("/xlsform/survey/row/1", True)]


def test_problems_of_the_converted_questionnaire_point_at_rows():
    data = make.workbook_bytes({"survey": [
        ["type", "name", "label::Russian (ru)", "label::English (en)", "relevant", "default"],
        ["begin group", "first_page", "Стр.", "Page", "${later} > 1", None],
        ["integer", "first", "Первый", None, None, None],
        ["integer", "later", "Позже", "Later", None, None],
        ["select_one l", "pick", "Выбор", "Pick", None, "zz"],
        ["end group", None, None, None, None, None],
    ], "choices": [["list_name", "name", "label::Russian (ru)", "label::English (en)"], ["l", "a", "А", "A"]]})
    assert convert_xlsform(data)[1] == []
    problems = find_xlsform_problems(data)
    assert [problem.path for problem in problems] == \
        ["/xlsform/survey/row/2", "/xlsform/survey/row/3", "/xlsform/survey/row/5"]
    assert problems[0].message.startswith("relevant: ") and "later > 1" in problems[0].message
    assert problems[1].message == "label: missing translation for 'en'"
    assert problems[2].message.startswith("default: ")
    with pytest.raises(QuestionnaireInvalid) as raised:
        load_xlsform(data)
    assert raised.value.problems == problems


# ---------------------------------------------------------------- malformed and hostile files


def _xlsx_with(extra: dict[str, bytes], base: bytes | None = None, replace: dict[str, bytes] | None = None) -> bytes:
    base = base or fixture("household.xlsx")
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        assert set(replace or ()) <= set(source.namelist())
        for entry in source.infolist():
            target.writestr(entry.filename, (replace or {}).get(entry.filename, source.read(entry.filename)))
        for name, content in extra.items():
            target.writestr(name, content)
    return out.getvalue()


@pytest.mark.parametrize(("data", "words"), [
    (b"", "not an .xlsx workbook"),
    (b"type,name,label\ntext,a,A\n", "not an .xlsx workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 500, "old Excel .xls"),
    (fixture("household.xlsx")[:3000], "damaged"),
    (b"PK\x03\x04" + b"\0" * 100, "damaged"),
])
def test_malformed_bytes_give_one_clear_problem(data, words):
    started = time.perf_counter()
    assert words in only_problem(data)
    assert time.perf_counter() - started < 2


def test_a_zip_that_is_not_a_workbook():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("content.xml", "<office:document/>")
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    assert "not an Excel .xlsx workbook" in only_problem(out.getvalue())


def test_a_workbook_without_a_survey_sheet():
    data = make.workbook_bytes({"choices": [["list_name", "name", "label"], ["l", "a", "A"]],
                                "settings": [["form_title"], ["T"]]})
    message = only_problem(data)
    assert "no 'survey' sheet" in message and "'choices', 'settings'" in message


def test_a_huge_zip_entry_is_refused_before_anything_is_unpacked():
    zeros = io.BytesIO()
    with zipfile.ZipFile(zeros, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("xl/media/huge.bin", "w", force_zip64=True) as entry:
            block = b"\0" * (1024 * 1024)
            for _ in range(MAX_ENTRY_BYTES // len(block) + 8):
                entry.write(block)
    with zipfile.ZipFile(zeros) as archive:
        huge = archive.read("xl/media/huge.bin")
    data = _xlsx_with({"xl/media/huge.bin": huge})
    assert len(data) < 2 * 1024 * 1024  # small on disk, over the limit unpacked
    started = time.perf_counter()
    assert "unpacks to" in only_problem(data)
    assert time.perf_counter() - started < 1


def test_a_zip_entry_that_lies_about_its_size_is_not_inflated():
    """The directory says 50 bytes; the data inflates to more. zipfile stops at 50."""
    data = bytearray(fixture("household.xlsx"))
    name = b"xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        real_size = archive.getinfo(name.decode()).file_size
        struct.pack_into("<I", data, archive.getinfo(name.decode()).header_offset + 22, 50)  # local header
    position = bytes(data).find(b"PK\x01\x02")
    while bytes(data[position + 46:position + 46 + len(name)]) != name:
        position = bytes(data).find(b"PK\x01\x02", position + 4)
    struct.pack_into("<I", data, position + 24, 50)  # central directory
    assert real_size > 50
    message = only_problem(bytes(data))
    assert "could not be read" in message or "damaged" in message


def test_an_xml_entity_bomb_is_refused():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(b'<!ENTITY lol%d "%s">' % (n, (b"&lol%d;" % (n - 1) if n > 1 else b"&lol;") * 10)
                       for n in range(1, 10))
            + b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            + b'<row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row></sheetData></worksheet>')
    data = _xlsx_with({}, replace={"xl/worksheets/sheet1.xml": bomb})
    started = time.perf_counter()
    assert "could not be read" in only_problem(data)
    assert time.perf_counter() - started < 2


def test_files_over_the_size_limit_are_refused_unread():
    assert only_problem(fixture("household.xlsx"), max_bytes=1_000) == "the file is larger than 1,000 bytes"


def test_workbooks_over_the_row_limit_are_refused():
    book = Workbook(write_only=True)
    sheet = book.create_sheet("survey")
    sheet.append(["type", "name", "label"])
    for number in range(MAX_ROWS + 1):
        sheet.append(["integer", f"q{number}", f"Question {number}"])
    buffer = io.BytesIO()
    book.save(buffer)
    document, problems = convert_xlsform(buffer.getvalue(), max_bytes=10_000_000)
    assert document is None
    assert [(p.path, p.message.startswith(f"the workbook has more than {MAX_ROWS:,} rows")) for p in problems] == \
        [(f"/xlsform/survey/row/{MAX_ROWS + 2}", True)]


def test_workbooks_with_too_many_cells_are_refused_before_parsing():
    cells = b'<c r="A1"/>' * (MAX_CELLS + 1)
    sheet = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             b'<row r="1">' + cells + b"</row></sheetData></worksheet>")
    data = _xlsx_with({}, replace={"xl/worksheets/sheet1.xml": sheet})
    started = time.perf_counter()
    assert f"more than {MAX_CELLS:,} cells" in only_problem(data)
    assert time.perf_counter() - started < 1


def test_formula_cells_are_refused():
    book = Workbook()
    sheet = book.active
    sheet.title = "survey"
    sheet.append(["type", "name", "label"])
    sheet.append(["text", "a", "=CONCATENATE(\"a\", \"b\")"])
    buffer = io.BytesIO()
    book.save(buffer)
    document, problems = convert_xlsform(buffer.getvalue())
    assert document is None and problems[0].path == "/xlsform/survey/row/2" and "formula" in problems[0].message


def test_is_xlsform_tells_workbooks_from_json():
    assert is_xlsform(fixture("household.xlsx"))
    assert not is_xlsform(EXAMPLES[0].read_bytes())


# ---------------------------------------------------------------- expressions

TRANSLATIONS = [
    ("${age} >= 18", "age >= 18"),
    ("${a} = 'x' and ${b} != 'y'", "a = 'x' and b != 'y'"),
    ("${a} = 'x' or ${a} = 'y' or ${b} = 'z'", "a in ['x', 'y'] or b = 'z'"),
    ("not(${a} = 'x' or ${a} = 'y')", "a not in ['x', 'y']"),
    ("not(selected(${q}, 'none'))", "not selected(q, 'none')"),
    ("count-selected(${q}) > 2", "count(q) > 2"),
    ("count(${repeat}) >= 1", "count(repeat) >= 1"),
    ("string-length(.) <= 10", "len(me) <= 10"),
    ("string-length() > 0", "len(me) > 0"),
    (". >= 1 and . <= ${total}", "me >= 1 and me <= total"),
    ("if(${n} > 0, round(${w} div ${n} * 100, 1), '')", "if(n > 0, round(w / n * 100, 1), null)"),
    ("${a} mod 2 = 1", "a % 2 = 1"),
    ("-${a} + 2.50 * (${b} - 1)", "-a + 2.5 * (b - 1)"),
    ("coalesce(${a}, 0) > 1", "coalesce(a, 0) > 1"),
    ("${d} >= date('2024-01-31')", "d >= '2024-01-31'"),
    ("${choice} = 1", "choice = '1'"),
    ("selected(${choice}, 2)", "selected(choice, '2')"),
    ("${text} != ''", "text != null"),
    ("true() and not(false())", "true and not false"),
    ("\u201cquoted\u201d = ${a}", "'quoted' = a"),
    ("${a} = \"it's\"", "a = 'it\\'s'"),
    ("abs(${a} - ${b}) <= max(${a}, ${b}, 3)", "abs(a - b) <= max(a, b, 3)"),
    ("(${a} > 1) = true()", "(a > 1) = true"),
]


@pytest.mark.parametrize(("xpath", "ours"), TRANSLATIONS)
def test_xpath_translates_to_our_expressions(xpath, ours):
    result = translate_xpath(xpath, self_name="me", choice_names={"choice"})
    assert result == ours
    parse_expression(result)


@pytest.mark.parametrize(("xpath", "named"), [
    ("today() > ${d}", "today()"),
    ("regex(${code}, '^[0-9]+$')", "regex()"),
    ("jr:choice-name(${a}, '${a}')", "jr:choice-name()"),
    ("position(..) > 1", "position()"),
    ("indexed-repeat(${a}, ${r}, 1)", "indexed-repeat()"),
    ("concat(${a}, ${b})", "concat()"),
    ("once(uuid())", "once()"),
    ("/data/a = 1", "'/'"),
    ("${a}[1] = 2", "'['"),
    ("${a} | ${b}", "'|'"),
    ("instance('list')/root/item", "instance()"),
    ("${unknown} = 1", "no question named 'unknown'"),
    (". > 1", "'.'"),
    ("${a} = ", "incomplete"),
])
def test_what_we_cannot_express_is_unsupported_and_named(xpath, named):
    with pytest.raises(Unsupported) as raised:
        translate_xpath(xpath, resolve=lambda name: None if name == "unknown" else name)
    assert named in str(raised.value)


@pytest.mark.parametrize(("ours", "xpath"), [
    ("x in ['a', 'b'] or y = 1", "${x} = 'a' or ${x} = 'b' or ${y} = 1"),
    ("x not in ['a', 'b']", "not(${x} = 'a' or ${x} = 'b')"),
    ("if(a > 0, round(b / a * 100, 1), null)", "if(${a} > 0, round(${b} div ${a} * 100, 1), '')"),
    ("answered(r) and count(m) > 1 and len(t) < 3", "count(${r}) > 0 and count-selected(${m}) > 1 and "
                                                      "string-length(${t}) < 3"),
    ("count(r) = 2 and a % 2 = 1", "count(${r}) = 2 and ${a} mod 2 = 1"),
    ("'a' in m", "selected(${m}, 'a')"),
    ("me <= total", ". <= ${total}"),
    ("grid.row_one = 'x'", "${grid_row_one} = 'x'"),
    ("(a or b) and c", "(${a} or ${b}) and ${c}"),
    ("x = \"it's\"", "${x} = \"it's\""),
])
def test_our_expressions_translate_to_xpath(ours, xpath):
    types = {"r": "repeat", "m": "multiple_choice"}
    assert to_xpath(ours, self_name="me", names={"grid.row_one": "grid_row_one"}, types=types) == xpath


def test_expressions_of_the_examples_survive_xpath_and_back():
    seen = 0
    for path in EXAMPLES:
        document = json.loads(path.read_text("utf-8"))
        types = {q["id"]: q["type"] for q in _all_questions(document)}
        for source in _expressions(document):
            back = translate_xpath(to_xpath(source, types=types))
            assert _canonical(back, types) == _canonical(source, types), source
            seen += 1
    assert seen > 40


# ---------------------------------------------------------------- export and round trip


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.stem)
def test_round_trip_of_the_examples(path):
    from pyxform.xls2xform import convert

    original = json.loads(path.read_text("utf-8"))
    data = questionnaire_to_xlsform(original)
    assert "<h:html" in convert(xlsform=data, file_type=".xlsx").xform  # a valid XLSForm for pyxform/ODK
    back, problems = convert_xlsform(data)
    assert problems == []
    assert find_problems(back) == []
    assert _comparable(back) == _comparable(original)
    # what the normalisation forgives is only what XLSForm lacks
    assert (back["id"], back["version"], back["languages"], back["default_language"]) == \
        (original["id"], original["version"], original["languages"], original["default_language"])
    assert [page["id"] for page in back["pages"]] == [page["id"] for page in original["pages"]]


@pytest.mark.parametrize("name", VALID)
def test_fixtures_survive_export_and_import_unchanged(name):
    document = converted(name)
    again, problems = convert_xlsform(questionnaire_to_xlsform(document))
    assert problems == []
    assert again == document


def test_export_has_xlsform_sheets_and_language_columns():
    original = json.loads((ROOT / "questionnaires" / "women-local-elections.json").read_text("utf-8"))
    book = load_workbook(io.BytesIO(questionnaire_to_xlsform(original)), read_only=True)
    assert book.sheetnames == ["survey", "choices", "settings"]
    header = next(book["survey"].iter_rows(values_only=True))
    assert header[:5] == ("type", "name", "label::Kazakh (kk)", "label::Russian (ru)", "label::English (en)")
    settings = list(book["settings"].iter_rows(values_only=True))
    assert dict(zip(settings[0], settings[1])) == {
        "form_title": original["title"]["ru"], "form_id": "women-local-elections", "version": original["version"],
        "default_language": "Russian (ru)"}
    rows = {row[1]: row for row in book["survey"].iter_rows(values_only=True) if row[1]}
    constraint = rows["women_candidates"][header.index("constraint")]
    assert constraint == ". >= 0 and . <= 10000 and . <= ${candidates_total}"


def test_export_writes_texts_starting_with_equals_as_text():
    document = {"id": "formula-test", "version": "1", "languages": ["en"], "title": "=HYPERLINK(\"x\")",
                "pages": [{"id": "p", "questions": [
                    {"id": "q", "type": "single_choice", "label": "=1+1 is two", "hint": "@SUM(A1)",
                     "choices": [{"value": "a", "label": "=cmd|' /C calc'!A0"}, {"value": "b", "label": "+1"}]},
                    {"id": "n", "type": "text", "label": "http://example.org", "default": "0012"}]}]}
    assert find_problems(document) == []
    data = questionnaire_to_xlsform(document)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheets = [archive.read(name) for name in archive.namelist() if name.startswith("xl/worksheets/")]
    assert not any(b"<f>" in sheet or b"<f " in sheet for sheet in sheets)
    back, problems = convert_xlsform(data)
    assert problems == []
    found = questions(back)
    assert found["q"]["label"] == "=1+1 is two" and found["q"]["hint"] == "@SUM(A1)"
    assert found["q"]["choices"][0]["label"] == "=cmd|' /C calc'!A0"
    assert found["n"]["default"] == "0012"


def test_lost_features_are_listed():
    listed = " ".join(LOST_IN_XLSFORM)
    for feature in ("description", "thank_you", "title", "plugins", "settings", "unit", "min_label", "entry_label",
                    "constraints", "email"):
        assert feature in listed


# ---------------------------------------------------------------- helpers for the round trip


def _all_questions(document: dict):
    for page in document["pages"]:
        for question in page["questions"]:
            yield question
            yield from question.get("questions", ())


def _expressions(document: dict):
    for page in document["pages"]:
        if "show_if" in page:
            yield page["show_if"]
    for question in _all_questions(document):
        yield from (question[key] for key in ("show_if", "expression") if key in question)
        yield from (constraint["expression"] for constraint in question.get("constraints", ()))


def _tree(node, types: dict):
    """An expression tree without positions, with what XLSForm writes the same way made equal."""
    if isinstance(node, Lit):
        return ["lit", node.value]
    if isinstance(node, Ref):
        return ["ref", node.name]
    if isinstance(node, ListOf):
        return ["list", [_tree(item, types) for item in node.items]]
    if isinstance(node, Call):
        if node.fn == "answered" and types.get(getattr(node.args[0], "name", None)) != "repeat":
            return _tree(Op("!=", (node.args[0], Lit(None, 0)), 0), types)
        return ["call", node.fn, [_tree(arg, types) for arg in node.args]]
    if node.op in ("in", "not in") and isinstance(node.args[1], ListOf):
        tests = [["=", _tree(node.args[0], types), _tree(item, types)] for item in node.args[1].items]
        chain = tests[0] if len(tests) == 1 else ["or", tests]
        return ["not", chain] if node.op == "not in" else chain
    if node.op in ("and", "or"):
        flat = []
        for arg in node.args:
            tree = _tree(arg, types)
            flat.extend(tree[1] if tree[0] == node.op else [tree])
        return [node.op, flat]
    return [node.op, *(_tree(arg, types) for arg in node.args)]


def _canonical(source: str, types: dict) -> str:
    return json.dumps(_tree(parse_expression(source).tree, types))


def _comparable(document: dict) -> dict:
    """``document`` without what XLSForm cannot hold (LOST_IN_XLSFORM), with shared choice
    lists resolved, and with texts and expressions in one canonical form."""
    document = copy.deepcopy(document)
    languages = document["languages"]
    default = document.get("default_language", languages[0])
    types = {question["id"]: question["type"] for question in _all_questions(document)}
    lists = document.pop("choice_lists", {})
    for key in ("$schema", "description", "thank_you", "settings", "plugins"):
        document.pop(key, None)
    if isinstance(document["title"], dict):
        document["title"] = document["title"][default]

    def joined(messages):
        return {code: " ".join(m if isinstance(m, str) else m[code] for m in messages) for code in languages}

    def question(entry):
        if isinstance(entry.get("choices"), str):
            entry["choices"] = copy.deepcopy(lists[entry["choices"]])
        for key in ("unit", "decimals", "min_label", "max_label", "entry_label"):
            entry.pop(key, None)
        if entry["type"] == "repeat":
            low, high = entry.pop("min_count", None), entry.pop("max_count", None)
            if high is not None and low in (None, high):
                entry["max_count"] = high
            for child in entry["questions"]:
                question(child)
        if entry["type"] == "email":
            entry["type"], entry["pattern"] = "text", EMAIL_PATTERN
        if entry["type"] == "matrix":
            entry.pop("constraints", None)
            entry.pop("default", None)
        constraints = entry.get("constraints")
        if constraints and len(constraints) > 1:
            merged = {"expression": " and ".join(f"({c['expression']})" for c in constraints)}
            messages = [c["message"] for c in constraints if "message" in c]
            if messages:
                merged["message"] = joined(messages) if len(messages) > 1 else messages[0]
            entry["constraints"] = [merged]
        for constraint in entry.get("constraints", ()):
            constraint["expression"] = _canonical(constraint["expression"], types)
        for key in ("show_if", "expression"):
            if key in entry:
                entry[key] = _canonical(entry[key], types)

    for page in document["pages"]:
        if "show_if" in page:
            page["show_if"] = _canonical(page["show_if"], types)
        for entry in page["questions"]:
            question(entry)

    def texts(value):
        if isinstance(value, dict):
            result = {}
            for key, item in value.items():
                item = texts(item)
                if key in TEXT_KEYS and isinstance(item, dict) and len(item) == len(languages) \
                        and len(set(item.values())) == 1:
                    item = next(iter(item.values()))
                result[key] = item
            return result
        return [texts(item) for item in value] if isinstance(value, list) else value

    return texts(document)
