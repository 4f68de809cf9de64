"""Large exports as background jobs: in a thread, on a real RQ worker, failing, dying, forgotten, and private.

The apps here prepare exports of more than 5 responses in the background; the
survey has 12 complete responses and a partial one. Files are downloaded
through the job's page and read back with openpyxl; job rows are read from the
database the way another web worker would.
"""
from __future__ import annotations

import html
import io
import logging
import os
import re
import signal
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone

import openpyxl
import pytest
from click.testing import CliRunner
from redis import Redis, RedisError
from rq import Queue
from sqlalchemy import event, insert, select, update

from survey_app import create_app, db, hookimpl, jobs
from survey_app.auth.passwords import hash_password
from survey_app.cli import build_cli
from survey_app.contributions import ExportFormat
from survey_app.jobs import running
from survey_app.jobs.files import jobs_folder
from survey_app.jobs.lifecycle import RETENTION
from survey_app.jobs.running import work_path
from survey_app.models import (Answer, Job, JobStatus, Response, ResponseStatus, Role, SurveyMember, SurveyRole,
                               SurveyStatus, User)
from survey_app.models.types import utcnow
from survey_app.questionnaire import load_questionnaire
from survey_app.responses.storage import answer_rows
from survey_app.surveys import import_survey
from survey_plugins.exports.jobs import run_export
from tests.conftest import _base_config
from tests.helpers import PASSWORD, csrf_token, login

REDIS_URL = os.environ.get("SURVEY_APP_TEST_REDIS", "redis://127.0.0.1:6379/0")
UTC = timezone.utc
SLUG = "big-survey"
QUESTIONNAIRE = {"id": SLUG, "version": "1", "languages": ["en"], "title": "Big survey", "pages": [
    {"id": "p1", "questions": [
        {"id": "colour", "type": "single_choice", "label": "Colour",
         "choices": [{"value": "red", "label": "Red"}, {"value": "blue", "label": "Blue"}]},
        {"id": "age", "type": "integer", "label": "Age"},
        {"id": "note", "type": "text", "label": "Note"}]}]}


def _answers(index: int) -> dict:
    return {"colour": ("red", "blue")[index % 2], "age": 20 + index, "note": f"=cmd|{index}" if index == 3 else f"n{index}"}


# --- plugins and work functions used by the tests ----------------------------------------------


class BrokenFormat:
    """A plugin whose export format fails half-way through, as a full disk would."""

    @hookimpl
    def register_export_formats(self):
        return [ExportFormat("broken", "Broken", "text/plain", "txt", _broken_write)]


def _broken_write(target, progress, **_arguments):
    progress(3, 10)
    target.write(b"half a file")
    raise OSError("No space left on device")


def chatty_work(job: jobs.RunningJob) -> None:
    """Reports progress as fast as it can for 1.2 seconds."""
    calls, started = 0, time.monotonic()
    while time.monotonic() - started < 1.2:
        calls += 1
        job.progress(calls, 10**9)
    RELEASE["calls"] = calls


#: What the work functions share with the tests (they run in the job's thread).
RELEASE: dict = {}


def silent_work(job: jobs.RunningJob) -> None:
    """Reports nothing until the test lets it finish."""
    assert RELEASE["event"].wait(30)


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build apps on the test database that prepare exports of more than 5 responses in the background."""
    made = []

    def make(**config):
        application = create_app({**_base_config(tmp_path, database_url), "EXPORT_BACKGROUND_THRESHOLD": 5, **config},
                                 plugins=[BrokenFormat()])
        made.append(application)
        return application

    yield make
    for application in made:
        db.database(application).engine.dispose()


@pytest.fixture
def thread_app(make_app):
    """An app without REDIS_URL: jobs run in a thread of the web process."""
    return make_app()


@pytest.fixture
def rq_app(make_app):
    """An app with REDIS_URL and a queue of its own, removed from Redis afterwards."""
    if os.environ.get("SURVEY_APP_SKIP_REDIS") == "1":
        pytest.skip("SURVEY_APP_SKIP_REDIS=1")
    try:
        Redis.from_url(REDIS_URL).ping()
    except RedisError as error:
        pytest.fail(f"Redis at {REDIS_URL} is not reachable ({error}); start it, set SURVEY_APP_TEST_REDIS, "
                    "or set SURVEY_APP_SKIP_REDIS=1 to skip the RQ tests", pytrace=False)
    queue = f"survey_app_test_{uuid.uuid4().hex}"
    application = make_app(REDIS_URL=REDIS_URL, JOB_QUEUE=queue, LOGIN_ATTEMPTS_PER_15_MINUTES=1000)
    yield application
    Queue(queue, connection=Redis.from_url(REDIS_URL)).delete(delete_jobs=True)
    redis = Redis.from_url(REDIS_URL)
    workers = [key for key in redis.scan_iter("rq:worker:*") if redis.hget(key, "queues") == queue.encode()]
    leftovers = [*redis.scan_iter(f"*{queue}*"), *workers]
    if leftovers:
        redis.delete(*leftovers)


def _user(app, role: str = "researcher") -> User:
    with app.app_context():
        session = db.session()
        user = User(email=f"{role}-{uuid.uuid4().hex[:8]}@example.org", name=role, role=Role(role),
                    password_hash=hash_password(PASSWORD))
        session.add(user)
        session.commit()
        return user


def _survey(app, owner: User, document: dict = QUESTIONNAIRE, responses: int = 12) -> int:
    """A survey with ``responses`` complete responses and one partial, stored as the platform stores them."""
    with app.app_context():
        session = db.session()
        questionnaire = load_questionnaire(document)
        survey, version = import_survey(session, questionnaire, owner, status=SurveyStatus.OPEN)
        session.flush()
        for index in range(responses + 1):
            complete = index < responses
            response = Response(survey_id=survey.id, version_id=version.id, submission_id=uuid.uuid4().hex,
                                status=ResponseStatus.COMPLETE if complete else ResponseStatus.PARTIAL, language="en",
                                data={"answers": _answers(index)},
                                submitted_at=datetime(2024, 5, 1 + index, 10, tzinfo=UTC) if complete else None,
                                started_at=datetime(2024, 5, 1, 9, 0, tzinfo=UTC))
            session.add(response)
            session.flush()
            session.execute(insert(Answer), [{**row, "survey_id": survey.id, "response_id": response.id}
                                             for row in answer_rows(questionnaire, _answers(index))])
        session.commit()
        return survey.id


@pytest.fixture
def owner_and_survey(thread_app):
    owner = _user(thread_app)
    return owner, _survey(thread_app, owner)


def _client(app, user: User):
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    return client


def _start(client, query: str = "codes=1&status=all", name: str = "xlsx", slug: str = SLUG) -> str:
    """Ask for a large export, press the offer's button; the job page's URL."""
    offer = client.get(f"/surveys/{slug}/export/{name}?{query}")
    page = offer.get_data(as_text=True)
    assert offer.status_code == 200 and "<form" in page, page
    action = html.unescape(re.search(r'<form method="post" action="([^"]+/export/[^"]+)"', page).group(1))
    started = client.post(action, data={"csrf_token": csrf_token(page)})
    assert started.status_code == 302
    return started.headers["Location"]


def _wait(client, job_url: str, timeout: float = 60) -> dict:
    """Poll the job's JSON status until it has finished."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = client.get(job_url + "/status").get_json()
        if state["finished"]:
            return state
        time.sleep(0.05)
    raise AssertionError(f"the job at {job_url} did not finish: {state}")


def _job(app, job_id: int) -> Job:
    with app.app_context():
        return db.session().get(Job, job_id)


def _job_id(job_url: str) -> int:
    return int(job_url.rstrip("/").rsplit("/", 1)[1])


def _download_and_check(app, client, job_url: str, survey_id: int, expected_ids: int) -> None:
    """Follow the page's download link; the workbook's rows are the stored answers."""
    page = client.get(job_url).get_data(as_text=True)
    assert "http-equiv=\"refresh\"" not in page and "<progress" not in page
    link = re.search(r'href="([^"]+/file)"', page).group(1)
    with client.get(link) as download:
        assert download.status_code == 200
        assert download.headers["Content-Disposition"] == f"attachment; filename={SLUG}.xlsx"
        assert download.headers["Cache-Control"] == "no-store"
        sheet = openpyxl.load_workbook(io.BytesIO(download.data))["Responses"]
    header, *rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    exported = {row[header.index("_id")]: (row[header.index("colour")], row[header.index("age")],
                                           row[header.index("note")]) for row in rows}
    with app.app_context():
        stored: dict[int, dict] = {}
        for response_id, question_id, code, number, text in db.session().execute(
                select(Answer.response_id, Answer.question_id, Answer.code, Answer.number, Answer.text)
                .where(Answer.survey_id == survey_id)):
            stored.setdefault(response_id, {})[question_id] = code if code is not None else (
                number if number is not None else text)
    assert len(exported) == expected_ids
    assert exported == {response_id: (answers["colour"], answers["age"], answers["note"])
                        for response_id, answers in stored.items()}
    assert any(cell.data_type == "s" and cell.value == "=cmd|3" and cell.quotePrefix
               for row in sheet.iter_rows() for cell in row)


# --- the thread ----------------------------------------------------------------------------------


def test_small_exports_download_at_once_and_large_ones_are_offered(thread_app, owner_and_survey):
    owner, _survey_id = owner_and_survey
    client = _client(thread_app, owner)
    with client.get(f"/surveys/{SLUG}/export/csv-plain?codes=1&from=2024-05-01&to=2024-05-08&where=colour:red") \
            as direct:
        assert direct.status_code == 200 and direct.headers["Content-Disposition"].startswith("attachment")
        assert direct.get_data(as_text=True).count("\r\n") == 1 + 4  # the header and days 1, 3, 5, 7
    offer = client.get(f"/surveys/{SLUG}/export/csv")
    page = offer.get_data(as_text=True)
    assert offer.status_code == 200 and "12 responses match" in page and "Prepare the file" in page
    with thread_app.app_context():
        assert db.session().execute(select(Job)).first() is None  # looking at the offer starts nothing


def test_a_large_export_runs_in_a_thread_with_progress_and_is_downloaded(thread_app, owner_and_survey):
    owner, survey_id = owner_and_survey
    client = _client(thread_app, owner)
    job_url = _start(client)
    state = _wait(client, job_url)
    assert state == {"status": "done", "done": 13, "total": 13, "text": "The file is ready.", "finished": True}
    job = _job(thread_app, _job_id(job_url))
    assert job.params == {"format": "xlsx", "arguments": [["codes", "1"], ["status", "all"]]}
    assert job.created_by_id == owner.id and job.survey_id == survey_id
    assert [path.name for path in jobs_folder(thread_app).iterdir()] == [job.result_path]
    assert re.fullmatch(r"[\w-]{32}\.xlsx", job.result_path)  # unguessable
    _download_and_check(thread_app, client, job_url, survey_id, expected_ids=13)


def test_a_running_job_page_shows_an_accessible_progress_bar_and_reloads_itself(thread_app, owner_and_survey):
    owner, survey_id = owner_and_survey
    job_id = _insert_job(thread_app, owner, survey_id, JobStatus.RUNNING, done=1500, total=20000)
    client = _client(thread_app, owner)
    page = client.get(f"/surveys/{SLUG}/export/jobs/{job_id}").get_data(as_text=True)
    assert '<label for="export-progress">' in page
    assert '<progress id="export-progress" max="20000" value="1500">' in page
    assert "1,500 of 20,000 responses written" in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page  # without JavaScript
    assert 'src="/static/js/job_progress.js"' in page and 'data-status-url="/surveys/big-survey/export/jobs/' in page
    with client.get("/static/js/job_progress.js") as script:
        assert script.status_code == 200 and "data-status-url" in script.get_data(as_text=True)
    assert client.get(f"/surveys/{SLUG}/export/jobs/{job_id}/file").status_code == 404  # nothing to download yet


def test_progress_reaches_the_database_at_most_twice_a_second(thread_app, owner_and_survey):
    owner, survey_id = owner_and_survey
    updates = []
    engine = db.database(thread_app).engine

    def count(_connection, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("UPDATE JOBS"):
            updates.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with thread_app.test_request_context():
            job = jobs.start_job(db.session(), chatty_work, {}, survey_id=survey_id, user=owner)
        _wait_for_row(thread_app, job.id)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    finished = _job(thread_app, job.id)
    assert finished.status is JobStatus.DONE
    assert RELEASE["calls"] > 1000
    assert (finished.done, finished.total) == (RELEASE["calls"], 10**9)
    assert 3 <= len(updates) <= 2 + 1.2 / running.PROGRESS_INTERVAL + 2  # claim, progress, finish


def test_a_job_that_reports_nothing_keeps_its_row_fresh(thread_app, owner_and_survey, monkeypatch):
    owner, survey_id = owner_and_survey
    monkeypatch.setattr(running, "HEARTBEAT_INTERVAL", 0.2)
    RELEASE["event"] = threading.Event()
    with thread_app.test_request_context():
        job = jobs.start_job(db.session(), silent_work, {}, survey_id=survey_id, user=owner)
    seen = set()
    deadline = time.monotonic() + 30
    while len(seen) < 3 and time.monotonic() < deadline:
        row = _job(thread_app, job.id)
        if row.status is JobStatus.RUNNING:
            seen.add(row.updated_at)
        time.sleep(0.05)
    RELEASE["event"].set()
    _wait_for_row(thread_app, job.id)
    assert len(seen) >= 3  # the claim, then heartbeats


def _wait_for_row(app, job_id: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while _job(app, job_id).status not in (JobStatus.DONE, JobStatus.FAILED):
        assert time.monotonic() < deadline, "the job did not finish"
        time.sleep(0.05)


# --- failures --------------------------------------------------------------------------------------


def test_a_failing_export_ends_failed_with_its_message_and_leaves_no_file(thread_app, owner_and_survey, caplog):
    owner, _survey_id = owner_and_survey
    client = _client(thread_app, owner)
    job_url = _start(client, query="", name="broken")
    with caplog.at_level(logging.ERROR, logger="survey_app.jobs"):
        state = _wait(client, job_url)
    assert state == {"status": "failed", "done": 3, "total": 10, "text": "The export failed.", "finished": True}
    page = client.get(job_url).get_data(as_text=True)
    assert "The export failed." in page and "OSError: No space left on device" in page
    assert "Traceback" not in page and "<progress" not in page and "refresh" not in page
    assert list(jobs_folder(thread_app).iterdir()) == []  # the half-written file is gone
    assert client.get(job_url + "/file").status_code == 404
    logged = [record for record in caplog.records if record.name == "survey_app.jobs.running"]
    assert logged and logged[0].exc_info and "No space left on device" in str(logged[0].exc_info[1])


def test_an_export_whose_arguments_no_longer_hold_fails_with_the_reason(thread_app, owner_and_survey):
    owner, survey_id = owner_and_survey
    job_id = _insert_job(thread_app, owner, survey_id, JobStatus.QUEUED,
                         params={"format": "xlsx", "arguments": [["lang", "xx"]]})
    running.execute(thread_app, job_id)
    job = _job(thread_app, job_id)
    assert job.status is JobStatus.FAILED and job.error == "The questionnaire has no language “xx”."


def test_a_job_that_cannot_be_queued_fails_at_once(make_app, caplog):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens there
    owner = _user(app)
    survey_id = _survey(app, owner, responses=1)
    with app.test_request_context(), caplog.at_level(logging.ERROR):
        job = jobs.start_job(db.session(), run_export, {"format": "csv", "arguments": []}, survey_id=survey_id,
                             user=owner)
    assert job.status is JobStatus.FAILED and job.error == "The job could not be started (ConnectionError)."
    assert any(record.exc_info for record in caplog.records)


def test_work_functions_must_be_found_by_their_import_path():
    def nested(job):
        return None

    assert work_path(run_export) == "survey_plugins.exports.jobs:run_export"
    with pytest.raises(ValueError, match="not a module-level function"):
        work_path(nested)


# --- jobs whose runner died ----------------------------------------------------------------------------


def test_a_job_whose_runner_died_is_given_up_when_looked_at(thread_app, owner_and_survey):
    owner, survey_id = owner_and_survey
    client = _client(thread_app, owner)
    running_id = _insert_job(thread_app, owner, survey_id, JobStatus.RUNNING, done=10, total=100)
    queued_id = _insert_job(thread_app, owner, survey_id, JobStatus.QUEUED)
    status = f"/surveys/{SLUG}/export/jobs/{{}}/status"
    assert client.get(status.format(running_id)).get_json()["status"] == "running"
    _age(thread_app, running_id, timedelta(seconds=90))  # a heartbeat is late, not missing
    _age(thread_app, queued_id, timedelta(minutes=30))  # waiting for a busy worker
    assert client.get(status.format(running_id)).get_json()["status"] == "running"
    assert client.get(status.format(queued_id)).get_json()["status"] == "queued"
    _age(thread_app, running_id, timedelta(minutes=3))
    _age(thread_app, queued_id, timedelta(hours=2))
    assert client.get(status.format(running_id)).get_json() == {
        "status": "failed", "done": 10, "total": 100, "text": "The export failed.", "finished": True}
    assert client.get(status.format(queued_id)).get_json()["status"] == "failed"
    page = client.get(f"/surveys/{SLUG}/export/jobs/{running_id}").get_data(as_text=True)
    assert "The job stopped answering" in page and "refresh" not in page


def _insert_job(app, user: User, survey_id: int, status: JobStatus, *, work=run_export, done: int = 0,
                total: int = 0, params: dict | None = None, result_path: str | None = None) -> int:
    with app.app_context():
        session = db.session()
        job = Job(kind=work_path(work), survey_id=survey_id, created_by_id=user.id, status=status, done=done,
                  total=total, params=params or {"format": "xlsx", "arguments": []}, result_path=result_path)
        session.add(job)
        session.commit()
        return job.id


def _age(app, job_id: int, age: timedelta) -> None:
    with app.app_context():
        session = db.session()
        session.execute(update(Job).where(Job.id == job_id).values(updated_at=utcnow() - age))
        session.commit()


# --- privacy and cleanup ------------------------------------------------------------------------------


def test_only_the_starter_of_a_job_sees_it(thread_app, owner_and_survey):
    owner, survey_id = owner_and_survey
    client = _client(thread_app, owner)
    job_url = _start(client)
    _wait(client, job_url)
    other_survey = dict(QUESTIONNAIRE, id="other-survey")
    _survey(thread_app, owner, other_survey, responses=0)
    colleague = _user(thread_app, "staff")
    with thread_app.app_context():
        session = db.session()
        session.add(SurveyMember(survey_id=survey_id, user_id=colleague.id, role=SurveyRole.VIEWER))
        session.commit()
    outsider, colleague_client = _client(thread_app, _user(thread_app)), _client(thread_app, colleague)
    for suffix in ("", "/status", "/file"):
        with client.get(job_url + suffix) as response:
            assert response.status_code == 200
        assert outsider.get(job_url + suffix).status_code == 404  # no access to the survey at all
        assert colleague_client.get(job_url + suffix).status_code == 404  # may export, but this job is not theirs
        assert client.get(job_url.replace(SLUG, "other-survey") + suffix).status_code == 404
    assert colleague_client.get(f"/surveys/{SLUG}/export/xlsx").status_code == 200  # the colleague's own offer
    other_kind = _insert_job(thread_app, owner, survey_id, JobStatus.DONE, work=chatty_work)
    assert client.get(f"/surveys/{SLUG}/export/jobs/{other_kind}").status_code == 404  # not an export


def test_old_jobs_and_files_are_removed_when_a_job_starts(thread_app, owner_and_survey):
    owner, survey_id = owner_and_survey
    folder = jobs_folder(thread_app)
    folder.mkdir()
    long_ago = time.time() - RETENTION.total_seconds() - 60
    for name in ("old.xlsx", "orphan.csv", "recent.xlsx"):
        (folder / name).write_bytes(b"x")
    for name in ("old.xlsx", "orphan.csv"):
        os.utime(folder / name, (long_ago, long_ago))
    old = _insert_job(thread_app, owner, survey_id, JobStatus.DONE, result_path="old.xlsx")
    _age(thread_app, old, RETENTION + timedelta(minutes=1))
    recent = _insert_job(thread_app, owner, survey_id, JobStatus.DONE, result_path="recent.xlsx")
    client = _client(thread_app, owner)
    with client.get(f"/surveys/{SLUG}/export/jobs/{old}/file") as response:
        assert response.status_code == 200  # kept until a job starts
    job_url = _start(client)
    _wait(client, job_url)
    assert client.get(f"/surveys/{SLUG}/export/jobs/{old}").status_code == 404
    with client.get(f"/surveys/{SLUG}/export/jobs/{recent}/file") as response:
        assert response.status_code == 200
    new = _job(thread_app, _job_id(job_url)).result_path
    assert sorted(path.name for path in folder.iterdir()) == sorted(["recent.xlsx", new])


# --- RQ ------------------------------------------------------------------------------------------------


def test_with_redis_a_large_export_waits_for_an_rq_worker(rq_app):
    owner = _user(rq_app)
    survey_id = _survey(rq_app, owner)
    client = _client(rq_app, owner)
    job_url = _start(client)
    assert client.get(job_url + "/status").get_json() == {
        "status": "queued", "done": 0, "total": 0, "text": "Waiting to start…", "finished": False}
    assert _start(client) == job_url  # pressed again: the same job, not a second one
    assert '<progress id="export-progress">' in client.get(job_url).get_data(as_text=True)  # indeterminate
    redis = Redis.from_url(REDIS_URL)
    assert redis.llen(f"rq:queue:{rq_app.config['JOB_QUEUE']}") == 1
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    try:  # the real command, forking a work horse per job; it installs its own signal handlers
        result = CliRunner().invoke(build_cli(rq_app), ["worker", "--burst"], catch_exceptions=False)
    finally:
        signal.signal(signal.SIGINT, handlers[0])
        signal.signal(signal.SIGTERM, handlers[1])
    assert result.exit_code == 0, result.output
    state = client.get(job_url + "/status").get_json()
    assert state == {"status": "done", "done": 13, "total": 13, "text": "The file is ready.", "finished": True}
    _download_and_check(rq_app, client, job_url, survey_id, expected_ids=13)
    assert redis.llen(f"rq:queue:{rq_app.config['JOB_QUEUE']}") == 0


def test_the_worker_command_needs_redis(thread_app):
    result = CliRunner().invoke(build_cli(thread_app), ["worker", "--burst"])
    assert result.exit_code == 2 and "REDIS_URL is not set" in result.output
