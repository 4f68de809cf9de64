"""The RQ worker of ``survey-app worker`` (imported only when it runs: ``rq`` is an optional dependency)."""
from __future__ import annotations

from flask import Flask
from rq import Worker

from survey_app import db
from survey_app.jobs.runners import job_queue


class AppWorker(Worker):
    """RQ's worker, which runs each job in a forked child; the child opens database connections of its own."""

    def main_work_horse(self, job, queue) -> None:
        """Drop the connections inherited from the worker (without closing them: they are the worker's), then work."""
        db.database().engine.dispose(close=False)
        super().main_work_horse(job, queue)


def work(app: Flask, burst: bool) -> None:
    """Run ``app``'s queued jobs until stopped (or, with ``burst``, until the queue is empty); needs an app context."""
    queue = job_queue(app)
    AppWorker([queue], connection=queue.connection).work(burst=burst)
