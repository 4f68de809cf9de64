"""A background export in Chromium: from the button to the file; the job's page following the job
(with JavaScript by polling its status, without by reloading itself) until the download link; and
axe-core on the progress page. Every export is prepared in the background here (threshold -1)."""
from __future__ import annotations

import io

import openpyxl
import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select, update

from survey_app import db
from survey_app.jobs.running import work_path
from survey_app.models import Job, JobStatus, Response, ResponseStatus, Survey, User
from survey_app.models.types import utcnow
from survey_plugins.exports.jobs import run_export
from tests.browser.test_design_flow import log_in

pytestmark = pytest.mark.browser

SLUG = "citizen-participation"


@pytest.fixture
def background_exports(live_server, tmp_path, monkeypatch):
    """Every export of the live server goes through a background job, its files in ``tmp_path``."""
    monkeypatch.setitem(live_server.app.config, "EXPORT_BACKGROUND_THRESHOLD", -1)
    monkeypatch.setitem(live_server.app.config, "JOBS_FOLDER", str(tmp_path))


def complete_responses(live_server) -> int:
    with live_server.app.app_context():
        session = db.session()
        survey_id = session.execute(select(Survey.id).where(Survey.slug == SLUG)).scalar_one()
        return session.execute(select(func.count()).where(Response.survey_id == survey_id,
                                                          Response.status == ResponseStatus.COMPLETE)).scalar_one()


def test_a_background_export_goes_from_the_button_to_the_file(live_server, tabs, background_exports):
    page = tabs.open(viewport="mobile")
    log_in(page)
    page.goto(f"/surveys/{SLUG}/export/xlsx?codes=1")
    with page.expect_navigation():
        page.get_by_role("button", name="Prepare the file").click()
    assert "/export/jobs/" in page.url
    link = page.get_by_role("link", name="Download the file")
    expect(link).to_be_visible(timeout=15_000)
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == f"{SLUG}.xlsx"
    rows = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes()))["Responses"].max_row
    assert rows == 1 + complete_responses(live_server)


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_the_job_page_follows_the_job_until_its_file_is_ready(live_server, tabs, background_exports, tmp_path,
                                                             javascript):
    job_id = running_job(live_server, done=0, total=100)
    page = tabs.open(javascript=javascript, viewport="mobile")
    log_in(page)
    page.goto(f"/surveys/{SLUG}/export/jobs/{job_id}")
    bar = page.get_by_role("progressbar", name="Progress")
    expect(bar).to_have_attribute("value", "0")
    change_job(live_server, job_id, done=40)
    expect(bar).to_have_attribute("value", "40", timeout=10_000)  # polled, or reloaded after 3 seconds
    expect(page.get_by_role("status")).to_have_text("40 of 100 responses written")
    (tmp_path / "ready.csv").write_text("_id\r\n1\r\n")
    change_job(live_server, job_id, done=100, status=JobStatus.DONE, result_path="ready.csv")
    link = page.get_by_role("link", name="Download the file")
    expect(link).to_be_visible(timeout=10_000)
    expect(bar).to_have_count(0)
    with page.expect_download() as download:
        link.click()
    assert download.value.path().read_bytes() == b"_id\r\n1\r\n"


def test_the_progress_page_passes_axe(live_server, tabs, axe, background_exports):
    job_id = running_job(live_server, done=2500, total=10000)
    page = tabs.open(viewport="desktop", bypass_csp=True)
    log_in(page)
    page.goto(f"/surveys/{SLUG}/export/jobs/{job_id}")
    expect(page.get_by_role("progressbar", name="Progress")).to_have_attribute("value", "2500")
    expect(page.get_by_role("status")).to_have_text("2,500 of 10,000 responses written")
    severe = [violation for violation in axe.violations(page) if violation["impact"] in axe.SEVERE]
    assert not severe, axe.describe(page.url, severe)
    change_job(live_server, job_id, status=JobStatus.FAILED)  # nothing polls it any more


def running_job(live_server, **progress) -> int:
    """A running export job of the researcher's (no thread runs it: the test moves it along)."""
    with live_server.app.app_context():
        session = db.session()
        owner = session.execute(select(User).where(User.email == "researcher@example.org")).scalar_one()
        survey_id = session.execute(select(Survey.id).where(Survey.slug == SLUG)).scalar_one()
        job = Job(kind=work_path(run_export), survey_id=survey_id, created_by_id=owner.id, status=JobStatus.RUNNING,
                  params={"format": "csv", "arguments": []}, **progress)
        session.add(job)
        session.commit()
        return job.id


def change_job(live_server, job_id: int, **values) -> None:
    """Move the job along as its runner would."""
    with live_server.app.app_context():
        session = db.session()
        session.execute(update(Job).where(Job.id == job_id).values(updated_at=utcnow(), **values))
        session.commit()
