"""A background export's pages, ``/surveys/<slug>/export/jobs/<id>``: progress, status as JSON, the file.

The page shows a ``<progress>`` bar and reloads itself (a ``<noscript>`` meta
refresh, or the core's ``js/job_progress.js`` polling ``.../status``) until the job is done, then
offers the file. A job is its starter's: anyone else, or a user who lost the
right to read the survey's results, gets a 404.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, render_template, send_file
from flask_babel import format_number
from flask_babel import gettext as _
from flask_login import current_user, login_required

from survey_app import db, plugins
from survey_app.access import Permission, survey_or_404
from survey_app.jobs import find_job, result_file
from survey_app.models import Job, JobStatus, Survey

from .jobs import run_export

blueprint = Blueprint("export_jobs", __name__, template_folder="templates")


@blueprint.get("/surveys/<slug>/export/jobs/<int:job_id>")
@login_required
def job(slug: str, job_id: int) -> str:
    """The job's page: its progress, then the download link or what went wrong."""
    survey, found = _job_or_404(slug, job_id)
    return render_template("exports/job.html", survey=survey, job=found, state=_state(found),
                           ready=result_file(found) is not None)


@blueprint.get("/surveys/<slug>/export/jobs/<int:job_id>/status")
@login_required
def status(slug: str, job_id: int) -> Response:
    """The job's state as JSON, for the page's script: ``status``, ``done``, ``total``, ``text``, ``finished``."""
    _survey, found = _job_or_404(slug, job_id)
    response = jsonify(_state(found))
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.get("/surveys/<slug>/export/jobs/<int:job_id>/file")
@login_required
def file(slug: str, job_id: int) -> Response:
    """The finished job's file, as a download."""
    survey, found = _job_or_404(slug, job_id)
    path = result_file(found)
    export_format = plugins.export_formats().get(found.params.get("format"))
    if path is None or export_format is None:
        abort(404)
    response = send_file(path, mimetype=export_format.media_type, as_attachment=True,
                         download_name=export_format.filename(survey.slug), max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


def _job_or_404(slug: str, job_id: int) -> tuple[Survey, Job]:
    """The survey (if the user may read its results) and the user's export job ``job_id`` of it; else 404."""
    survey = survey_or_404(slug, Permission.RESULTS)
    found = find_job(db.session(), job_id, run_export, survey_id=survey.id, user=current_user)
    if found is None:
        abort(404)
    return survey, found


def _state(found: Job) -> dict:
    """What the page and its script show of the job."""
    if found.status is JobStatus.QUEUED:
        text = _("Waiting to start…")
    elif found.status is JobStatus.RUNNING:
        text = _("%(done)s of %(total)s responses written", done=format_number(found.done),
                 total=format_number(found.total)) if found.total else _("Starting…")
    elif found.status is JobStatus.DONE:
        text = _("The file is ready.")
    else:
        text = _("The export failed.")
    return {"status": found.status.value, "done": found.done, "total": found.total, "text": text,
            "finished": found.status in (JobStatus.DONE, JobStatus.FAILED)}
