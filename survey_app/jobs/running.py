"""Running one job: claim its row, call its work function, record its progress and how it ended.

The work function runs in an app context of its own with a fresh database
session. Its row is written through other sessions: the work's session may
hold a long read (an export's cursor) that must not be committed under it.
"""
from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from survey_app import db
from survey_app.jobs.files import jobs_folder, new_file
from survey_app.models import Job, JobStatus
from survey_app.models.types import utcnow

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5  # seconds: progress reaches the database at most this often
HEARTBEAT_INTERVAL = 10.0  # seconds: a running job's row is touched at least this often, progress or not
MAX_ERROR = 1000  # characters of an error kept for the job's page


class JobFailed(Exception):
    """Raised by a work function to fail its job with this message for the user (nothing is logged)."""


@dataclass
class RunningJob:
    """What a work function receives: its job's parameters, a session, a progress callback, a result file.

    ``progress(done, total)`` may be called as often as the work likes (it only
    keeps the numbers; they are written at most every half second).
    """

    id: int
    survey_id: int | None
    created_by_id: int | None
    params: dict[str, Any]
    session: Session
    progress: Callable[[int, int], None]
    folder: Path
    result_name: str | None = field(default=None, init=False)

    def result_file(self, extension: str) -> Path:
        """The path to write the job's result to (a new file named ``*.extension``), offered for download when the
        job is done. A job has one result file."""
        if self.result_name is not None:
            raise RuntimeError("a job has one result file")
        path = new_file(self.folder, extension)
        self.result_name = path.name
        return path


def work_path(work: Callable[[RunningJob], Any]) -> str:
    """The import path (``package.module:function``) stored as a job's ``kind``; ``work`` must be module-level."""
    path = f"{work.__module__}:{work.__qualname__}"
    if _work_function(path) is not work:
        raise ValueError(f"{path} is not a module-level function: a worker could not find it")
    if len(path) > Job.kind.type.length:
        raise ValueError(f"the import path of a work function is limited to {Job.kind.type.length} characters: {path}")
    return path


def _work_function(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name, None)


def execute(app: Flask, job_id: int) -> None:
    """Run the queued job ``job_id`` of ``app`` to its end, done or failed; a job not queued any more is left alone."""
    sessions = db.database(app).sessions
    job = _claim(sessions, job_id)
    if job is None:
        return
    reporter = _Reporter(sessions, job_id)
    running = None
    status, error = JobStatus.DONE, None
    try:
        with app.app_context():
            running = RunningJob(job.id, job.survey_id, job.created_by_id, job.params, db.session(), reporter.report,
                                 jobs_folder(app))
            work = _work_function(job.kind)
            if work is None:
                raise LookupError(f"there is no work function {job.kind}")
            work(running)
    except JobFailed as failure:
        status, error = JobStatus.FAILED, str(failure)
    except Exception as failure:  # noqa: BLE001 - whatever went wrong, the job must end and say so
        log.exception("job %s (%s) failed", job_id, job.kind)
        status, error = JobStatus.FAILED, f"{type(failure).__name__}: {failure}"
    finally:
        reporter.stop()
    result = running.result_name if running is not None else None
    if status is JobStatus.FAILED and result is not None:
        (running.folder / result).unlink(missing_ok=True)
        result = None
    _finish(sessions, job_id, status, error, result, reporter.latest)


def _claim(sessions: sessionmaker[Session], job_id: int) -> Job | None:
    """Mark the job running if it is still queued (one runner wins); its row, or None."""
    with sessions() as session:
        db.begin_write(session)
        claimed = session.execute(update(Job).where(Job.id == job_id, Job.status == JobStatus.QUEUED)
                                  .values(status=JobStatus.RUNNING, updated_at=utcnow())).rowcount
        session.commit()
        return session.get(Job, job_id) if claimed else None


def _finish(sessions: sessionmaker[Session], job_id: int, status: JobStatus, error: str | None,
            result_name: str | None, progress: tuple[int, int] | None) -> None:
    """Record how the job ended (even if it was given up on meanwhile: the truth wins)."""
    values: dict[str, Any] = {"status": status, "error": error and error[:MAX_ERROR], "result_path": result_name,
                              "updated_at": utcnow()}
    if progress is not None:
        values["done"], values["total"] = progress
    with sessions() as session:
        db.begin_write(session)
        session.execute(update(Job).where(Job.id == job_id).values(**values))
        session.commit()


class _Reporter:
    """Writes a running job's progress to its row from a thread of its own: the latest numbers at most every
    ``PROGRESS_INTERVAL``, and a heartbeat at least every ``HEARTBEAT_INTERVAL``, so that a job that died can be
    told from a slow one (see :func:`survey_app.jobs.lifecycle.find_job`)."""

    def __init__(self, sessions: sessionmaker[Session], job_id: int):
        self.sessions, self.job_id = sessions, job_id
        self.latest: tuple[int, int] | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"job-{job_id}-progress", daemon=True)
        self._thread.start()

    def report(self, done: int, total: int) -> None:
        """Keep the latest numbers (the work's callback: cheap, call it as often as you like)."""
        self.latest = (done, total)

    def stop(self) -> None:
        """Stop writing; the caller writes the final state."""
        self._stopped.set()
        self._thread.join()

    def _run(self) -> None:
        written, written_at = None, time.monotonic()
        while not self._stopped.wait(PROGRESS_INTERVAL):
            latest = self.latest
            if latest == written and time.monotonic() - written_at < HEARTBEAT_INTERVAL:
                continue
            try:
                self._write(latest)
            except Exception as error:  # noqa: BLE001 - a busy database delays progress, never the job
                log.warning("job %s: progress not recorded: %s", self.job_id, error)
                continue
            written, written_at = latest, time.monotonic()

    def _write(self, latest: tuple[int, int] | None) -> None:
        values: dict[str, Any] = {"updated_at": utcnow()}
        if latest is not None:
            values["done"], values["total"] = latest
        with self.sessions() as session:
            db.begin_write(session)
            session.execute(update(Job).where(Job.id == self.job_id, Job.status == JobStatus.RUNNING)
                            .values(**values))
            session.commit()
