"""A response is stored once, whatever arrives twice or at the same moment."""
from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from survey_app import db
from survey_app.models import Answer, Response, ResponseStatus, SurveyStatus
from survey_app.questionnaire import load_questionnaire
from survey_app.responses.storage import save_page, submit
from survey_app.surveys import import_survey
from tests.helpers import Respondent

QUESTIONNAIRE = load_questionnaire((Path(__file__).parent / "data" / "all-types.json").read_bytes())
ANSWERS = {"gender": "male", "age": 40, "grid": {"row_a": "good", "row_b": "good"}}


@pytest.fixture
def survey(app, make_user):
    owner = make_user("researcher")
    with app.app_context():
        session = db.session()
        survey, _ = import_survey(session, QUESTIONNAIRE, owner, status=SurveyStatus.OPEN)
        session.commit()
        return survey.id


def _in_threads(app, count: int, work) -> list:
    """Run ``work(session)`` in ``count`` threads released at the same moment."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        with app.app_context():
            session = db.database(app).sessions()
            try:
                barrier.wait()
                results[index] = work(session)
            except Exception as error:  # reported through results
                results[index] = error
            finally:
                session.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _survey_objects(session, survey_id):
    from survey_app.models import Survey

    survey = session.get(Survey, survey_id)
    return survey, survey.latest_version


def test_the_same_first_page_saved_at_once_creates_one_response(app, survey):
    submission_id = str(uuid.uuid4())

    def save(session):
        survey_row, version = _survey_objects(session, survey)
        return save_page(session, survey_row, version, QUESTIONNAIRE, submission_id=submission_id, language="en",
                         page_answers=ANSWERS, next_page="second").id

    results = _in_threads(app, 4, save)
    assert all(isinstance(result, int) for result in results), results
    assert len(set(results)) == 1
    with app.app_context():
        assert db.session().execute(select(func.count()).select_from(Response)).scalar_one() == 1


def test_concurrent_final_submits_complete_the_response_once(app, survey):
    submission_id = str(uuid.uuid4())
    with app.app_context():
        session = db.session()
        survey_row, version = _survey_objects(session, survey)
        save_page(session, survey_row, version, QUESTIONNAIRE, submission_id=submission_id, language="en",
                  page_answers=ANSWERS, next_page=None)

    def final(session):
        survey_row, _ = _survey_objects(session, survey)
        return submit(session, survey_row, QUESTIONNAIRE, submission_id).first_time

    results = _in_threads(app, 4, final)
    assert sorted(results) == [False, False, False, True]
    with app.app_context():
        session = db.session()
        response = session.execute(select(Response)).scalar_one()
        assert response.status is ResponseStatus.COMPLETE
        count = session.execute(select(func.count()).select_from(Answer).where(Answer.question_id == "grid")).scalar_one()
        assert count == 2  # written once, not once per click


@contextmanager
def counted_queries(app):
    """Count the SQL statements the app sends while the block runs."""
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.database(app).engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_page_and_a_submit_take_a_fixed_small_number_of_queries(app, client, survey):
    respondent = Respondent(client, "all-types")
    respondent.open("first")
    respondent.post("first", {"gender": "male", "age": "40"})
    with counted_queries(app) as page_view:
        respondent.open("second")
    respondent.post("second", {"grid.row_a": "good", "grid.row_b": "bad"})
    respondent.open("third")
    respondent.post("third", {})
    review = client.get("/s/all-types/review").get_data(as_text=True)
    with counted_queries(app) as final:
        respondent.submit()
    # A page view: survey, its versions, the response. A submit adds the review page's
    # reads, the locked read, the update, and the answers' delete and one bulk insert.
    assert len(page_view) <= 5, page_view
    assert len(final) <= 16, final
    assert "Send my answers" in review
