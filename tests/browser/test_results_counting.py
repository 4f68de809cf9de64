"""The results page while a survey's responses are counted in the background, in Chromium: it follows the
counting job (with JavaScript by polling its status, without by reloading itself) until the results show;
and axe-core on the progress page. Every uncounted response is counted in the background here (threshold 0)."""
from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from survey_app import db
from survey_app.jobs.running import work_path
from survey_app.models import Job, JobStatus, Survey
from survey_app.models.types import utcnow
from survey_app.responses.storage import save_page
from survey_app.results.background import fill_counts
from tests.browser.test_design_flow import log_in
from tests.browser.test_export_job import change_job

pytestmark = pytest.mark.browser

SLUG = "citizen-participation"


@pytest.fixture
def counting_job(live_server, monkeypatch) -> int:
    """A new partial response (so some responses lack kept counts), and a running counting job of the survey's
    (no thread runs it: the test moves it along)."""
    monkeypatch.setitem(live_server.app.config, "RESULTS_BACKGROUND_THRESHOLD", 0)
    with live_server.app.app_context():
        session = db.session()
        survey = session.execute(select(Survey).where(Survey.slug == SLUG)).scalar_one()
        save_page(session, survey, survey.latest_version, live_server.questionnaires[SLUG],
                  submission_id=uuid.uuid4().hex, language="en", page_answers={"gender": "female"}, next_page=None)
        job = Job(kind=work_path(fill_counts), survey_id=survey.id, status=JobStatus.RUNNING, done=0, total=0,
                  params={"variable": "gender", "within": None})  # split by the first variable offered
        session.add(job)
        session.commit()
        job_id = job.id
    yield job_id
    with live_server.app.app_context():  # nothing polls it any more
        session = db.session()
        session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.RUNNING)
                        .values(status=JobStatus.FAILED, updated_at=utcnow()))
        session.commit()


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_the_page_follows_the_counting_until_the_results_show(live_server, tabs, counting_job, javascript):
    page = tabs.open(javascript=javascript, viewport="mobile")
    log_in(page)
    page.goto(f"/surveys/{SLUG}/results?lang=en")
    bar = page.get_by_role("progressbar", name="Progress")
    expect(page.get_by_role("status")).to_have_text("Waiting to start…")
    change_job(live_server, counting_job, done=1, total=2)
    expect(bar).to_have_attribute("value", "1", timeout=10_000)  # polled, or reloaded after 3 seconds
    expect(page.get_by_role("status")).to_have_text("1 of 2 responses counted")
    # Done, yet the responses still lack kept counts: the next view starts a real job, which counts them.
    change_job(live_server, counting_job, done=2, status=JobStatus.DONE)
    expect(page.get_by_text("Responses matching the filters")).to_be_visible(timeout=20_000)
    expect(bar).to_have_count(0)


def test_the_counting_page_passes_axe(live_server, tabs, axe, counting_job):
    change_job(live_server, counting_job, done=2500, total=10000)
    page = tabs.open(viewport="desktop", bypass_csp=True)
    log_in(page)
    page.goto(f"/surveys/{SLUG}/results?lang=en")
    expect(page.get_by_role("progressbar", name="Progress")).to_have_attribute("value", "2500")
    expect(page.get_by_role("status")).to_have_text("2,500 of 10,000 responses counted")
    severe = [violation for violation in axe.violations(page) if violation["impact"] in axe.SEVERE]
    assert not severe, axe.describe(page.url, severe)
