"""``survey-app worker``: run background jobs from the Redis queue."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.command("worker")
@click.option("--burst", is_flag=True, help="Quit once the queue is empty.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run background jobs (large exports) from the Redis queue; needs REDIS_URL."""
    if not current_app.config.get("REDIS_URL"):
        raise click.UsageError("REDIS_URL is not set: without it jobs run in the web process, no worker is needed")
    from survey_app.jobs.worker import work

    work(current_app._get_current_object(), burst)
