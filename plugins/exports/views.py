"""The download route: ``GET /surveys/<slug>/export/<format>``, for users who may read the survey's results.

Query arguments: the results page's filters (``status``, ``from``, ``to``,
``version``, ``where``, ``breakdown``, parsed by the results page's own
parser), ``lang`` (a questionnaire language), ``codes=1`` (codes instead of
labels), ``joined=0`` (no joined multiple-choice columns), ``summary=0`` (no
Summary sheet) and ``table`` (for CSV: a repeat group's id). An argument that cannot be honoured is a 400, never
silently dropped. The file is written to an anonymous temporary file and
streamed from there; anyone else gets the same 404 as for a missing survey.
"""
from __future__ import annotations

import tempfile
from dataclasses import asdict

from flask import Blueprint, Response, abort, request, send_file
from flask_login import login_required
from werkzeug.datastructures import MultiDict

from survey_app import db, plugins
from survey_app.access import Permission, survey_or_404
from survey_app.results.views import breakdown_variables, parse_filters
from survey_app.surveys import questionnaire_of

from .columns import load_versions
from .options import ExportOptions, option_problems

blueprint = Blueprint("exports", __name__)


def options_from(args: MultiDict) -> ExportOptions:
    """Export options from query arguments (``lang``, ``codes``, ``joined``, ``summary``, ``table``)."""
    return ExportOptions(language=args.get("lang") or None, codes=args.get("codes") in ("1", "true"),
                         joined=args.get("joined") not in ("0", "false"), table=args.get("table") or None,
                         summary=args.get("summary") not in ("0", "false"))


@blueprint.get("/surveys/<slug>/export/<name>")
@login_required
def download(slug: str, name: str) -> Response:
    """The survey's responses in the export format ``name``, as a file download."""
    survey = survey_or_404(slug, Permission.RESULTS)
    export_format = plugins.export_formats().get(name)
    if export_format is None or survey.latest_version is None:
        abort(404)
    session = db.session()
    questionnaire = questionnaire_of(survey.latest_version)
    filters, problems = parse_filters(request.args, questionnaire, [version.number for version in survey.versions],
                                      breakdown_variables(questionnaire))
    options = options_from(request.args)
    problems += option_problems(options, load_versions(session, survey.id))
    if problems:
        abort(400, " ".join(problems))
    target = tempfile.TemporaryFile()
    try:
        export_format.write(target=target, survey_id=survey.id, questionnaire=questionnaire, filters=filters,
                            session=session, progress=lambda done, total: None,
                            options=asdict(options))
        target.seek(0)
    except BaseException:
        target.close()
        raise
    response = send_file(target, mimetype=export_format.media_type, as_attachment=True,
                         download_name=export_format.filename(survey.slug), max_age=0)
    response.headers["Cache-Control"] = "no-store"
    return response
