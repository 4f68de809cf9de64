"""The CSV exports: the Responses table (or one repeat group's table) as RFC 4180 CSV.

Same columns and values as the xlsx export's sheets. Two variants: "csv" for
Excel (UTF-8 with a byte-order mark, so Excel reads the encoding; texts cut at
Excel's 32,767 characters with a marker) and "csv-plain" (UTF-8, texts whole).
Every text field is quoted, and one a spreadsheet would read as a formula is
prefixed with ``'`` (see :mod:`.safety`); numbers stay unquoted; dates are ISO
8601, times ``YYYY-MM-DD HH:MM:SS`` in UTC.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import IO, Any

from sqlalchemy.orm import Session

from survey_app.questionnaire import Questionnaire
from survey_app.results.tables import ResultFilters

from .columns import build_plan, export_locale, load_versions, metric_columns
from .options import ExportOptions, ExportReport, Progress
from .rows import count_responses, response_rows
from .safety import EXCEL_MAX_TEXT, SafeTexts

MEDIA_TYPE = "text/csv; charset=utf-8"


def write_csv(target: IO[bytes], survey_id: int, questionnaire: Questionnaire, filters: ResultFilters,
              session: Session, progress: Progress | None = None, options: Mapping[str, Any] | None = None, *,
              bom: bool = True) -> ExportReport:
    """Write the survey's responses (passing ``filters``) as CSV into the binary file ``target``.

    ``bom``: the Excel variant (byte-order mark, texts cut at Excel's limit).
    ``options["table"]`` names a repeat group to export its table instead.
    Raises ValueError for an unknown language or repeat group.
    """
    chosen = ExportOptions.of(options)
    language = chosen.language or questionnaire.default_language
    versions = load_versions(session, survey_id)
    with export_locale(language):
        plan = build_plan(versions, metric_columns(versions), language=language, codes=chosen.codes,
                          joined=chosen.joined)
    if language not in plan.languages:
        raise ValueError(f"the questionnaire has no language {language!r}")
    tables = {table.repeat_id: table for table in plan.repeats}
    if chosen.table is not None and chosen.table not in tables:
        raise ValueError(f"the questionnaire has no repeat group {chosen.table!r}")
    table = tables[chosen.table] if chosen.table is not None else plan.responses
    report = ExportReport()
    safe = SafeTexts(EXCEL_MAX_TEXT if bom else None)
    text = io.TextIOWrapper(target, encoding="utf-8-sig" if bom else "utf-8", newline="")
    writer = csv.writer(text, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow([_field(column.header, safe, report) for column in table.columns])
    total = count_responses(session, survey_id, filters)
    report_progress = (lambda done: progress(done, total)) if progress is not None else None
    rows = 0
    for row, repeat_rows in response_rows(plan, session, survey_id, filters, chosen.batch_size, report_progress):
        for values in (repeat_rows.get(chosen.table, ()) if chosen.table is not None else (row,)):
            writer.writerow([_field(value, safe, report) for value in values])
            rows += 1
        report.responses += 1
    report.rows[table.name] = rows
    text.flush()
    text.detach()
    return report


def _field(value: Any, safe_text: SafeTexts, report: ExportReport) -> Any:
    """A value as a CSV field: numbers as numbers, dates in ISO 8601, texts made safe."""
    kind = type(value)
    if value is None or kind is int:
        return value
    if kind is float and math.isfinite(value):
        return int(value) if value.is_integer() and abs(value) < 2 ** 53 else value
    if kind is datetime:
        return value.isoformat(sep=" ", timespec="seconds")
    if kind is date:
        return value.isoformat()
    safe = safe_text(value if kind is str else str(value))
    report.truncated += safe.truncated
    return "'" + safe.text if safe.literal else safe.text
