"""Every route, as every kind of visitor: who gets in, who is sent to log in, who sees nothing.

A route added to the app without a row here fails the completeness test, so no
page can be added without deciding who may see it.
"""
from __future__ import annotations

import pytest

from survey_app import db
from survey_app.jobs.files import jobs_folder
from survey_app.jobs.running import work_path
from survey_app.models import Job, JobStatus, SurveyMember, SurveyRole, SurveyStatus
from survey_app.questionnaire import load_questionnaire
from survey_app.results.background import fill_counts
from survey_app.surveys import import_survey
from survey_plugins.exports.jobs import run_export
from tests.helpers import csrf_token, login

QUESTIONNAIRE = {"id": "private-survey", "version": "1", "languages": ["en"], "title": "Private",
                 "pages": [{"id": "p1", "questions": [{"id": "q", "type": "text", "label": "Q"}]}]}

VISITORS = ("anonymous", "owner", "other_researcher", "granted_staff", "staff", "admin")
IN, LOGIN, DENIED, HIDDEN = "in", "login", "denied", "hidden"  # 2xx/3xx inside, 302 to login, 403, 404

# endpoint -> (method, path, {visitor: outcome}); "*" is everyone not listed.
ROUTES = {
    "auth.login": ("GET", "/account/login", {"*": IN}),
    "auth.logout": ("POST", "/account/logout", {"*": IN}),
    "auth.change_password": ("GET", "/account/password", {"anonymous": LOGIN, "*": IN}),
    "admin.users": ("GET", "/admin/users", {"anonymous": LOGIN, "admin": IN, "*": DENIED}),
    "admin.toggle_user": ("POST", "/admin/users/{staff_id}/toggle", {"anonymous": LOGIN, "admin": IN, "*": DENIED}),
    "admin.plugin_list": ("GET", "/admin/plugins", {"anonymous": LOGIN, "admin": IN, "*": DENIED}),
    "design.dashboard": ("GET", "/", {"anonymous": LOGIN, "*": IN}),
    "design.upload": ("POST", "/surveys/upload", {"anonymous": LOGIN, "owner": IN, "other_researcher": IN,
                                                  "admin": IN, "*": DENIED}),
    "design.set_status": ("POST", "/surveys/{slug}/status", {"anonymous": LOGIN, "owner": IN, "admin": IN, "*": HIDDEN}),
    "design.create": ("POST", "/surveys/new", {"anonymous": LOGIN, "owner": IN, "other_researcher": IN,
                                               "admin": IN, "*": DENIED}),
    "design.edit": ("GET", "/surveys/{slug}/edit", {"anonymous": LOGIN, "owner": IN, "admin": IN, "*": HIDDEN}),
    "design.outline_move": ("POST", "/surveys/{slug}/outline/move", {"anonymous": LOGIN, "owner": IN, "admin": IN,
                                                                     "*": HIDDEN}),
    "design.outline_add": ("POST", "/surveys/{slug}/outline/add", {"anonymous": LOGIN, "owner": IN, "admin": IN,
                                                                   "*": HIDDEN}),
    "design.outline_delete": ("POST", "/surveys/{slug}/outline/delete", {"anonymous": LOGIN, "owner": IN,
                                                                         "admin": IN, "*": HIDDEN}),
    "design.preview": ("GET", "/surveys/{slug}/preview/p1", {"anonymous": LOGIN, "owner": IN, "admin": IN, "*": HIDDEN}),
    "design.publish": ("GET", "/surveys/{slug}/publish", {"anonymous": LOGIN, "owner": IN, "admin": IN, "*": HIDDEN}),
    "design.duplicate": ("POST", "/surveys/{slug}/duplicate", {"anonymous": LOGIN, "owner": IN, "admin": IN,
                                                               "*": HIDDEN}),
    "design.share": ("GET", "/surveys/{slug}/share", {"anonymous": LOGIN, "owner": IN, "admin": IN, "*": HIDDEN}),
    "design.unshare": ("POST", "/surveys/{slug}/share/remove", {"anonymous": LOGIN, "owner": IN, "admin": IN,
                                                                "*": HIDDEN}),
    "results.results": ("GET", "/surveys/{slug}/results", {"anonymous": LOGIN, "owner": IN, "granted_staff": IN,
                                                          "admin": IN, "*": HIDDEN}),
    # a survey's counting job serves whoever may read its results
    "results.counting_status": ("GET", "/surveys/{slug}/results/counting/{counting_job_id}",
                                {"anonymous": LOGIN, "owner": IN, "granted_staff": IN, "admin": IN, "*": HIDDEN}),
    "exports.download": ("GET", "/surveys/{slug}/export/csv", {"anonymous": LOGIN, "owner": IN, "granted_staff": IN,
                                                              "admin": IN, "*": HIDDEN}),
    # an unknown language: a 400 once access is granted, so the row tests who gets in without starting a job
    "exports.start": ("POST", "/surveys/{slug}/export/csv?lang=xx", {"anonymous": LOGIN, "owner": IN,
                                                                     "granted_staff": IN, "admin": IN, "*": HIDDEN}),
    # a background export is its starter's (the owner's here), whoever else may read the results
    "export_jobs.job": ("GET", "/surveys/{slug}/export/jobs/{job_id}", {"anonymous": LOGIN, "owner": IN, "*": HIDDEN}),
    "export_jobs.status": ("GET", "/surveys/{slug}/export/jobs/{job_id}/status", {"anonymous": LOGIN, "owner": IN,
                                                                                  "*": HIDDEN}),
    "export_jobs.file": ("GET", "/surveys/{slug}/export/jobs/{job_id}/file", {"anonymous": LOGIN, "owner": IN,
                                                                              "*": HIDDEN}),
    "respondent.welcome": ("GET", "/s/{slug}", {"*": IN}),
    "respondent.page": ("GET", "/s/{slug}/p/p1", {"*": IN}),
    "respondent.review": ("GET", "/s/{slug}/review", {"*": IN}),
    "respondent.submit_response": ("POST", "/s/{slug}/submit", {"*": IN}),
    "respondent.done": ("GET", "/s/{slug}/done", {"*": IN}),
    "respondent.access_code": ("GET", "/s/{slug}/code", {"*": IN}),
    "respondent.resume": ("GET", "/s/{slug}/resume/not-a-token", {"*": HIDDEN}),
    "static": ("GET", "/static/css/app.css", {"*": IN}),
}


@pytest.fixture
def world(app, make_user):
    """A private survey with its owner, a colleague it is shared with, and outsiders."""
    users = {name: make_user(role, email=f"{name}@example.org") for name, role in (
        ("owner", "researcher"), ("other_researcher", "researcher"), ("granted_staff", "staff"),
        ("staff", "staff"), ("admin", "admin"))}
    with app.app_context():
        session = db.session()
        survey, _ = import_survey(session, load_questionnaire(QUESTIONNAIRE), users["owner"], status=SurveyStatus.OPEN)
        session.flush()
        session.add(SurveyMember(survey_id=survey.id, user_id=users["granted_staff"].id, role=SurveyRole.VIEWER))
        jobs_folder(app).mkdir()
        (jobs_folder(app) / "export.csv").write_text("_id\r\n")
        job = Job(kind=work_path(run_export), survey_id=survey.id, created_by_id=users["owner"].id,
                  params={"format": "csv", "arguments": []}, status=JobStatus.DONE, result_path="export.csv")
        counting = Job(kind=work_path(fill_counts), survey_id=survey.id, params={"variable": None, "within": None},
                       status=JobStatus.RUNNING, done=0, total=0)
        session.add_all([job, counting])
        session.commit()
    return {"slug": "private-survey", "staff_id": users["staff"].id, "job_id": job.id,
            "counting_job_id": counting.id}


def outcome(response) -> str:
    if response.status_code == 302 and "/account/login" in response.headers["Location"]:
        return LOGIN
    return {403: DENIED, 404: HIDDEN}.get(response.status_code, IN if response.status_code < 500 else "error")


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(ROUTES)


@pytest.mark.parametrize("visitor", VISITORS)
def test_each_visitor_gets_exactly_what_the_table_says(app, world, visitor):
    client = app.test_client()
    if visitor != "anonymous":
        assert login(client, f"{visitor}@example.org").status_code == 302
    token = csrf_token(client.get("/account/login").get_data(as_text=True))
    results = {}
    for endpoint, (method, path, expected) in ROUTES.items():
        if endpoint == "auth.logout":
            continue  # would end this visitor's session; covered by its own test
        url = path.format(**world)
        response = client.get(url) if method == "GET" else client.post(url, data={"csrf_token": token, "status": "open"})
        results[endpoint] = (outcome(response), expected.get(visitor, expected["*"]))
        response.close()  # static files are streamed from an open file
    wrong = {endpoint: got for endpoint, got in results.items() if got[0] != got[1]}
    assert wrong == {}, f"(got, expected) per endpoint for {visitor}"


def test_a_guessed_survey_slug_of_someone_else_reveals_nothing(app, world):
    client = app.test_client()
    login(client, "other_researcher@example.org")
    hidden = client.get(f"/surveys/{world['slug']}/results")
    missing = client.get("/surveys/no-such-survey/results")
    assert hidden.status_code == missing.status_code == 404
    assert "Private" not in hidden.get_data(as_text=True)


def test_logout_ends_the_session(app, world):
    client = app.test_client()
    login(client, "owner@example.org")
    assert client.get("/").status_code == 200
    token = csrf_token(client.get("/account/password").get_data(as_text=True))
    client.post("/account/logout", data={"csrf_token": token})
    assert outcome(client.get("/")) == LOGIN


def test_a_password_change_ends_every_other_session(app, world):
    phone, laptop = app.test_client(), app.test_client()
    login(phone, "owner@example.org")
    login(laptop, "owner@example.org")
    page = laptop.get("/account/password").get_data(as_text=True)
    changed = laptop.post("/account/password", data={"csrf_token": csrf_token(page), "current": "correct horse battery",
                                                     "new": "an even better passphrase", "repeat": "an even better passphrase"})
    assert changed.status_code == 302
    assert outcome(laptop.get("/")) == IN
    assert outcome(phone.get("/")) == LOGIN


def test_a_disabled_account_is_logged_out_at_once(app, world):
    client = app.test_client()
    login(client, "staff@example.org")
    admin = app.test_client()
    login(admin, "admin@example.org")
    token = csrf_token(admin.get("/admin/users").get_data(as_text=True))
    assert admin.post(f"/admin/users/{world['staff_id']}/toggle", data={"csrf_token": token}).status_code == 302
    assert outcome(client.get("/")) == LOGIN
    assert login(app.test_client(), "staff@example.org").status_code == 200  # the form again, not a redirect


def test_login_attempts_are_throttled(app, world):
    client = app.test_client()
    statuses = [login(client, "owner@example.org", "wrong password").status_code for _ in range(11)]
    assert statuses[:10] == [200] * 10 and statuses[10] == 429
    assert login(client, "owner@example.org").status_code == 429  # even the right password waits


def test_session_cookies_are_http_only_and_same_site(app, world):
    client = app.test_client()
    response = login(client, "owner@example.org")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_pages_carry_security_headers(client):
    headers = client.get("/account/login").headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
