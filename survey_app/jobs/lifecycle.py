"""A job's life as the web sees it: started, looked at (and given up on if its runner died), forgotten after a day."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from survey_app import db
from survey_app.jobs.files import jobs_folder, remove_files_before
from survey_app.jobs.runners import dispatch
from survey_app.jobs.running import RunningJob, work_path
from survey_app.models import Job, JobStatus, User
from survey_app.models.types import utcnow

log = logging.getLogger(__name__)

#: Jobs and their files are deleted this long after their last change.
RETENTION = timedelta(hours=24)
#: A running job whose row was not touched for this long has died (its heartbeat comes every 10 seconds).
STALE_RUNNING = timedelta(minutes=2)
#: A job still queued after this long will not be run (no RQ worker, or the web process died before starting it).
STALE_QUEUED = timedelta(hours=1)


def start_job(session: Session, work: Callable[[RunningJob], Any], params: dict[str, Any], *,
              survey_id: int | None = None, user: User | None = None) -> Job:
    """Record a job that calls ``work(running_job)`` and start it; commits ``session`` and returns the job.

    ``work`` is a module-level function (its import path is stored, so an RQ
    worker can find it); ``params`` is JSON. The same job (work, params,
    survey and user) still under way is returned instead of starting it twice.
    Jobs and files past their retention are removed first. A job that cannot
    be queued (Redis away) is returned already failed.
    """
    app = current_app._get_current_object()
    kind = work_path(work)
    user_id = user.id if user is not None else None
    under_way = session.execute(select(Job).where(
        Job.kind == kind, Job.survey_id == survey_id, Job.created_by_id == user_id,
        Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))).scalars()
    same = next((job for job in under_way if job.params == params and not _stale(job)), None)
    if same is not None:
        return same
    cutoff = utcnow() - RETENTION
    db.begin_write(session)
    session.execute(delete(Job).where(Job.updated_at < cutoff))
    job = Job(kind=kind, params=params, survey_id=survey_id, created_by_id=user_id, status=JobStatus.QUEUED, done=0,
              total=0)
    session.add(job)
    session.commit()
    remove_files_before(jobs_folder(app), cutoff.timestamp())
    try:
        dispatch(app, job.id)
    except Exception as error:  # noqa: BLE001 - the page says so rather than a 500
        log.exception("job %s could not be started", job.id)
        _give_up(session, job, f"The job could not be started ({type(error).__name__}).")
    return job


def find_job(session: Session, job_id: int, work: Callable[[RunningJob], Any], *, survey_id: int,
             user: User) -> Job | None:
    """The job ``job_id`` if it runs ``work`` for survey ``survey_id`` and ``user`` started it, else None.

    A job whose runner stopped answering (see :data:`STALE_RUNNING`,
    :data:`STALE_QUEUED`) is marked failed first, so its page does not wait forever.
    """
    job = session.get(Job, job_id)
    if job is None or job.kind != work_path(work) or job.survey_id != survey_id or job.created_by_id != user.id:
        return None
    if _stale(job):
        _give_up(session, job, "The job stopped answering (its worker may have been restarted); start it again.")
    return job


def _stale(job: Job) -> bool:
    """Whether ``job`` is unfinished and its runner has not touched it for too long."""
    limit = {JobStatus.RUNNING: STALE_RUNNING, JobStatus.QUEUED: STALE_QUEUED}.get(job.status)
    return limit is not None and utcnow() - job.updated_at > limit


def _give_up(session: Session, job: Job, error: str) -> None:
    """Mark ``job`` failed, unless its row changed meanwhile (a heartbeat came after all)."""
    db.begin_write(session)
    session.execute(update(Job).where(Job.id == job.id, Job.status == job.status, Job.updated_at == job.updated_at)
                    .values(status=JobStatus.FAILED, error=error, updated_at=utcnow())
                    .execution_options(synchronize_session=False))
    session.commit()
    session.refresh(job)
