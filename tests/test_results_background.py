"""The results page counts in the background when too many responses have no kept counts yet.

The survey is the one of ``tests/test_results.py`` (6 complete responses and a
partial one, all kept); the apps here count in the background above 3 responses without
kept counts, in a thread of the web process (no ``REDIS_URL``), two blocks of
two response ids at a time. Every test runs on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import re
import threading
import time

import pytest
from sqlalchemy import func, select

from survey_app import db
from survey_app.models import Job, JobStatus, ResultBlock, Survey
from survey_app.results import background, cache, queries
from survey_app.results.tables import ResultFilters
from survey_app.surveys import questionnaire_of
from tests.helpers import login
from tests.test_results import build_survey

RESULTS = "/surveys/results-test/results"
_STATUS_URL = re.compile(r'data-status-url="(/surveys/results-test/results/counting/\d+)"')


@pytest.fixture
def survey_id(app, make_user, monkeypatch) -> int:
    monkeypatch.setitem(app.config, "RESULTS_BACKGROUND_THRESHOLD", 3)
    monkeypatch.setattr(cache, "BLOCK_SIZE", 2)
    monkeypatch.setattr(cache, "FILL_BLOCKS", 2)
    return build_survey(app, make_user("researcher", email="owner@example.org"))


@pytest.fixture
def owner(app, survey_id):
    """A test client logged in as the survey's owner."""
    client = app.test_client()
    login(client, "owner@example.org")
    return client


def wait_until_finished(client, status_url: str) -> dict:
    """Poll the counting job's status until it says it has finished; its last state."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = client.get(status_url).get_json()
        if state["finished"]:
            return state
        time.sleep(0.05)
    raise AssertionError("the counting job did not finish within 30 s")


def counting_jobs(app) -> list[Job]:
    with app.app_context():
        return list(db.session().execute(select(Job).where(Job.kind == background.work_path(background.fill_counts))
                                         ).scalars())


def test_many_uncounted_responses_are_counted_in_the_background(app, owner, survey_id):
    page = owner.get(f"{RESULTS}?breakdown=gender")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<progress id="counting-progress"' in html and "Gender" not in html
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html  # without JavaScript
    status_url = _STATUS_URL.search(html).group(1)
    state = wait_until_finished(owner, status_url)
    assert (state["done"], state["total"]) == (7, 7)  # r1..r7 (r7 partial), in blocks 0 to 3
    with app.app_context():
        blocks = db.session().execute(select(ResultBlock.block, ResultBlock.responses)
                                      .where(ResultBlock.name == "crosstabs:gender")).all()
    assert sorted(blocks) == [(0, 1), (1, 2), (2, 2), (3, 2)]  # ids 1 | 2 3 | 4 5 | 6 7
    html = owner.get(f"{RESULTS}?breakdown=gender").get_data(as_text=True)
    assert "counting-progress" not in html and "Responses matching the filters: 6" in html
    with app.app_context():  # the page now reads what the job kept, the same as counting afresh
        session = db.session()
        questionnaire = questionnaire_of(session.get(Survey, survey_id).latest_version)
        filters = ResultFilters(breakdown="gender")
        kept = queries.SurveyResults(session, survey_id, questionnaire, filters)
        afresh = queries.SurveyResults(session, survey_id, questionnaire, filters, cached=False)
        assert kept.summary() == afresh.summary() and kept.crosstabs("gender") == afresh.crosstabs("gender")
    [job] = counting_jobs(app)
    assert job.status is JobStatus.DONE and job.params == {"variable": "gender", "within": None}


def test_one_job_serves_every_viewer_of_the_same_counts(app, owner, survey_id, monkeypatch):
    release = threading.Event()
    fill = cache.fill

    def held_fill(*arguments):
        assert release.wait(30)
        fill(*arguments)

    monkeypatch.setattr(cache, "fill", held_fill)
    first = _STATUS_URL.search(owner.get(RESULTS).get_data(as_text=True)).group(1)
    # The same counts (split by gender, the first variable offered) serve every status and that breakdown.
    for query in ("?status=all", "?breakdown=gender", "?breakdown=gender&status=all&version=1"):
        assert _STATUS_URL.search(owner.get(f"{RESULTS}{query}").get_data(as_text=True)).group(1) == first
    by_member = _STATUS_URL.search(owner.get(f"{RESULTS}?breakdown=member").get_data(as_text=True)).group(1)
    assert by_member != first  # counts split by another variable are kept apart
    release.set()
    wait_until_finished(owner, first)
    wait_until_finished(owner, by_member)
    assert "Responses matching the filters: 6" in owner.get(RESULTS).get_data(as_text=True)
    assert len(counting_jobs(app)) == 2


def test_after_a_failed_job_the_page_counts_while_the_user_waits(app, owner, survey_id, monkeypatch):
    def broken_fill(*_arguments):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(cache, "fill", broken_fill)
    status_url = _STATUS_URL.search(owner.get(RESULTS).get_data(as_text=True)).group(1)
    wait_until_finished(owner, status_url)
    html = owner.get(RESULTS).get_data(as_text=True)
    assert "counting-progress" not in html and "Responses matching the filters: 6" in html
    [job] = counting_jobs(app)  # no second job started
    assert job.status is JobStatus.FAILED and "the database went away" in job.error


def test_few_uncounted_responses_are_counted_at_once(app, owner, survey_id, monkeypatch):
    monkeypatch.setitem(app.config, "RESULTS_BACKGROUND_THRESHOLD", 7)
    assert "Responses matching the filters: 6" in owner.get(RESULTS).get_data(as_text=True)
    monkeypatch.setitem(app.config, "RESULTS_BACKGROUND_THRESHOLD", 3)
    assert "Responses matching the filters: 6" in owner.get(RESULTS).get_data(as_text=True)  # kept meanwhile
    assert counting_jobs(app) == []


def test_views_not_served_by_kept_counts_never_wait_for_a_job(app, owner, survey_id):
    html = owner.get(f"{RESULTS}?where=gender:female&where=member:yes").get_data(as_text=True)
    assert "Responses matching the filters: 2" in html  # r1 r6, counted afresh at once
    assert counting_jobs(app) == []
    with app.app_context():
        assert db.session().execute(select(func.count()).select_from(ResultBlock)).scalar_one() == 0


def test_the_status_of_another_surveys_job_is_not_found(app, owner, survey_id, make_user):
    other = make_user("researcher", email="other@example.org")
    other_document = {"id": "other-survey", "version": "1", "languages": ["en"], "title": "Other",
                      "pages": [{"id": "p1", "questions": [{"id": "q", "type": "text", "label": "Q"}]}]}
    build_survey(app, other, other_document, [])
    status_url = _STATUS_URL.search(owner.get(RESULTS).get_data(as_text=True)).group(1)
    job_id = status_url.rsplit("/", 1)[1]
    wait_until_finished(owner, status_url)  # no thread left counting after the test
    login(owner, "other@example.org")
    assert owner.get(f"/surveys/other-survey/results/counting/{job_id}").status_code == 404
