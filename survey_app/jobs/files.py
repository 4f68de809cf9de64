"""Where jobs' result files live: ``JOBS_FOLDER`` (default ``instance/jobs``), under unguessable names.

A file is only ever found through its job's row, which holds its name; the
random name is a second lock, not the first. Several hosts must share the
folder (like the database) for any of them to serve any job's file.
"""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask, current_app

from survey_app.models import Job, JobStatus


def jobs_folder(app: Flask) -> Path:
    """The folder of ``app``'s result files (made by :func:`new_file` when first needed)."""
    return Path(app.config.get("JOBS_FOLDER") or Path(app.instance_path) / "jobs")


def new_file(folder: Path, extension: str) -> Path:
    """A fresh, unguessable path ending in ``.extension`` in ``folder`` (created, owner-only, if missing)."""
    if not extension.isalnum():
        raise ValueError(f"not a file extension: {extension!r}")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder / f"{secrets.token_urlsafe(24)}.{extension}"


def result_file(job: Job, app: Flask | None = None) -> Path | None:
    """The result file of a finished ``job`` of ``app`` (default: the current app), or None (not done, no file,
    or already removed)."""
    if job.status is not JobStatus.DONE or not job.result_path:
        return None
    path = jobs_folder(app or current_app) / job.result_path
    return path if path.is_file() else None


def remove_files_before(folder: Path, timestamp: float) -> None:
    """Delete the files of ``folder`` (if it exists) last written before ``timestamp`` (seconds since the epoch)."""
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < timestamp:
                path.unlink()
        except FileNotFoundError:
            pass  # another worker cleaned it up first
