"""Answering a questionnaire through the real pages, on SQLite and PostgreSQL."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import event, select

from survey_app import db
from survey_app.models import Answer, Response, ResponseStatus, SurveyStatus
from survey_app.questionnaire import load_questionnaire
from survey_app.surveys import import_survey
from tests.helpers import Respondent

ALL_TYPES = Path(__file__).parent / "data" / "all-types.json"

FIRST = {"gender": "female", "pregnant_question": "no", "age": "34", "station": "0123"}
SECOND = {"channels": ["web", "tv"], "rating": "4", "grid.row_a": "good", "grid.row_b": "bad",
          "rank.x": "2", "rank.y": "1", "rank.z": "3", "share": "12,5", "visited": "2024-05-01",
          "mail": "a@example.org", "comment": "Всё хорошо"}
THIRD = {"candidates": "5", "winners": "2"}


@pytest.fixture
def survey(app, make_user):
    """The all-types questionnaire, published and open."""
    owner = make_user("researcher")
    with app.app_context():
        session = db.session()
        survey, _ = import_survey(session, load_questionnaire(ALL_TYPES.read_bytes()), owner, status=SurveyStatus.OPEN)
        session.commit()
        return survey.slug


def stored(app) -> list[Response]:
    with app.app_context():
        return db.session().execute(select(Response).order_by(Response.id)).scalars().all()


def answer_rows(app, question_id: str) -> list[tuple]:
    with app.app_context():
        rows = db.session().execute(select(Answer.entry, Answer.item, Answer.code, Answer.number, Answer.text)
                                    .where(Answer.question_id == question_id).order_by(Answer.entry, Answer.item))
        return [tuple(row) for row in rows]


def answer_all(respondent: Respondent) -> None:
    respondent.open("first")
    assert respondent.post("first", FIRST).status_code == 302
    respondent.open("second")
    assert respondent.post("second", SECOND).status_code == 302
    respondent.open("third")
    assert respondent.post("third", THIRD).status_code == 302


def test_a_respondent_completes_every_question_type(app, client, survey):
    welcome = client.get(f"/s/{survey}")
    assert welcome.status_code == 200 and "All types" in welcome.get_data(as_text=True)
    respondent = Respondent(client, survey)
    answer_all(respondent)
    review = client.get(f"/s/{survey}/review").get_data(as_text=True)
    assert "Всё хорошо" in review and "a@example.org" in review
    done = respondent.submit()
    assert done.status_code == 302 and "/done" in done.headers["Location"]
    thanks = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Thank you!" in thanks

    [response] = stored(app)
    assert response.status is ResponseStatus.COMPLETE and response.submitted_at is not None
    answers = response.data["answers"]
    assert (answers["age"], answers["share"], answers["rank"], answers["double_age"]) == (34, 12.5, ["y", "x", "z"], 68)
    assert answers["grid"] == {"row_a": "good", "row_b": "bad"} and answers["channels"] == ["web", "tv"]
    assert "incidents" not in answers  # an empty repeat group stores nothing
    assert answer_rows(app, "channels") == [(0, "tv", "tv", None, None), (0, "web", "web", None, None)]
    assert answer_rows(app, "rank") == [(0, "x", "x", 2.0, None), (0, "y", "y", 1.0, None), (0, "z", "z", 3.0, None)]
    assert answer_rows(app, "grid") == [(0, "row_a", "good", None, None), (0, "row_b", "bad", None, None)]
    assert answer_rows(app, "age") == [(0, "", None, 34.0, None)]
    assert answer_rows(app, "double_age") == [(0, "", None, 68.0, None)]


def test_errors_are_listed_in_a_summary_and_next_to_each_field(app, client, survey):
    respondent = Respondent(client, survey)
    respondent.open("first")
    response = respondent.post("first", {"gender": "other", "age": "12", "station": "12a"})
    assert response.status_code == 422
    summary = re.findall(r'<li><a href="#([^"]+)">([^<]+)</a>', respondent.html)
    assert summary == [("gender-0", "Gender: Say what the other answer is"), ("age", "Age: Enter a number of at least 16"),
                       ("station", "Station: Digits only")]
    assert 'id="age-error"' in respondent.html and 'aria-describedby="age-error"' in respondent.html
    assert 'value="12a"' in respondent.html  # what was typed is shown again
    assert stored(app) == []  # nothing saved from a page with errors


def test_messages_come_in_the_respondents_language(client, survey):
    respondent = Respondent(client, survey)
    page = respondent.open("first", lang="ru")
    assert '<html lang="ru">' in page.get_data(as_text=True)
    respondent.post("first", FIRST)
    respondent.open("second")
    respondent.post("second", SECOND)
    respondent.open("third")
    respondent.post("third", {"candidates": "2", "winners": "3"})
    assert "Победителей не больше, чем кандидатов" in respondent.html


@pytest.mark.parametrize("answers, message", [
    ({"channels": ["web"]}, "Choose at least 2 options"),
    ({"channels": ["web", "none"]}, "This option cannot be combined with others"),
    ({"grid.row_b": ""}, "Answer every row"),
    ({"rank.x": "1", "rank.y": "1", "rank.z": "2"}, "Give each option a different place"),
    ({"share": "12.25"}, "Use at most 1 decimal places"),
    ({"visited": "2019-12-31"}, "Enter a date on or after 2020-01-01"),
    ({"visited": "2024-02-30"}, "Enter a real date"),
    ({"mail": "not an address"}, "Enter an e-mail address like name@example.org"),
    ({"rating": "9"}, "Choose one of the options"),
])
def test_each_rule_is_checked_on_the_server(client, survey, answers, message):
    respondent = Respondent(client, survey)
    respondent.open("first")
    respondent.post("first", FIRST)
    respondent.open("second")
    response = respondent.post("second", {**SECOND, **answers})
    assert response.status_code == 422
    assert message in respondent.html


def test_answers_to_questions_that_end_up_hidden_are_not_stored(app, client, survey):
    respondent = Respondent(client, survey)
    respondent.open("first")
    respondent.post("first", FIRST)  # female: the follow-up is shown and answered "no"
    respondent.open("first")
    respondent.post("first", {**FIRST, "gender": "male"})  # now hidden, though the browser still sent it
    [response] = stored(app)
    assert "pregnant_question" not in response.data["answers"]
    assert answer_rows(app, "pregnant_question") == []


def test_piped_answers_appear_in_labels(client, survey):
    respondent = Respondent(client, survey)
    respondent.open("first", lang="ru")
    respondent.post("first", FIRST)
    page = respondent.open("second").get_data(as_text=True)
    assert "Каналы для Женский" in page


def test_a_double_submit_stores_one_response_and_shows_the_same_receipt(app, client, survey):
    respondent = Respondent(client, survey)
    answer_all(respondent)
    review = client.get(f"/s/{survey}/review").get_data(as_text=True)
    form = {"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', review).group(1),
            "submission_id": re.search(r'name="submission_id" value="([^"]+)"', review).group(1)}
    first = client.post(f"/s/{survey}/submit", data=form)
    again = client.post(f"/s/{survey}/submit", data=form)  # the second click, or a retry
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert form["submission_id"] in first.headers["Location"]
    responses = stored(app)
    assert len(responses) == 1 and responses[0].status is ResponseStatus.COMPLETE


def test_a_page_resent_after_submitting_with_other_answers_is_refused(app, client, survey):
    respondent = Respondent(client, survey)
    answer_all(respondent)
    old_form = respondent.html
    respondent.submit()
    respondent.html = old_form
    conflict = respondent.post("third", {"candidates": "9", "winners": "1"})
    assert conflict.status_code == 409
    respondent.html = old_form
    same = respondent.post("third", THIRD)
    assert same.status_code == 302 and "/done" in same.headers["Location"]
    [response] = stored(app)
    assert response.data["answers"]["candidates"] == 5


def test_reload_resumes_and_a_resume_link_works_in_another_browser(app, client, survey):
    respondent = Respondent(client, survey)
    respondent.open("first")
    respondent.post("first", FIRST)
    welcome = client.get(f"/s/{survey}").get_data(as_text=True)
    assert "Continue where you left off" in welcome and "/p/second" in welcome
    respondent.open("second")
    later = respondent.post("second", {"rating": "3"}, action="save_later")
    link = re.search(r'readonly value="(http[^"]+)"', later.get_data(as_text=True)).group(1)
    other_browser = app.test_client()
    resumed = other_browser.get(link.replace("http://localhost", ""))
    assert resumed.status_code == 302 and resumed.headers["Location"].endswith("/p/second?lang=en")
    page = other_browser.get(resumed.headers["Location"]).get_data(as_text=True)
    [checked] = re.findall(r'<input[^>]*name="rating"[^>]*>', page) and [
        tag for tag in re.findall(r'<input[^>]*name="rating"[^>]*>', page) if "checked" in tag]
    assert 'value="3"' in checked


def test_repeat_entries_are_added_and_removed_without_javascript(app, client, survey):
    respondent = Respondent(client, survey)
    respondent.open("first")
    respondent.post("first", FIRST)
    respondent.open("second")
    respondent.post("second", SECOND)
    respondent.open("third")
    respondent.post("third", THIRD, action="add:incidents")
    respondent.post("third", {**THIRD, "incidents.0.kind": "fraud", "incidents.0.details": "ballots"}, action="add:incidents")
    assert "Incident 2" in respondent.html
    respondent.post("third", {**THIRD, "incidents.0.kind": "fraud", "incidents.0.details": "ballots",
                              "incidents.1.kind": "pressure"}, action="add:incidents")
    response = respondent.post("third", {**THIRD, "incidents.0.kind": "fraud", "incidents.0.details": "ballots",
                                         "incidents.1.kind": "pressure"}, action="remove:incidents:2")
    assert response.status_code == 200 and "Incident 3" not in respondent.html
    response = respondent.post("third", {**THIRD, "incidents.0.kind": "fraud", "incidents.0.details": "ballots",
                                         "incidents.1.kind": "pressure", "incidents.1.details": "hidden, dropped"})
    assert response.status_code == 302
    [stored_response] = stored(app)
    assert stored_response.data["answers"]["incidents"] == [{"kind": "fraud", "details": "ballots"}, {"kind": "pressure"}]
    assert answer_rows(app, "kind") == [(1, "", "fraud", None, None), (2, "", "pressure", None, None)]


def test_a_required_field_in_a_repeat_entry_is_checked(client, survey):
    respondent = Respondent(client, survey)
    for page, answers in (("first", FIRST), ("second", SECOND)):
        respondent.open(page)
        respondent.post(page, answers)
    respondent.open("third")
    respondent.post("third", THIRD, action="add:incidents")
    response = respondent.post("third", {**THIRD, "incidents.0.details": ""})  # as a browser sends the empty entry
    assert response.status_code == 422 and "Incident 1, Kind: Answer this question" in respondent.html


@pytest.mark.parametrize("status, text", [(SurveyStatus.DRAFT, "not open yet"), (SurveyStatus.CLOSED, "has closed")])
def test_a_survey_that_is_not_open_shows_a_friendly_page(app, client, survey, status, text):
    with app.app_context():
        from survey_app.models import Survey

        session = db.session()
        session.execute(select(Survey)).scalar_one().status = status
        session.commit()
    for path in (f"/s/{survey}", f"/s/{survey}/p/first"):
        page = client.get(path)
        assert page.status_code == 200 and text in page.get_data(as_text=True)


def test_hostile_answers_are_stored_exactly_and_shown_escaped(app, client, survey):
    hostile = '<script>alert(1)</script>=HYPERLINK("http://x")\u202e'
    respondent = Respondent(client, survey)
    respondent.open("first")
    respondent.post("first", {**FIRST, "gender": "other", "gender__other": hostile})
    for page, answers in (("second", {**SECOND, "comment": hostile}), ("third", THIRD)):
        respondent.open(page)
        respondent.post(page, answers)
    review = client.get(f"/s/{survey}/review").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in review
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in review
    [response] = stored(app)
    assert response.data["answers"]["comment"] == hostile and response.data["answers"]["gender:other"] == hostile


def test_a_post_without_the_csrf_token_is_refused(app, client, survey):
    respondent = Respondent(client, survey)
    respondent.open("first")
    response = client.post(f"/s/{survey}/p/first", data={"submission_id": respondent.submission_id, **FIRST})
    assert response.status_code == 400
    assert stored(app) == []


def test_values_not_among_the_choices_are_refused(client, survey):
    respondent = Respondent(client, survey)
    respondent.open("first")
    response = respondent.post("first", {**FIRST, "gender": "robot"})
    assert response.status_code == 422 and "Choose one of the options" in respondent.html


def _enter_code(client, survey: str, code: str):
    page = client.get(f"/s/{survey}/code").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    return client.post(f"/s/{survey}/code", data={"csrf_token": token, "code": code})


def test_a_closed_survey_takes_each_access_code_once(app, client, runner, survey):
    result = runner("access-codes", survey, "--count", "2")
    first_code, second_code = result.output.split()
    assert re.fullmatch(r"[2-9A-Z]{5}-[2-9A-Z]{5}", first_code)
    assert client.get(f"/s/{survey}/p/first").headers["Location"].endswith(f"/s/{survey}/code")
    assert _enter_code(client, survey, "AAAAA-BBBBB").status_code == 422
    assert _enter_code(client, survey, first_code.lower().replace("-", " ")).status_code == 302
    respondent = Respondent(client, survey)
    respondent.open("first")
    respondent.post("first", FIRST)
    # The same code resumes the same response from another browser...
    phone = app.test_client()
    assert _enter_code(phone, survey, first_code).status_code == 302
    assert "Continue where you left off" in phone.get(f"/s/{survey}").get_data(as_text=True)
    for page, answers in (("second", SECOND), ("third", THIRD)):
        respondent.open(page)
        respondent.post(page, answers)
    assert "/done" in respondent.submit().headers["Location"]
    # ...and once the response is submitted, the code is spent.
    assert _enter_code(app.test_client(), survey, first_code).status_code == 422
    assert _enter_code(app.test_client(), survey, second_code).status_code == 302
    assert len(stored(app)) == 1


def test_going_back_keeps_what_can_be_read_and_drops_what_cannot(app, client, survey):
    respondent = Respondent(client, survey)
    for page, answers in (("first", FIRST), ("second", SECOND)):
        respondent.open(page)
        respondent.post(page, answers)
    respondent.open("third")
    respondent.post("third", THIRD, action="add:incidents")
    response = respondent.post("third", {"candidates": "seven", "winners": "2", "incidents.0.kind": "fraud",
                                         "incidents.0.details": "x"}, action="back")
    assert response.status_code == 302 and response.headers["Location"].endswith("/p/second")
    [stored_response] = stored(app)
    answers = stored_response.data["answers"]
    assert "candidates" not in answers and answers["winners"] == 2
    assert answers["incidents"] == [{"kind": "fraud", "details": "x"}]


def test_a_page_view_costs_one_query_and_an_unchanged_session_sends_no_cookie(app, client, survey):
    respondent = Respondent(client, survey)
    assert "Set-Cookie" in respondent.open("first").headers  # the first view starts the session
    executed = []

    def record(connection, _cursor, statement, *_args):
        executed.append((statement.split()[0], connection.get_execution_options().get("isolation_level")))

    engine = db.database(app).engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        again = respondent.open("first")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert "Set-Cookie" not in again.headers
    # The survey, its version and the response in one SELECT; on PostgreSQL outside a
    # transaction (no BEGIN and ROLLBACK round trips), on SQLite inside its own.
    isolation = "AUTOCOMMIT" if engine.dialect.name == "postgresql" else None
    assert [entry for entry in executed if entry[0] != "BEGIN"] == [("SELECT", isolation)]
    saved = respondent.post("first", FIRST)  # it posts the submission id the session holds already
    assert saved.status_code == 302 and "Set-Cookie" not in saved.headers
