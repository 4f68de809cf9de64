"""The Excel export: a workbook written row by row with xlsxwriter in constant-memory mode.

Sheets: "Responses" (header frozen, autofilter), one per repeat group (linked
by ``_response_id``), "Codebook" (:mod:`.codebook`) and, unless the
``summary`` option is off, "Summary" (:mod:`.summary`). A table that outgrows Excel's 1,048,576 rows continues on
"Responses (2)" and so on. Every text goes through :func:`.safety.safe_text`
and is written with ``write_string`` (with a quote prefix when a spreadsheet
would read it as a formula); numbers, dates and times are written as such.
Every write's return code is checked.
"""
from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import IO, Any

import xlsxwriter
from sqlalchemy.orm import Session
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from survey_app.questionnaire import Questionnaire
from survey_app.results.tables import ResultFilters

from . import codebook, summary
from .columns import Plan, Table, build_plan, export_locale, load_versions, metric_columns
from .options import ExportOptions, ExportReport, Progress
from .rows import count_responses, response_rows
from .safety import SafeTexts, checked, sheet_name

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
WORKBOOK_OPTIONS = {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                    "strings_to_numbers": False}
MAX_ROWS = 1_048_576
RESERVED_SHEETS = ("Codebook", "Summary")
WIDTHS = {"id": 10, "code": 16, "flag": 9, "number": 11, "date": 12, "datetime": 19, "text": 32}
HEADER_HEIGHT = 48


class Formats:
    """The workbook's cell formats (each text style as a (plain, quote-prefixed) pair) and its safe texts."""

    def __init__(self, workbook: Workbook):
        self.safe = SafeTexts()
        def pair(properties: dict[str, Any]) -> tuple[Any, Any]:
            plain = workbook.add_format(properties) if properties else None
            return plain, workbook.add_format({**properties, "quote_prefix": True})

        header = {"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#E8EEF4", "bottom": 1}
        self.text = {"cell": pair({}), "header": pair(header), "bold": pair({"bold": True}),
                     "title": pair({"bold": True, "font_size": 14})}
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.percent = workbook.add_format({"num_format": "0.0%"})
        self.decimal = workbook.add_format({"num_format": "0.00"})


class SafeSheet:
    """A worksheet whose every write is made cell-safe and checked."""

    def __init__(self, worksheet: Worksheet, formats: Formats, report: ExportReport):
        self.worksheet, self.formats, self.report = worksheet, formats, report
        self.name = worksheet.get_name()

    def write(self, row: int, column: int, value: Any, style: str = "cell", number_format: Any = None) -> None:
        """Write one value by its type: text (made safe), number, date, datetime; None writes nothing."""
        self.write_row(row, (value,), style, column, number_format)

    def write_row(self, row: int, values: Sequence[Any], style: str = "cell", first_column: int = 0,
                  number_format: Any = None) -> None:
        """Write values from ``first_column`` on, as :meth:`write` does (one loop: the export's hot path)."""
        worksheet, formats, safe_text = self.worksheet, self.formats, self.formats.safe
        plain, literal = formats.text[style]
        for column, value in enumerate(values, first_column):
            kind = type(value)
            if value is None:
                continue
            if (kind is int or kind is float) and math.isfinite(value):
                code = worksheet.write_number(row, column, value, number_format)
            elif kind is datetime:
                code = worksheet.write_datetime(row, column, value, formats.datetime)
            elif kind is date:
                code = worksheet.write_datetime(row, column, value, formats.date)
            else:  # text, and anything else (true/false, NaN) written as its text
                safe = safe_text(value if kind is str else str(value))
                code = worksheet.write_string(row, column, safe.text, literal if safe.literal else plain)
                if safe.truncated:
                    self.report.truncated += 1
            if code:
                checked(code, self.name, row, column)


class TableWriter:
    """Writes one table to a sheet (header, widths, frozen header, autofilter), continuing on new sheets when full."""

    def __init__(self, workbook: Workbook, formats: Formats, report: ExportReport, table: Table,
                 max_rows: int = MAX_ROWS):
        self.workbook, self.formats, self.report, self.table, self.max_rows = workbook, formats, report, table, max_rows
        self.sheets: list[tuple[SafeSheet, int]] = []  # each sheet with its rows written (header included)
        self._start_sheet()

    def _start_sheet(self) -> None:
        if self.sheets:
            self._finish_sheet()
        name = sheet_name(self.table.name, [*self.workbook.sheetnames, *RESERVED_SHEETS])
        sheet = SafeSheet(self.workbook.add_worksheet(name), self.formats, self.report)
        for index, column in enumerate(self.table.columns):
            checked(sheet.worksheet.set_column(index, index, WIDTHS[column.kind]), name, 0, index)
        checked(sheet.worksheet.set_row(0, HEADER_HEIGHT), name, 0, 0)
        sheet.write_row(0, [column.header for column in self.table.columns], "header")
        sheet.worksheet.freeze_panes(1, 0)
        self.sheets.append((sheet, 1))

    def write(self, values: Sequence[Any]) -> None:
        """Append one row."""
        sheet, row = self.sheets[-1]
        if row >= self.max_rows:
            self._start_sheet()
            sheet, row = self.sheets[-1]
        sheet.write_row(row, values)
        self.sheets[-1] = (sheet, row + 1)

    def _finish_sheet(self) -> None:
        sheet, rows = self.sheets[-1]
        checked(sheet.worksheet.autofilter(0, 0, rows - 1, max(len(self.table.columns) - 1, 0)), sheet.name, 0, 0)
        self.report.rows[sheet.name] = rows - 1

    def close(self) -> None:
        """Add the last sheet's autofilter and count its rows."""
        self._finish_sheet()


def write_workbook(target: IO[bytes], survey_id: int, questionnaire: Questionnaire, filters: ResultFilters,
                   session: Session, progress: Progress | None = None,
                   options: Mapping[str, Any] | None = None) -> ExportReport:
    """Write the survey's responses (passing ``filters``) as an xlsx workbook into ``target``.

    ``questionnaire`` (the latest version) gives the Summary's tables; the
    columns come from every version. Raises :class:`.safety.ExportError` when a
    write fails, ValueError for a language the questionnaire does not have.
    """
    chosen = ExportOptions.of(options)
    language = chosen.language or questionnaire.default_language
    versions = load_versions(session, survey_id)
    report = ExportReport()
    with export_locale(language):
        plan = build_plan(versions, metric_columns(versions), language=language, codes=chosen.codes,
                          joined=chosen.joined)
        if language not in plan.languages:
            raise ValueError(f"the questionnaire has no language {language!r}")
        workbook = xlsxwriter.Workbook(target, WORKBOOK_OPTIONS)
        try:
            formats = Formats(workbook)
            _write_tables(workbook, formats, report, plan, session, survey_id, filters, chosen, progress)
            codebook.write_codebook(SafeSheet(workbook.add_worksheet("Codebook"), formats, report), plan)
            if chosen.summary:
                summary.write_summary(workbook, SafeSheet(workbook.add_worksheet("Summary"), formats, report), plan,
                                      survey_id, questionnaire, filters, session, report)
        except BaseException:
            with contextlib.suppress(Exception):  # release its temporary files; the first error is the one to see
                workbook.close()
            raise
        workbook.close()
    return report


def _write_tables(workbook: Workbook, formats: Formats, report: ExportReport, plan: Plan, session: Session,
                  survey_id: int, filters: ResultFilters, chosen: ExportOptions, progress: Progress | None) -> None:
    """The Responses sheet and the repeat groups' sheets, written side by side, response by response."""
    total = count_responses(session, survey_id, filters)
    main = TableWriter(workbook, formats, report, plan.responses)
    repeats = {table.repeat_id: TableWriter(workbook, formats, report, table) for table in plan.repeats}
    report_progress = (lambda done: progress(done, total)) if progress is not None else None
    for row, repeat_rows in response_rows(plan, session, survey_id, filters, chosen.batch_size, report_progress):
        main.write(row)
        for repeat_id, rows in repeat_rows.items():
            for entry_row in rows:
                repeats[repeat_id].write(entry_row)
        report.responses += 1
    for writer in (main, *repeats.values()):
        writer.close()
