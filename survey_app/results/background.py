"""Counting a survey's results in the background when too many responses have no kept counts yet.

The first results page of a survey with many responses (or the first after a
new version changes what is counted, or by a new breakdown variable) would
count them all while the user waits, perhaps past the web server's timeout.
Above ``RESULTS_BACKGROUND_THRESHOLD`` responses without kept counts, the
page starts a background job (:mod:`survey_app.jobs`) that fills the kept
counts a few blocks at a time (:func:`survey_app.results.cache.fill`) and
shows its progress; once it is done the page reads them. One job per survey
and variable serves every user who opens the page meanwhile.
"""
from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from survey_app.jobs import RunningJob, start_job
from survey_app.jobs.running import work_path
from survey_app.models import Job, JobStatus, Survey
from survey_app.models.types import utcnow
from survey_app.results import cache, counting
from survey_app.results.queries import SurveyResults, counted_questions
from survey_app.surveys import questionnaire_of

#: After a counting job failed, pages count while the user waits for this long rather than start another.
AFTER_FAILURE = timedelta(minutes=10)


def counting_job(results: SurveyResults) -> Job | None:
    """The job filling the kept counts ``results`` needs, started if need be; None when the page should count now.

    None too when its filters are not served by kept counts, when few
    responses lack them, or when such a job failed lately (or cannot start).
    """
    plan = results.plan()
    if not results.cached or not cache.covers(results.filters, plan):
        return None
    with counting.snapshot(results.session.get_bind()) as connection:
        waiting = cache.backlog(connection, results.survey_id, plan)
    if waiting <= max(current_app.config["RESULTS_BACKGROUND_THRESHOLD"], 0):
        return None
    params = {"variable": plan.variable, "within": plan.within}
    if _failed_lately(results, params):
        return None
    job = start_job(results.session, fill_counts, params, survey_id=results.survey_id)
    return None if job.status is JobStatus.FAILED else job


def _failed_lately(results: SurveyResults, params: dict) -> bool:
    """Whether a counting job of the same survey and variable failed in the last :data:`AFTER_FAILURE`."""
    failed = results.session.execute(select(Job.params).where(
        Job.kind == work_path(fill_counts), Job.survey_id == results.survey_id, Job.status == JobStatus.FAILED,
        Job.updated_at > utcnow() - AFTER_FAILURE)).scalars()
    return any(found == params for found in failed)


def fill_counts(job: RunningJob) -> None:
    """Work function: fill the kept counts of the survey's results, split by ``params["variable"]`` and
    ``params["within"]`` (or not)."""
    survey = job.session.get(Survey, job.survey_id)
    if survey is None or survey.latest_version is None:
        return
    plan = counting.full_plan(counted_questions(questionnaire_of(survey.latest_version)), job.params.get("variable"),
                              job.params.get("within"))
    engine = job.session.get_bind()
    job.session.close()  # nothing pending: the counting reads and writes on connections of its own
    cache.fill(engine, survey.id, plan, job.progress)
