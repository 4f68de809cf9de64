"""The researcher's workspace: dashboard, new surveys, the editor and its outline, the
preview, publishing with the version diff, duplicating, sharing and archiving.

Routes run on SQLite and PostgreSQL; the pure parts (pointer -> line, outline
edits) are tested on their own.
"""
from __future__ import annotations

import copy
import io
import json
import re
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from survey_app import db
from survey_app.access import Permission, permissions
from survey_app.design import outline as outline_edits
from survey_app.design.json_lines import line_of, locate, problem_line, replace_value
from survey_app.models import QuestionnaireVersion, Response, Survey, SurveyMember, SurveyRole, SurveyStatus, User
from survey_app.questionnaire import Problem, load_questionnaire
from tests.helpers import Respondent, csrf_token, login

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "questionnaires"
HOSTILE = "<script>alert('x')</script>"
HOSTILE_TITLE = '"><img src=x onerror=alert(1)>'

#: Two pages, three languages, and a question shown only for one answer.
SMALL = {
    "id": "small-survey", "version": "1", "languages": ["ru", "kk", "en"],
    "title": {"ru": "Малый опрос", "kk": "Шағын сауалнама", "en": "Small survey"},
    "pages": [
        {"id": "first", "title": {"ru": "Первая", "kk": "Бірінші", "en": "First"}, "questions": [
            {"id": "colour", "type": "single_choice", "required": True,
             "label": {"ru": "Цвет", "kk": "Түсі", "en": "Colour"},
             "choices": [{"value": "red", "label": {"ru": "Красный", "kk": "Қызыл", "en": "Red"}},
                         {"value": "blue", "label": {"ru": "Синий", "kk": "Көк", "en": "Blue"}},
                         {"value": "green", "label": {"ru": "Зелёный", "kk": "Жасыл", "en": "Green"}}]},
            {"id": "why_red", "type": "text", "show_if": "colour = 'red'",
             "label": {"ru": "Почему красный?", "kk": "Неге қызыл?", "en": "Why red?"}},
        ]},
        {"id": "second", "title": {"ru": "Вторая", "kk": "Екінші", "en": "Second"}, "questions": [
            {"id": "age", "type": "integer", "min": 0, "max": 120,
             "label": {"ru": "Возраст", "kk": "Жасыңыз", "en": "Age"}},
            {"id": "comment", "type": "long_text", "label": {"ru": "Комментарий", "kk": "Пікір", "en": "Comment"}},
        ]},
    ],
}


# ---------------------------------------------------------------- helpers


def page_of(response) -> str:
    return response.get_data(as_text=True)


def flashes(html: str) -> list[str]:
    return [unescape(text).strip() for text in re.findall(r'<p class="flash[^"]*" role="status">(.*?)</p>', html, re.S)]


def token(client, url: str = "/") -> str:
    return csrf_token(page_of(client.get(url)))


def field_value(html: str, name: str) -> str:
    """The value of the first hidden input called ``name``."""
    for tag in re.findall(r"<input[^>]*>", html):
        if f'name="{name}"' in tag and 'type="hidden"' in tag:
            return unescape(re.search(r'value="([^"]*)"', tag).group(1))
    raise AssertionError(f"no hidden field {name}")


def draft_of(app, slug: str) -> str:
    with app.app_context():
        return db.session().execute(select(Survey.draft_definition).where(Survey.slug == slug)).scalar_one()


def survey_row(app, slug: str) -> Survey | None:
    with app.app_context():
        survey = db.session().execute(select(Survey).where(Survey.slug == slug)).scalar_one_or_none()
        if survey is not None:
            survey.versions, survey.members, survey.draft_definition  # load them before the session closes
        return survey


def count(app, model, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return db.session().execute(query).scalar_one()


def save_draft(client, slug: str, text: str, base: str | None = None):
    editor = page_of(client.get(f"/surveys/{slug}/edit"))
    data = {"csrf_token": csrf_token(editor), "definition": text,
            "base": base if base is not None else field_value(editor, "base")}
    return client.post(f"/surveys/{slug}/edit", data=data)


def new_draft(app, client, document: dict) -> str:
    """Create a draft survey through the upload form; its slug."""
    data = {"csrf_token": token(client), "file": (io.BytesIO(json.dumps(document, ensure_ascii=False).encode()),
                                                  "questionnaire.json")}
    response = client.post("/surveys/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, page_of(response)
    return response.headers["Location"].split("/surveys/", 1)[1].split("/", 1)[0]


def publish(client, slug: str, confirm: bool = False, open_now: bool = True):
    page = page_of(client.get(f"/surveys/{slug}/publish"))
    data = {"csrf_token": csrf_token(page), "base": field_value(page, "base")}
    if confirm:
        data["confirm"] = "y"
    if open_now:
        data["open_now"] = "y"
    return client.post(f"/surveys/{slug}/publish", data=data)


def outline_post(client, slug: str, endpoint: str, **fields):
    editor = page_of(client.get(f"/surveys/{slug}/edit"))
    data = {"csrf_token": csrf_token(editor), "base": field_value(editor, "base"), **fields}
    return client.post(f"/surveys/{slug}/outline/{endpoint}", data=data)


def loads(text: str):
    return load_questionnaire(text)


@pytest.fixture
def researcher(app, make_user, client):
    """A logged-in researcher's client; ``researcher.user`` is the account."""
    user = make_user("researcher")
    assert login(client, user.email).status_code == 302
    client.user = user
    return client


# ---------------------------------------------------------------- pure parts


def test_pointers_are_mapped_to_the_lines_of_the_text_as_written():
    text = ('{\n  "id": "x",\n  "pages": [\n    {"id": "p",\n     "questions": [\n'
            '      {"id": "q", "type": "text"}\n    ]}\n  ]\n}\n')
    spans = locate(text)
    assert spans["/id"].line == 2
    assert spans["/pages"].line == 3
    assert spans["/pages/0"].line == 4
    assert spans["/pages/0/questions"].line == 5
    assert spans["/pages/0/questions/0/type"].line == 6
    assert line_of("/pages/0/questions/0/label", spans) == 6  # missing: its question's line
    assert line_of("/pages/0/questions/7", spans) == 5
    assert problem_line(Problem("", "not valid JSON: Expecting ',' delimiter at line 12, column 3"), spans) == 12
    assert problem_line(Problem("", "not valid JSON: NaN is not a number JSON allows (line 7, column 9)"), spans) == 7
    assert problem_line(Problem("", "a questionnaire must be a JSON object"), spans) is None
    assert replace_value(text, "/id", "new-id") == text.replace('"x"', '"new-id"')


def test_escaped_keys_and_broken_text_are_mapped_as_far_as_they_go():
    text = '{"a/b": {"c~d": [1,\n 2]},\n "e": "\\u00e9\\n"\n, "f": [1, 2 oops'
    spans = locate(text)
    assert spans["/a~1b/c~0d/1"].line == 2
    assert spans["/e"].line == 3
    assert "/f/0" in spans and "/f/1" in spans and "/f" not in spans  # the list never closed
    assert locate("") == {} and locate("[[[[") == {}


@pytest.mark.parametrize("languages", [["kk", "ru", "en"], ["en"], ["uz-Latn", "ru"]])
def test_every_question_skeleton_loads(languages):
    document = copy.deepcopy(SMALL)
    document["languages"] = languages
    document.pop("title")
    document["title"] = "T"
    for page in document["pages"]:
        page.pop("title")
        page["questions"] = [{"id": f"{page['id']}_q", "type": "yes_no", "label": "Q"}]
    for kind in outline_edits.QUESTION_TYPES:
        document, path = outline_edits.insert_question(document, kind, 1, 99)
        assert path == f"/pages/1/questions/{len(document['pages'][1]['questions']) - 1}"
    document, _ = outline_edits.add_page(document, "matrix")
    questionnaire = loads(json.dumps(document))
    assert [question.type for question in questionnaire.pages[1].questions][1:] == list(outline_edits.QUESTION_TYPES)
    assert len(questionnaire.pages) == 3


def test_outline_edits_move_and_delete_without_touching_the_argument():
    document = copy.deepcopy(SMALL)
    before = copy.deepcopy(document)
    moved, path = outline_edits.move_question(document, "/pages/0/questions/1", "up")
    assert document == before
    assert path == "/pages/0/questions/0" and moved["pages"][0]["questions"][0]["id"] == "why_red"
    moved, path = outline_edits.move_question(document, "/pages/1/questions/0", "up")  # to the page before
    assert path == "/pages/0/questions/2" and [q["id"] for q in moved["pages"][1]["questions"]] == ["comment"]
    moved, path = outline_edits.move_question(document, "/pages/0/questions/1", "down")  # to the next page
    assert path == "/pages/1/questions/0" and moved["pages"][1]["questions"][0]["id"] == "why_red"
    for path, direction, code in (("/pages/0/questions/0", "up", "edge_of_questionnaire"),
                                  ("/pages/1/questions/1", "down", "edge_of_questionnaire"),
                                  ("/pages/5/questions/0", "up", "not_a_question"),
                                  ("/pages/0", "up", "not_a_question"),
                                  ("/pages/0/questions/0", "sideways", "bad_direction")):
        with pytest.raises(outline_edits.OutlineError) as error:
            outline_edits.move_question(document, path, direction)
        assert error.value.code == code
    shorter = outline_edits.delete_question(document, "/pages/1/questions/1")
    assert [q["id"] for q in shorter["pages"][1]["questions"]] == ["age"]
    without_page = outline_edits.delete_question(shorter, "/pages/1/questions/0")
    assert [page["id"] for page in without_page["pages"]] == ["first"]
    with pytest.raises(outline_edits.OutlineError):
        outline_edits.delete_question({"pages": [{"id": "p", "questions": [{"id": "q"}]}]}, "/pages/0/questions/0")
    assert document == before


def test_the_outline_reads_half_written_documents():
    pages = outline_edits.outline({"pages": [{"id": "p", "questions": [{"id": 3, "type": None, "label": ["x"]},
                                                                       "not a question",
                                                                       {"id": "g", "type": "repeat", "questions": [
                                                                           {"id": "c", "label": {"en": "C"}}]}]},
                                             "not a page"]})
    assert [(q.path, q.id, q.label) for q in pages[0].questions] == [("/pages/0/questions/0", "", ""),
                                                                     ("/pages/0/questions/2", "g", "")]
    assert pages[0].questions[1].children[0].label == "C"
    with pytest.raises(outline_edits.OutlineError):
        outline_edits.outline({"pages": {}})


# ---------------------------------------------------------------- the dashboard and new surveys


def test_the_dashboard_offers_the_example_questionnaires_by_title(researcher):
    html = page_of(researcher.get("/"))
    for file in sorted(EXAMPLES.glob("*.json")):
        document = json.loads(file.read_text("utf-8"))
        assert f'value="{file.stem}"' in html
        assert unescape(html).count(document["title"]["en"]) == 1  # the interface language here is English


def test_a_survey_from_an_example_is_a_draft_copy_of_it(app, researcher):
    data = {"csrf_token": token(researcher), "template": "citizen-participation"}
    response = researcher.post("/surveys/new", data=data)
    assert response.status_code == 302 and response.headers["Location"] == "/surveys/citizen-participation/edit"
    survey = survey_row(app, "citizen-participation")
    assert survey.status is SurveyStatus.DRAFT and survey.versions == [] and survey.owner_id == researcher.user.id
    assert survey.draft_definition == (EXAMPLES / "citizen-participation.json").read_text("utf-8")
    assert "Участие граждан" in survey.title
    again = researcher.post("/surveys/new", data=data)  # the address is taken: the next one, id changed to match
    assert again.headers["Location"] == "/surveys/citizen-participation-2/edit"
    text = draft_of(app, "citizen-participation-2")
    assert loads(text).id == "citizen-participation-2"
    assert text.replace('"citizen-participation-2"', '"citizen-participation"', 1) == survey.draft_definition
    editor = page_of(researcher.get("/surveys/citizen-participation-2/edit"))
    assert "No problems" in editor and "Draft" in editor
    assert count(app, QuestionnaireVersion) == 0


def test_a_survey_from_scratch_is_a_minimal_valid_draft(app, researcher):
    response = researcher.post("/surveys/new", data={"csrf_token": token(researcher), "title": "Опрос жителей",
                                                     "languages": ["kk", "ru"]})
    assert response.status_code == 302
    slug = response.headers["Location"].split("/")[2]
    assert slug == "opros-zhitelei"
    questionnaire = loads(draft_of(app, slug))
    assert questionnaire.id == slug and set(questionnaire.languages) == {"kk", "ru"}
    assert questionnaire.title == {"kk": "Опрос жителей", "ru": "Опрос жителей"}
    assert len(questionnaire.questions) == 1
    assert survey_row(app, slug).status is SurveyStatus.DRAFT and survey_row(app, slug).versions == []


def test_new_survey_forms_explain_what_is_missing(app, researcher, make_user):
    no_title = researcher.post("/surveys/new", data={"csrf_token": token(researcher), "languages": ["ru"]})
    assert no_title.status_code == 422 and "Give the survey a title" in page_of(no_title)
    no_language = researcher.post("/surveys/new", data={"csrf_token": token(researcher), "title": "T"})
    assert no_language.status_code == 422 and "at least one language" in page_of(no_language)
    unknown = researcher.post("/surveys/new", data={"csrf_token": token(researcher), "template": "../../etc/passwd"})
    assert unknown.status_code == 422 and "Choose one of the example" in page_of(unknown)
    no_token = researcher.post("/surveys/new", data={"title": "T", "languages": ["ru"]})
    assert no_token.status_code == 400
    assert count(app, Survey) == 0
    staff = app.test_client()
    login(staff, make_user("staff").email)
    refused = staff.post("/surveys/new", data={"csrf_token": token(staff), "title": "T", "languages": ["ru"]})
    assert refused.status_code == 403
    assert 'action="/surveys/new"' not in page_of(staff.get("/"))


def test_an_uploaded_questionnaire_becomes_a_draft_not_a_version(app, researcher):
    slug = new_draft(app, researcher, SMALL)
    assert slug == "small-survey"
    survey = survey_row(app, slug)
    assert survey.versions == [] and survey.status is SurveyStatus.DRAFT
    assert json.loads(survey.draft_definition) == SMALL


def test_an_invalid_upload_is_kept_as_a_draft_with_its_problems(app, researcher):
    text = (ROOT / "tests" / "hostile" / "unknown-key-typo.json").read_bytes()
    data = {"csrf_token": token(researcher), "file": (io.BytesIO(text), "mine.json")}
    response = researcher.post("/surveys/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 302
    editor = researcher.get(response.headers["Location"])
    html = page_of(editor)
    assert "problem" in " ".join(flashes(html)).lower()
    assert "unknown key" in html and 'class="problem-link" data-line="' in html


@pytest.mark.parametrize("name, content, message", [
    ("utf16.json", "{}".encode("utf-16"), "UTF-16"),
    ("nul.json", b'{"id": "a\x00"}', "NUL"),
])
def test_unusable_files_create_nothing(app, researcher, name, content, message):
    data = {"csrf_token": token(researcher), "file": (io.BytesIO(content), name)}
    response = researcher.post("/surveys/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and message in page_of(response)
    assert count(app, Survey) == 0


def test_an_xlsform_workbook_becomes_a_json_draft(app, researcher):
    pytest.importorskip("survey_app.xlsform")
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "survey"
    for row in (["type", "name", "label"], ["select_one yn", "ok", "Is it ok?"], ["text", "why", "Why?"]):
        sheet.append(row)
    choices = workbook.create_sheet("choices")
    for row in (["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]):
        choices.append(row)
    settings = workbook.create_sheet("settings")
    settings.append(["form_id", "form_title"])
    settings.append(["from-excel", "From Excel"])
    content = io.BytesIO()
    workbook.save(content)
    data = {"csrf_token": token(researcher), "file": (io.BytesIO(content.getvalue()), "form.xlsx")}
    response = researcher.post("/surveys/upload", data=data, content_type="multipart/form-data")
    assert response.status_code == 302 and response.headers["Location"] == "/surveys/from-excel/edit"
    questionnaire = loads(draft_of(app, "from-excel"))
    assert [question.id for question in questionnaire.all_questions()] == ["ok", "why"]
    assert survey_row(app, "from-excel").versions == []
    broken = {"csrf_token": token(researcher), "file": (io.BytesIO(b"PK\x03\x04 not a workbook"), "form.xlsx")}
    refused = researcher.post("/surveys/upload", data=broken, content_type="multipart/form-data")
    assert refused.status_code == 422 and count(app, Survey) == 1


# ---------------------------------------------------------------- the editor


def test_an_invalid_draft_is_saved_with_its_problems_and_cannot_be_published(app, researcher):
    slug = new_draft(app, researcher, SMALL)
    broken = json.dumps(SMALL, ensure_ascii=False, indent=2).replace('"type": "integer"', '"type": "integr"')
    broken = broken.replace('"required": true', '"required": true,\n          "requird": true')
    saved = researcher.post(f"/surveys/{slug}/edit", data={
        "csrf_token": token(researcher, f"/surveys/{slug}/edit"), "definition": broken.replace("\n", "\r\n"),
        "base": field_value(page_of(researcher.get(f"/surveys/{slug}/edit")), "base")})
    assert saved.status_code == 302
    assert draft_of(app, slug) == broken  # line endings as in a file, text as written
    html = page_of(researcher.get(f"/surveys/{slug}/edit"))
    lines = broken.split("\n")
    typo_line = next(number for number, line in enumerate(lines, 1) if '"requird"' in line)
    assert f'data-line="{typo_line}"' in html and "unknown key &#39;requird&#39;" in html
    assert "/pages/0/questions/0/requird" in html
    assert "cannot be published" in html
    assert re.search(r'<button type="button" class="button" disabled aria-describedby="publish-reason">', html)
    assert 'data-problem-lines="' in html
    publish_page = researcher.get(f"/surveys/{slug}/publish")
    assert publish_page.status_code == 200 and "disabled" in page_of(publish_page)
    assert 'name="base"' not in page_of(publish_page)  # no form to send
    refused = researcher.post(f"/surveys/{slug}/publish", data={"csrf_token": csrf_token(html),
                                                                "base": field_value(html, "base"), "confirm": "y"})
    assert refused.status_code == 422 and count(app, QuestionnaireVersion) == 0
    preview = researcher.get(f"/surveys/{slug}/preview")
    assert preview.status_code == 302 and preview.headers["Location"] == f"/surveys/{slug}/edit"


def test_a_syntax_error_points_at_its_line_and_hides_the_outline(app, researcher):
    slug = new_draft(app, researcher, SMALL)
    text = '{\n  "id": "small-survey",\n  "version": "1"\n  "languages": ["en"]\n}\n'
    assert save_draft(researcher, slug, text).status_code == 302
    html = page_of(researcher.get(f"/surveys/{slug}/edit"))
    assert 'data-line="4"' in html and "not valid JSON" in html
    assert 'action="/surveys/small-survey/outline/move"' not in html and "fix the first problem" in html


def test_a_stale_editor_page_does_not_overwrite_newer_work(app, researcher):
    slug = new_draft(app, researcher, SMALL)
    old_page = page_of(researcher.get(f"/surveys/{slug}/edit"))
    newer = json.dumps({**SMALL, "version": "2"})
    assert save_draft(researcher, slug, newer).status_code == 302
    stale = researcher.post(f"/surveys/{slug}/edit", data={
        "csrf_token": csrf_token(old_page), "base": field_value(old_page, "base"),
        "definition": json.dumps({**SMALL, "version": "3"})})
    assert stale.status_code == 409 and "changed elsewhere" in page_of(stale)
    assert draft_of(app, slug) == newer
    assert '&#34;version&#34;: &#34;3&#34;' in page_of(stale) or '"version": "3"' in unescape(page_of(stale))
    again = researcher.post(f"/surveys/{slug}/edit", data={"csrf_token": csrf_token(old_page),
                                                           "base": field_value(page_of(stale), "base"),
                                                           "definition": json.dumps({**SMALL, "version": "3"})})
    assert again.status_code == 302 and json.loads(draft_of(app, slug))["version"] == "3"


def test_a_nul_character_is_refused_and_nothing_is_saved(app, researcher):
    slug = new_draft(app, researcher, SMALL)
    before = draft_of(app, slug)
    response = save_draft(researcher, slug, '{"id": "a\x00b"}')
    assert response.status_code == 422 and "NUL" in page_of(response)
    assert draft_of(app, slug) == before


def test_outline_buttons_change_the_draft_and_keep_it_valid(app, researcher):
    slug = new_draft(app, researcher, SMALL)
    html = page_of(researcher.get(f"/surveys/{slug}/edit"))
    assert 'value="up:/pages/0/questions/1"' in html and 'value="down:/pages/1/questions/0"' in html
    assert 'value="/pages/1/questions/1"' in html  # delete
    moved = outline_post(researcher, slug, "move", move="up:/pages/0/questions/1")
    assert moved.status_code == 302 and moved.headers["Location"].endswith("#item-pages-0-questions-0")
    assert [q["id"] for q in json.loads(draft_of(app, slug))["pages"][0]["questions"]] == ["why_red", "colour"]
    assert "comes later in the questionnaire" in page_of(researcher.get(f"/surveys/{slug}/edit"))  # explained
    assert outline_post(researcher, slug, "move", move="down:/pages/0/questions/0").status_code == 302
    questionnaire = loads(draft_of(app, slug))  # show_if refers backwards again: valid
    assert [q.id for q in questionnaire.pages[0].questions] == ["colour", "why_red"]
    for kind in outline_edits.QUESTION_TYPES:
        added = outline_post(researcher, slug, "add", kind=kind, position="1:1")
        assert added.status_code == 302, kind
    new_page = outline_post(researcher, slug, "add", kind="yes_no", position="new")
    assert new_page.status_code == 302
    questionnaire = loads(draft_of(app, slug))
    assert [q.type for q in questionnaire.pages[1].questions][1:-1] == list(reversed(outline_edits.QUESTION_TYPES))
    assert [q.type for q in questionnaire.pages[2].questions] == ["yes_no"]
    assert draft_of(app, slug).startswith('{\n  "id": "small-survey",\n  "version"')  # 2-space indentation
    confirm = outline_post(researcher, slug, "delete", delete="/pages/2/questions/0")
    assert confirm.status_code == 200 and "Delete this question?" in page_of(confirm)
    assert "page is deleted too" in page_of(confirm)
    assert len(loads(draft_of(app, slug)).pages) == 3  # nothing deleted yet
    confirmed = researcher.post(f"/surveys/{slug}/outline/delete", data={
        "csrf_token": csrf_token(page_of(confirm)), "base": field_value(page_of(confirm), "base"),
        "delete": "/pages/2/questions/0", "confirm": "yes"})
    assert confirmed.status_code == 302
    assert len(loads(draft_of(app, slug)).pages) == 2


def test_outline_edits_refuse_what_cannot_be_done(app, researcher):
    slug = new_draft(app, researcher, SMALL)
    editor = page_of(researcher.get(f"/surveys/{slug}/edit"))
    edge = outline_post(researcher, slug, "move", move="up:/pages/0/questions/0")
    assert edge.status_code == 302
    assert "already at the edge" in " ".join(flashes(page_of(researcher.get(edge.headers["Location"]))))
    unknown = outline_post(researcher, slug, "add", kind="essay", position="0:0")
    assert "Choose a question type" in " ".join(flashes(page_of(researcher.get(unknown.headers["Location"]))))
    before = draft_of(app, slug)
    assert save_draft(researcher, slug, before.replace('"1"', '"2"', 1)).status_code == 302
    stale = researcher.post(f"/surveys/{slug}/outline/move", data={"csrf_token": csrf_token(editor),
                                                                  "base": field_value(editor, "base"),
                                                                  "move": "down:/pages/0/questions/0"})
    assert "changed elsewhere" in " ".join(flashes(page_of(researcher.get(stale.headers["Location"]))))
    assert [q.id for q in loads(draft_of(app, slug)).pages[0].questions] == ["colour", "why_red"]
    assert outline_post(researcher, slug, "move").status_code == 302  # no question named: refused, nothing changed
    assert json.loads(draft_of(app, slug))["version"] == "2"


@pytest.mark.parametrize("odd", [
    {"id": 5, "title": ["x"], "languages": "kk",
     "pages": [{"id": "p", "questions": [{"id": ["q"], "type": ["text"], "label": 7}, "text"]}, 3]},
    [1, 2, {"pages": []}],
    {"pages": {"id": "p"}},
])
def test_odd_shapes_in_a_draft_never_break_the_workspace(app, researcher, odd):
    slug = new_draft(app, researcher, SMALL)
    assert save_draft(researcher, slug, json.dumps(odd)).status_code == 302
    assert researcher.get(f"/surveys/{slug}/edit").status_code == 200
    assert researcher.get(f"/surveys/{slug}/publish").status_code == 200
    assert researcher.get(f"/surveys/{slug}/preview").status_code == 302
    assert researcher.get("/").status_code == 200
    for endpoint, fields in (("delete", {"delete": "/pages/0/questions/0"}),
                             ("move", {"move": "down:/pages/0/questions/0"}),
                             ("add", {"kind": "text", "position": "0:0"}),
                             ("add", {"kind": "matrix", "position": "new"})):
        response = outline_post(researcher, slug, endpoint, **fields)
        assert response.status_code in (200, 302), (endpoint, response.status_code)


# ---------------------------------------------------------------- the preview


def test_the_preview_uses_the_respondent_pages_in_any_language_and_stores_nothing(app, researcher):
    slug = new_draft(app, researcher, SMALL)
    start = researcher.get(f"/surveys/{slug}/preview?lang=kk")
    assert start.status_code == 302 and start.headers["Location"] == f"/surveys/{slug}/preview/first?lang=kk"
    first = researcher.get(start.headers["Location"])
    html = page_of(first)
    assert first.status_code == 200 and '<html lang="kk">' in html
    assert "Түсі" in html and "Қызыл" in html and "Неге қызыл?" in html
    assert 'class="preview-banner"' in html and "Preview" not in html.split("<main", 1)[1][:50]
    assert 'id="survey-logic"' in html and "js/logic.js" in html  # the live show/hide of the respondent pages
    assert f'action="/surveys/{slug}/preview/first"' in html and "/s/small-survey" not in html
    assert 'name="submission_id" type="hidden" value="preview"' in html
    refused = researcher.post(f"/surveys/{slug}/preview/first", data={
        "csrf_token": csrf_token(html), "submission_id": "preview", "action": "next"})
    assert refused.status_code == 422 and "error-summary" in page_of(refused)  # required, as for respondents
    moved = researcher.post(f"/surveys/{slug}/preview/first", data={
        "csrf_token": csrf_token(html), "submission_id": "preview", "action": "next", "colour": "red",
        "why_red": "Ұнайды"})
    assert moved.status_code == 302 and moved.headers["Location"] == f"/surveys/{slug}/preview/second"
    second = page_of(researcher.get(moved.headers["Location"]))
    assert '<html lang="kk">' in second and "Жасыңыз" in second
    back = researcher.post(f"/surveys/{slug}/preview/second", data={
        "csrf_token": csrf_token(second), "submission_id": "preview", "action": "back", "age": "41"})
    assert back.headers["Location"] == f"/surveys/{slug}/preview/first"
    kept = page_of(researcher.get(back.headers["Location"]))
    assert re.search(r'value="red"[^>]*checked|checked[^>]*value="red"', kept) and "Ұнайды" in kept
    russian = page_of(researcher.get(f"/surveys/{slug}/preview/second?lang=ru"))
    assert '<html lang="ru">' in russian and 'value="41"' in russian
    done = researcher.post(f"/surveys/{slug}/preview/second", data={
        "csrf_token": csrf_token(russian), "submission_id": "preview", "action": "next", "age": "41"})
    assert done.headers["Location"] == f"/surveys/{slug}/preview/_review"
    review = page_of(researcher.get(done.headers["Location"]))
    assert "Красный" in review and f'action="/surveys/{slug}/preview/_review"' in review
    assert f'href="/surveys/{slug}/preview/first#question-colour"' in review
    end = researcher.post(f"/surveys/{slug}/preview/_review", data={"csrf_token": csrf_token(review),
                                                                    "submission_id": "preview"})
    assert end.status_code == 200 and "Ничего не сохранено" in page_of(end)  # the preview speaks Russian now
    assert count(app, Response) == 0
    fresh = page_of(researcher.get(f"/surveys/{slug}/preview/first"))
    assert not re.search(r'value="red"[^>]*checked|checked[^>]*value="red"', fresh)  # the preview started over


def test_the_preview_skips_hidden_pages_and_restarts_on_request(app, researcher):
    document = copy.deepcopy(SMALL)
    document["pages"][1]["show_if"] = "colour = 'blue'"
    slug = new_draft(app, researcher, document)
    html = page_of(researcher.get(f"/surveys/{slug}/preview/first"))
    moved = researcher.post(f"/surveys/{slug}/preview/first", data={
        "csrf_token": csrf_token(html), "submission_id": "preview", "action": "next", "colour": "green"})
    assert moved.headers["Location"] == f"/surveys/{slug}/preview/_review"
    assert researcher.get(f"/surveys/{slug}/preview/second").status_code == 302  # hidden, as for respondents
    restart = researcher.post(f"/surveys/{slug}/preview/first",
                              data={"csrf_token": csrf_token(html), "action": "restart"})
    assert restart.status_code == 302
    assert researcher.get(f"/surveys/{slug}/preview/nope").status_code == 404
    assert count(app, Response) == 0


# ---------------------------------------------------------------- publishing


def test_publishing_shows_the_diff_and_asks_before_orphaning_answers(app, researcher, client):
    slug = new_draft(app, researcher, SMALL)
    first_page = page_of(researcher.get(f"/surveys/{slug}/publish"))
    assert "The first version" in first_page and "Publish version 1" in first_page
    assert 'name="confirm"' not in first_page
    published = publish(researcher, slug)
    assert published.status_code == 302 and published.headers["Location"] == f"/surveys/{slug}/edit"
    survey = survey_row(app, slug)
    assert [version.number for version in survey.versions] == [1] and survey.status is SurveyStatus.OPEN
    unchanged = page_of(researcher.get(f"/surveys/{slug}/edit"))
    assert "same as the published version 1" in unchanged

    respondent = Respondent(app.test_client(), slug)
    respondent.open("first")
    assert respondent.post("first", {"colour": "green"}).status_code == 302
    respondent.open("second")
    assert respondent.post("second", {"age": "30"}).status_code == 302
    assert respondent.submit().status_code == 302

    document = copy.deepcopy(SMALL)
    document["pages"][0]["questions"][0]["choices"].pop()  # green: answered above
    document["pages"][1]["questions"].append({"id": "email", "type": "email", "label": HOSTILE})
    assert save_draft(researcher, slug, json.dumps(document, ensure_ascii=False, indent=2)).status_code == 302
    review = researcher.get(f"/surveys/{slug}/publish")
    html = page_of(review)
    assert "Changes since version 1" in html
    assert "choice &#39;green&#39; removed" in html and "Collected answers will not fit" in html
    assert "new email question" in html and HOSTILE not in html and "&lt;script&gt;" in html
    assert "The survey has 1 response." in html and 'name="confirm"' in html
    unconfirmed = publish(researcher, slug)
    assert unconfirmed.status_code == 422 and "Tick the box" in page_of(unconfirmed)
    assert len(survey_row(app, slug).versions) == 1
    confirmed = publish(researcher, slug, confirm=True)
    assert confirmed.status_code == 302
    survey = survey_row(app, slug)
    assert [version.number for version in survey.versions] == [1, 2]
    with app.app_context():
        kept = db.session().execute(select(Response.version_id)).scalars().all()
    assert kept == [survey.versions[0].id]  # the response keeps the version it was given for
    assert "Version 2" in " ".join(flashes(page_of(researcher.get(confirmed.headers["Location"]))))


def test_a_publish_form_for_an_older_draft_is_refused(app, researcher):
    slug = new_draft(app, researcher, SMALL)
    page = page_of(researcher.get(f"/surveys/{slug}/publish"))
    assert save_draft(researcher, slug, json.dumps({**SMALL, "version": "9"})).status_code == 302
    stale = researcher.post(f"/surveys/{slug}/publish", data={"csrf_token": csrf_token(page),
                                                              "base": field_value(page, "base")})
    assert stale.status_code == 409 and count(app, QuestionnaireVersion) == 0


def test_removing_a_question_without_responses_needs_no_confirmation(app, researcher):
    slug = new_draft(app, researcher, SMALL)
    assert publish(researcher, slug, open_now=False).status_code == 302
    assert survey_row(app, slug).status is SurveyStatus.DRAFT
    document = copy.deepcopy(SMALL)
    document["pages"][1]["questions"].pop()
    assert save_draft(researcher, slug, json.dumps(document)).status_code == 302
    html = page_of(researcher.get(f"/surveys/{slug}/publish"))
    assert "Removed (1)" in html and "no responses yet" in html and 'name="confirm"' not in html
    assert publish(researcher, slug, open_now=False).status_code == 302
    assert len(survey_row(app, slug).versions) == 2


# ---------------------------------------------------------------- duplicate, share, archive


def test_duplicating_makes_my_own_draft_at_a_new_address(app, researcher, make_user):
    slug = new_draft(app, researcher, SMALL)
    publish(researcher, slug)
    response = researcher.post(f"/surveys/{slug}/duplicate", data={"csrf_token": token(researcher)})
    assert response.status_code == 302 and response.headers["Location"] == "/surveys/small-survey-copy/edit"
    copy_row = survey_row(app, "small-survey-copy")
    assert copy_row.status is SurveyStatus.DRAFT and copy_row.versions == [] and copy_row.members == []
    assert loads(copy_row.draft_definition).id == "small-survey-copy"
    again = researcher.post(f"/surveys/{slug}/duplicate", data={"csrf_token": token(researcher)})
    assert again.headers["Location"] == "/surveys/small-survey-copy-2/edit"
    # a colleague who edits the survey gets a copy of their own
    colleague = make_user("researcher")
    with app.app_context():
        session = db.session()
        survey = session.execute(select(Survey).where(Survey.slug == slug)).scalar_one()
        session.add(SurveyMember(survey_id=survey.id, user_id=colleague.id, role=SurveyRole.EDITOR))
        session.commit()
    other = app.test_client()
    login(other, colleague.email)
    theirs = other.post(f"/surveys/{slug}/duplicate", data={"csrf_token": token(other)})
    assert survey_row(app, theirs.headers["Location"].split("/")[2]).owner_id == colleague.id


def test_sharing_gives_researchers_the_editor_and_staff_the_results_only(app, researcher, make_user):
    slug = new_draft(app, researcher, SMALL)
    publish(researcher, slug)
    colleague, viewer = make_user("researcher"), make_user("staff")
    page = page_of(researcher.get(f"/surveys/{slug}/share"))
    for email in (colleague.email.upper(), viewer.email):
        shared = researcher.post(f"/surveys/{slug}/share", data={"csrf_token": csrf_token(page), "email": email})
        assert shared.status_code == 302
    unknown = researcher.post(f"/surveys/{slug}/share",
                              data={"csrf_token": csrf_token(page), "email": "nobody@example.org"})
    assert unknown.status_code == 422 and "No account uses this e-mail" in page_of(unknown)
    own = researcher.post(f"/surveys/{slug}/share",
                          data={"csrf_token": csrf_token(page), "email": researcher.user.email})
    assert own.status_code == 422
    survey = survey_row(app, slug)
    assert {(member.user_id, member.role) for member in survey.members} == {
        (colleague.id, SurveyRole.EDITOR), (viewer.id, SurveyRole.VIEWER)}
    listing = page_of(researcher.get(f"/surveys/{slug}/share"))
    assert colleague.email in listing and "viewer (results only)" in listing

    editor_client = app.test_client()
    login(editor_client, colleague.email)
    dashboard = page_of(editor_client.get("/"))
    assert "Малый опрос" in dashboard and f'href="/surveys/{slug}/edit"' in dashboard
    assert editor_client.get(f"/surveys/{slug}/edit").status_code == 200
    assert save_draft(editor_client, slug, json.dumps({**SMALL, "version": "2"})).status_code == 302

    staff_client = app.test_client()
    login(staff_client, viewer.email)
    dashboard = page_of(staff_client.get("/"))
    assert "Малый опрос" in dashboard and "results only" in dashboard
    assert f'href="/surveys/{slug}/edit"' not in dashboard and "/duplicate" not in dashboard
    with app.app_context():
        stored = db.session().execute(select(Survey).where(Survey.slug == slug)).scalar_one()
        staff_user = db.session().get(User, viewer.id)
        assert permissions(staff_user, stored) == {Permission.RESULTS}
    for url in (f"/surveys/{slug}/edit", f"/surveys/{slug}/publish", f"/surveys/{slug}/preview/first",
                f"/surveys/{slug}/share"):
        assert staff_client.get(url).status_code == 404, url
    posted = staff_client.post(f"/surveys/{slug}/edit", data={"csrf_token": token(staff_client), "definition": "{}"})
    assert posted.status_code == 404
    if "results.results" in app.view_functions:
        assert staff_client.get(f"/surveys/{slug}/results").status_code == 200
        assert f'href="/surveys/{slug}/results"' in dashboard

    removed = researcher.post(f"/surveys/{slug}/share/remove", data={"csrf_token": csrf_token(listing),
                                                                     "user_id": str(viewer.id)})
    assert removed.status_code == 302
    assert "Малый опрос" not in page_of(staff_client.get("/"))


def test_archiving_moves_a_survey_out_of_the_way(app, researcher):
    slug = new_draft(app, researcher, SMALL)
    publish(researcher, slug)
    response = researcher.post(f"/surveys/{slug}/status", data={"csrf_token": token(researcher), "status": "archived"})
    assert response.status_code == 302 and survey_row(app, slug).status is SurveyStatus.ARCHIVED
    html = page_of(researcher.get("/"))
    assert "1 archived survey" in html and "was archived" in " ".join(flashes(html))
    archived_part = html.split('class="archived"', 1)[1]
    assert "Малый опрос" in archived_part and ">Restore<" in archived_part
    assert Respondent(app.test_client(), slug).open("first").status_code in (200, 410, 403)
    assert "closed" in page_of(app.test_client().get(f"/s/{slug}?lang=en")).lower()


def test_the_dashboard_counts_versions_and_responses(app, researcher):
    slug = new_draft(app, researcher, SMALL)
    html = page_of(researcher.get("/"))
    assert "not yet" in html and "Draft" in html
    publish(researcher, slug)
    respondent = Respondent(app.test_client(), slug)
    respondent.open("first")
    respondent.post("first", {"colour": "blue"})
    respondent.open("second")
    respondent.post("second", {})
    respondent.submit()
    Respondent(app.test_client(), slug).open("first")  # only looked: no response row
    partial = Respondent(app.test_client(), slug)
    partial.open("first")
    partial.post("first", {"colour": "red"})
    row = page_of(researcher.get("/")).split(f'id="survey-{slug}"', 1)[1].split("</tr>", 1)[0]
    assert "version 1" in row and "Open" in row
    assert re.search(r'<td data-label="Responses">1<br><span class="muted">1 in progress</span></td>', row)
    assert "<time datetime=" in row
    assert save_draft(researcher, slug, json.dumps({**SMALL, "version": "2"})).status_code == 302
    assert "Unpublished changes" in page_of(researcher.get("/"))


# ---------------------------------------------------------------- permissions and hostile text


def design_routes(slug: str) -> list[tuple[str, str]]:
    return [("GET", f"/surveys/{slug}/edit"), ("POST", f"/surveys/{slug}/edit"),
            ("POST", f"/surveys/{slug}/outline/move"), ("POST", f"/surveys/{slug}/outline/add"),
            ("POST", f"/surveys/{slug}/outline/delete"), ("GET", f"/surveys/{slug}/preview"),
            ("GET", f"/surveys/{slug}/preview/first"), ("POST", f"/surveys/{slug}/preview/first"),
            ("GET", f"/surveys/{slug}/preview/_review"), ("GET", f"/surveys/{slug}/publish"),
            ("POST", f"/surveys/{slug}/publish"), ("POST", f"/surveys/{slug}/duplicate"),
            ("GET", f"/surveys/{slug}/share"), ("POST", f"/surveys/{slug}/share"),
            ("POST", f"/surveys/{slug}/share/remove"), ("POST", f"/surveys/{slug}/status")]


def test_another_researcher_gets_404_on_every_route(app, researcher, make_user):
    slug = new_draft(app, researcher, SMALL)
    outsider = app.test_client()
    login(outsider, make_user("researcher").email)
    csrf = token(outsider)
    for method, url in design_routes(slug) + design_routes("no-such-survey"):
        response = outsider.get(url) if method == "GET" else outsider.post(url, data={
            "csrf_token": csrf, "status": "archived", "definition": "{}", "email": "x@example.org",
            "move": "up:/pages/0/questions/1", "delete": "/pages/0/questions/0", "kind": "text", "position": "0:0",
            "confirm": "yes", "base": "x", "user_id": "1"})
        assert response.status_code == 404, (method, url, response.status_code)
        assert "Малый" not in page_of(response)
    assert survey_row(app, slug).status is SurveyStatus.DRAFT and count(app, Survey) == 1
    anonymous = app.test_client()
    assert anonymous.get(f"/surveys/{slug}/edit").status_code == 302


def test_hostile_titles_and_labels_are_escaped_everywhere(app, researcher):
    document = copy.deepcopy(SMALL)
    document["title"] = {"ru": HOSTILE_TITLE, "kk": HOSTILE, "en": HOSTILE}
    document["pages"][0]["questions"][0]["label"] = {"ru": HOSTILE, "kk": HOSTILE, "en": HOSTILE}
    document["pages"][0]["questions"][0]["choices"][0]["label"] = HOSTILE
    slug = new_draft(app, researcher, document)
    pages = {"dashboard": researcher.get("/"), "editor": researcher.get(f"/surveys/{slug}/edit"),
             "preview": researcher.get(f"/surveys/{slug}/preview/first?lang=kk"),
             "publish": researcher.get(f"/surveys/{slug}/publish"),
             "share": researcher.get(f"/surveys/{slug}/share")}
    invalid = copy.deepcopy(document)
    invalid["pages"][0]["questions"][0][HOSTILE] = True  # an unknown key: named in the problem message
    invalid["pages"][0]["questions"][1]["show_if"] = f"colour = '{HOSTILE}' and"
    assert save_draft(researcher, slug, json.dumps(invalid, ensure_ascii=False)).status_code == 302
    pages["problems"] = researcher.get(f"/surveys/{slug}/edit")
    assert "unknown key" in page_of(pages["problems"])
    publish_document = copy.deepcopy(document)
    assert save_draft(researcher, slug, json.dumps(publish_document, ensure_ascii=False)).status_code == 302
    publish(researcher, slug)
    publish_document["pages"][0]["questions"][0]["label"] = {"ru": HOSTILE_TITLE, "kk": "x", "en": "y"}
    publish_document["pages"][1]["questions"].append({"id": "extra", "type": "text", "label": HOSTILE})
    assert save_draft(researcher, slug, json.dumps(publish_document, ensure_ascii=False)).status_code == 302
    pages["diff"] = researcher.get(f"/surveys/{slug}/publish")
    assert "label changed" in page_of(pages["diff"])
    for name, response in pages.items():
        html = page_of(response)
        assert response.status_code == 200, name
        assert "<script>alert" not in html and "<img src=x" not in html, name
        if name not in ("share",):
            assert "&lt;script&gt;" in html or "&#34;&gt;&lt;img" in html, name


def test_static_assets_of_the_editor_are_served(client):
    for path in ("js/editor.js", "css/design.css", "vendor/codemirror/codemirror.js",
                 "vendor/codemirror/codemirror.css", "vendor/codemirror/javascript.js",
                 "vendor/codemirror/matchbrackets.js", "vendor/codemirror/LICENSE"):
        response = client.get(f"/static/{path}")
        assert response.status_code == 200, path
        response.close()
