"""An export as asked for in query arguments: the download route's own, or those a background export kept.

Arguments: the results page's filters (``status``, ``from``, ``to``,
``version``, ``where``, ``breakdown``, parsed by the results page's own
parser), ``lang`` (a questionnaire language), ``codes=1`` (codes instead of
labels), ``joined=0`` (no joined multiple-choice columns), ``summary=0`` (no
Summary sheet) and ``table`` (for CSV: a repeat group's id).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import IO

from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from survey_app.contributions import ExportFormat
from survey_app.models import Survey
from survey_app.questionnaire import Questionnaire
from survey_app.results.tables import ResultFilters
from survey_app.results.views import breakdown_variables, parse_filters
from survey_app.surveys import questionnaire_of

from .columns import load_versions
from .options import ExportOptions, ExportReport, Progress, option_problems


@dataclass(frozen=True)
class ExportRequest:
    """One survey's export in one format, with its filters and options."""

    survey_id: int
    export_format: ExportFormat
    questionnaire: Questionnaire
    filters: ResultFilters
    options: ExportOptions

    def write(self, target: IO[bytes], session: Session, progress: Progress | None = None) -> ExportReport:
        """Write the export into the binary file ``target``, calling ``progress(done, total)`` as it goes."""
        return self.export_format.write(target=target, survey_id=self.survey_id, questionnaire=self.questionnaire,
                                        filters=self.filters, session=session,
                                        progress=progress or (lambda done, total: None), options=asdict(self.options))


def options_from(args: MultiDict) -> ExportOptions:
    """Export options from query arguments (``lang``, ``codes``, ``joined``, ``summary``, ``table``)."""
    return ExportOptions(language=args.get("lang") or None, codes=args.get("codes") in ("1", "true"),
                         joined=args.get("joined") not in ("0", "false"), table=args.get("table") or None,
                         summary=args.get("summary") not in ("0", "false"))


def read_request(session: Session, survey: Survey, export_format: ExportFormat,
                 args: MultiDict) -> tuple[ExportRequest, list[str]]:
    """The export of ``survey`` (which has a published version) that ``args`` ask for, and every argument that
    cannot be honoured (an export with problems must not be written)."""
    questionnaire = questionnaire_of(survey.latest_version)
    filters, problems = parse_filters(args, questionnaire, [version.number for version in survey.versions],
                                      breakdown_variables(questionnaire))
    options = options_from(args)
    problems += option_problems(options, load_versions(session, survey.id))
    return ExportRequest(survey.id, export_format, questionnaire, filters, options), problems
