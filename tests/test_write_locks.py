"""Requests that read, then write, while another connection commits a write in between.

On SQLite in WAL mode a transaction that began by reading holds a snapshot; it
cannot upgrade to the write lock once another connection has committed since,
and SQLite refuses at once ("database is locked", whatever the busy timeout):
the request would end on the "try again" page with nothing saved. The views
call ``db.begin_write`` before writing, which ends the read transaction and
takes the write lock afresh. PostgreSQL has no such failure; the tests run
there too, to show the same requests succeed with the interleaved write.
"""
from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import OperationalError

from survey_app import db
from survey_app.auth.passwords import verify_password
from survey_app.models import SurveyMember, SurveyRole, SurveyStatus, User
from survey_app.questionnaire import load_questionnaire
from survey_app.surveys import import_survey
from tests.helpers import PASSWORD, csrf_token, login

QUESTIONNAIRE = {"id": "shared-survey", "version": "1", "languages": ["en"], "title": "Shared",
                 "pages": [{"id": "p1", "questions": [{"id": "q", "type": "text", "label": "Q"}]}]}
NEW_PASSWORD = "an even better passphrase"


@contextmanager
def another_write_after_the_first_read(app, bystander_id: int):
    """Right after the next SELECT on ``app``'s engine (the request's first read: loading the
    logged-in user, which starts its read transaction), commit a write on another connection."""
    engine = db.database(app).engine
    armed = [True]

    def interfere(_connection, _cursor, statement, _parameters, _context, _executemany):
        if armed[0] and statement.lstrip().upper().startswith("SELECT"):
            armed[0] = False
            with engine.begin() as other:
                other.execute(text("UPDATE users SET name = 'Renamed meanwhile' WHERE id = :id"), {"id": bystander_id})

    event.listen(engine, "after_cursor_execute", interfere)
    try:
        yield
    finally:
        event.remove(engine, "after_cursor_execute", interfere)
    assert not armed[0], "the request read nothing: the other write never happened"


def bystander_name(app, bystander_id: int) -> str:
    with app.app_context():
        return db.session().get(User, bystander_id).name


@pytest.fixture
def accounts(make_user):
    return {name: make_user(role, email=f"{name}@example.org")
            for name, role in (("owner", "researcher"), ("colleague", "researcher"), ("bystander", "staff"))}


def test_sharing_a_survey_while_another_connection_writes(app, accounts):
    with app.app_context():
        session = db.session()
        survey, _ = import_survey(session, load_questionnaire(QUESTIONNAIRE), accounts["owner"],
                                  status=SurveyStatus.OPEN)
        session.commit()
        survey_id = survey.id
    owner = app.test_client()
    login(owner, "owner@example.org")
    page = owner.get("/surveys/shared-survey/share").get_data(as_text=True)

    with another_write_after_the_first_read(app, accounts["bystander"].id):
        shared = owner.post("/surveys/shared-survey/share",
                            data={"csrf_token": csrf_token(page), "email": "colleague@example.org"})

    assert shared.status_code == 302, shared.get_data(as_text=True)
    with app.app_context():
        members = db.session().execute(select(SurveyMember.user_id, SurveyMember.role)
                                       .where(SurveyMember.survey_id == survey_id)).all()
    assert members == [(accounts["colleague"].id, SurveyRole.EDITOR)]
    assert bystander_name(app, accounts["bystander"].id) == "Renamed meanwhile"


def test_changing_a_password_while_another_connection_writes(app, accounts):
    client = app.test_client()
    login(client, "owner@example.org")
    page = client.get("/account/password").get_data(as_text=True)

    with another_write_after_the_first_read(app, accounts["bystander"].id):
        changed = client.post("/account/password", data={"csrf_token": csrf_token(page), "current": PASSWORD,
                                                          "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})

    assert changed.status_code == 302, changed.get_data(as_text=True)
    with app.app_context():
        owner = db.session().get(User, accounts["owner"].id)
        assert verify_password(owner.password_hash, NEW_PASSWORD)
        assert owner.session_generation == accounts["owner"].session_generation + 1
    assert client.get("/").status_code == 200  # this session carries the new generation
    assert bystander_name(app, accounts["bystander"].id) == "Renamed meanwhile"


def test_a_failed_write_of_a_logged_in_user_ends_on_the_try_again_page(app, accounts, monkeypatch):
    """The failed flush expires the loaded user; the error page (which shows who is logged in) must still render."""
    owner = app.test_client()
    login(owner, "owner@example.org")
    page = owner.get("/account/password").get_data(as_text=True)
    engine = db.database(app).engine

    def refuse(_connection, _cursor, statement, _parameters, _context, _executemany):
        if statement.lstrip().upper().startswith("UPDATE USERS"):
            raise OperationalError(statement, {}, Exception("database is locked"))

    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)  # as in production: the handler answers
    event.listen(engine, "before_cursor_execute", refuse)
    try:
        changed = owner.post("/account/password", data={"csrf_token": csrf_token(page), "current": PASSWORD,
                                                        "new": NEW_PASSWORD, "repeat": NEW_PASSWORD})
    finally:
        event.remove(engine, "before_cursor_execute", refuse)
    assert changed.status_code == 503
    assert "Please try again in a moment" in changed.get_data(as_text=True)
    with app.app_context():  # nothing was written
        user = db.session().get(User, accounts["owner"].id)
        assert verify_password(user.password_hash, PASSWORD)
