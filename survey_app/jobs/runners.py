"""Where a job runs: on an RQ worker when the app has ``REDIS_URL``, else in a daemon thread of this process.

The thread needs nothing more than the web process; a job it runs dies with
that process (and is then given up on, see :mod:`.lifecycle`). The RQ queue
(``JOB_QUEUE``) is worked by ``survey-app worker``.
"""
from __future__ import annotations

import threading
from datetime import timedelta

from flask import Flask, current_app

from survey_app.jobs.running import execute

#: How long an RQ worker lets one job run before killing it.
JOB_TIMEOUT = timedelta(hours=6)


def dispatch(app: Flask, job_id: int) -> None:
    """Start the queued job ``job_id``: enqueue it for RQ when ``app`` has ``REDIS_URL``, else run it in a thread."""
    if app.config.get("REDIS_URL"):
        job_queue(app).enqueue(run_queued, job_id, job_timeout=int(JOB_TIMEOUT.total_seconds()), result_ttl=0,
                               failure_ttl=int(timedelta(days=1).total_seconds()))
    else:
        threading.Thread(target=execute, args=(app, job_id), name=f"job-{job_id}", daemon=True).start()


def run_queued(job_id: int) -> None:
    """What an RQ worker runs: the job, in the app of the worker's app context (see ``survey-app worker``)."""
    execute(current_app._get_current_object(), job_id)


def job_queue(app: Flask):
    """The RQ queue of ``app``'s jobs (``rq`` and ``redis`` are imported only when Redis is used)."""
    from redis import Redis
    from rq import Queue

    return Queue(app.config["JOB_QUEUE"], connection=Redis.from_url(app.config["REDIS_URL"]))
