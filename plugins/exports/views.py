"""The download route, ``/surveys/<slug>/export/<format>``, for users who may read the survey's results.

``GET`` with the query arguments of :mod:`.request`: an export of at most
``EXPORT_BACKGROUND_THRESHOLD`` responses (a setting, default 5,000) is written to an
anonymous temporary file and streamed from there; a larger one gets a page
offering to prepare it in the background, whose button ``POST``s the same URL
to start the job and go to its page (:mod:`.job_pages`). An argument that
cannot be honoured is a 400, never silently dropped; anyone who may not read
the results gets the same 404 as for a missing survey.
"""
from __future__ import annotations

import tempfile

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, send_file, url_for
from flask_babel import format_number
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from survey_app import db, plugins
from survey_app.access import Permission, survey_or_404
from survey_app.jobs import start_job
from survey_app.models import Survey
from survey_app.questionnaire.texts import localize

from .jobs import export_params, run_export
from .request import ExportRequest, read_request
from .rows import count_responses

blueprint = Blueprint("exports", __name__, template_folder="templates")


@blueprint.get("/surveys/<slug>/export/<name>")
@login_required
def download(slug: str, name: str) -> Response | str:
    """The survey's responses in the export format ``name``, as a file download (or, when many, the offer to
    prepare the file in the background)."""
    survey, export_request = _requested(slug, name)
    session = db.session()
    count = count_responses(session, survey.id, export_request.filters)
    if count > current_app.config["EXPORT_BACKGROUND_THRESHOLD"]:
        return render_template("exports/start.html", survey=survey, count=format_number(count),
                               export_format=export_request.export_format)
    target = tempfile.TemporaryFile()
    try:
        export_request.write(target, session)
        target.seek(0)
    except BaseException:
        target.close()
        raise
    response = send_file(target, mimetype=export_request.export_format.media_type, as_attachment=True,
                         download_name=export_request.export_format.filename(survey.slug), max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/surveys/<slug>/export/<name>")
@login_required
def start(slug: str, name: str) -> Response:
    """Start preparing the export in the background and go to its page."""
    survey, _export_request = _requested(slug, name)
    job = start_job(db.session(), run_export, export_params(name, request.args), survey_id=survey.id,
                    user=current_user)
    return redirect(url_for("export_jobs.job", slug=survey.slug, job_id=job.id))


def _requested(slug: str, name: str) -> tuple[Survey, ExportRequest]:
    """The survey (404 unless the user may read its results) and the export the query arguments ask for (400 if
    they cannot be honoured)."""
    survey = survey_or_404(slug, Permission.RESULTS)
    export_format = plugins.export_formats().get(name)
    if export_format is None or survey.latest_version is None:
        abort(404)
    export_request, problems = read_request(db.session(), survey, export_format, request.args)
    if problems:
        abort(400, " ".join(problems))
    return survey, export_request


def download_links(language: str) -> Markup:
    """The results page's download links: one per export format, for its survey and with its filters."""
    query = request.query_string.decode("utf-8", "replace")
    items = Markup("").join(
        Markup('<li><a href="{}">{}</a></li>').format(
            url_for("exports.download", slug=request.view_args["slug"], name=name) + (f"?{query}" if query else ""),
            localize(export_format.label, language, "en"))
        for name, export_format in plugins.export_formats().items())
    return Markup('<nav class="downloads" aria-labelledby="downloads"><h2 id="downloads">{}</h2><ul>{}</ul></nav>'
                  ).format(_("Download the responses"), items)
