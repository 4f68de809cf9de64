"""The background export: the download route's export, run as a job (see :func:`survey_app.jobs.start_job`)."""
from __future__ import annotations

from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from survey_app import plugins
from survey_app.jobs import JobFailed, RunningJob
from survey_app.models import Survey

from .request import read_request


def export_params(format_name: str, args: MultiDict) -> dict:
    """A background export's job parameters: the format and the download route's query arguments."""
    return {"format": format_name, "arguments": [[key, value] for key, value in args.items(multi=True)]}


def run_export(job: RunningJob) -> None:
    """Write the export that the job's parameters (:func:`export_params`) ask for into its result file."""
    survey = job.session.get(Survey, job.survey_id)
    export_format = plugins.export_formats().get(job.params["format"])
    if survey is None or survey.latest_version is None or export_format is None:
        raise JobFailed(_("The survey or the export format is gone."))
    export_request, problems = read_request(job.session, survey, export_format, MultiDict(job.params["arguments"]))
    if problems:
        raise JobFailed(" ".join(problems))
    with job.result_file(export_format.extension).open("wb") as target:
        export_request.write(target, job.session, job.progress)
