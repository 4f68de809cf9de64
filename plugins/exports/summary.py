"""The Summary sheet: what the results page shows, as tables and native Excel charts.

The numbers are the very objects the results page shows: the core's frequency
tables (:func:`survey_app.results.queries.summary`) and the plugins'
``result_sections`` (e.g. the breakdowns plugin's crosstabs when
``filters.breakdown`` is set), counted in SQL with the same filters as the
Responses sheet. Choice questions get a bar chart of their counts, crosstabs
a chart of their column percents. Chart titles and series names refer to
cells, so no untrusted text is ever read as a formula.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from sqlalchemy.orm import Session
from xlsxwriter.workbook import Workbook

from survey_app import plugins
from survey_app.questionnaire import Questionnaire
from survey_app.questionnaire.texts import Text, localize
from survey_app.results.queries import SurveyResults
from survey_app.results.tables import NOT_SHOWN, NOT_STATED, Crosstab, FrequencyTable, ResultFilters
from survey_app.results.views import breakdown_variables, standard_label

from .columns import Plan, naive_utc
from .options import ExportReport

if TYPE_CHECKING:
    from .xlsx import SafeSheet

CHART_TYPES = frozenset({"single_choice", "yes_no", "multiple_choice", "matrix", "ranking", "rating"})
CHART_COLUMN = 7
ROW_HEIGHT_PX = 20


def write_summary(workbook: Workbook, sheet: SafeSheet, plan: Plan, survey_id: int, questionnaire: Questionnaire,
                  filters: ResultFilters, session: Session, report: ExportReport) -> None:
    """Fill ``sheet`` with the survey's results under ``filters`` (call within ``export_locale``)."""
    offered = breakdown_variables(questionnaire)
    counted = SurveyResults(session, survey_id, questionnaire, filters, split=offered[0] if offered else None)
    found = counted.summary()
    returned = plugins.hook().result_sections(survey_id=survey_id, questionnaire=questionnaire, filters=filters,
                                              session=session, results=counted)
    sections = [section for found in returned for section in found or ()]
    writer = _SummaryWriter(workbook, sheet, plan, questionnaire)
    writer.heading(found.responses, filters, report)
    for table in found.tables:
        writer.table(table)
    for section in sections:
        writer.title(writer.text(section.title), "title")
        for table in section.tables:
            writer.table(table)


class _SummaryWriter:
    """Writes blocks one under another, keeping room for each block's chart."""

    def __init__(self, workbook: Workbook, sheet: SafeSheet, plan: Plan, questionnaire: Questionnaire):
        self.workbook, self.sheet, self.plan, self.questionnaire = workbook, sheet, plan, questionnaire
        self.row = 0
        for index, width in enumerate((14, 40, 10, 10, 10, 10, 10)):
            sheet.worksheet.set_column(index, index, width)

    def text(self, value: Text | None) -> str:
        """A questionnaire text in the export's language."""
        return localize(value, self.plan.language, self.questionnaire.default_language)

    def category(self, code: str, label: Text | None) -> str:
        """A table category's label, or the interface's word for a standard one."""
        return self.text(label) if label is not None else standard_label(code)

    def title(self, text: str, style: str = "bold") -> int:
        """Write a title line; returns its row."""
        row = self.row
        self.sheet.write(row, 0, text, style)
        self.row += 1
        return row

    def line(self, *values, style: str = "cell") -> int:
        """Write a line of values; returns its row."""
        row = self.row
        self.sheet.write_row(row, values, style)
        self.row += 1
        return row

    def heading(self, responses: int, filters: ResultFilters, report: ExportReport) -> None:
        """The sheet's head: title, time, responses, filters, language, truncated texts."""
        self.title(self.text(self.questionnaire.title), "title")
        self.line(_("Exported (UTC)"), naive_utc(datetime.now(timezone.utc)))
        self.line(_("Responses"), responses)
        self.line(_("Filters"), _describe(filters))
        self.line(_("Language"), self.plan.language)
        self.line(_("Values"), _("codes") if self.plan.codes else _("labels"))
        if report.truncated:
            self.line(_("Truncated texts"), report.truncated)
            self.line(None, _("Texts longer than 32,767 characters (Excel's limit) end with “… [TRUNCATED”; "
                              "the CSV export keeps them whole."))
        self.row += 1

    def table(self, table: FrequencyTable | Crosstab) -> None:
        """One table of the results, with its chart."""
        if isinstance(table, Crosstab):
            self.crosstab(table)
        else:
            self.frequency(table)

    def _name(self, question_id: str, label: Text | None, item: str, item_label: Text | None) -> str:
        name = self.text(label) or question_id
        key = f"{question_id}.{item}" if item else question_id
        return f"{name}: {self.text(item_label) or item} ({key})" if item else f"{name} ({key})"

    def frequency(self, table: FrequencyTable) -> None:
        """A frequency table: counts and percents per answer, bases, numeric summary, chart."""
        start = self.title(self._name(table.question_id, table.label, table.item, table.item_label))
        header = self.line(_("Code"), _("Answer"), _("Count"), _("Percent"), style="header")
        for row in table.rows:
            at = self.line(row.code, self.category(row.code, row.label), row.count)
            if row.percent is not None:
                self.sheet.write(at, 3, row.percent / 100, number_format=self.sheet.formats.percent)
        self.line(_("Answered"), None, table.base)
        self.line(_("Shown"), None, table.shown)
        if table.numeric is not None:
            numeric = table.numeric
            self.line(_("N"), _("Mean"), _("Median"), _("Minimum"), _("Maximum"), style="header")
            at = self.line(numeric.n)
            self.sheet.write_row(at, [numeric.mean, numeric.median, numeric.min, numeric.max], first_column=1,
                                 number_format=self.sheet.formats.decimal)
        if table.question_type in CHART_TYPES and table.rows:
            self.chart(start, header + 1, header + len(table.rows), [(2, header)], "bar")
        self.row += 1

    def crosstab(self, table: Crosstab) -> None:
        """A crosstab: counts, bases, column percents, chi-square, chart."""
        title = f"{self._name(table.question_id, table.label, table.item, table.item_label)} × " \
                f"{self.text(table.variable_label) or table.variable}"
        start = self.title(title)
        columns = [self.category(column.code, column.label) for column in table.columns]
        self.line(_("Code"), _("Answer"), *columns, _("Total"), style="header")
        for category, counts, total in zip(table.rows, table.counts, table.row_totals):
            self.line(category.code, self.category(category.code, category.label), *counts, total)
        self.line(_("Base"), None, *table.column_bases, table.base, style="bold")
        header = self.line(_("Code"), _("Column %"), *columns, style="header")
        first = self.row
        for category, percents in zip(table.rows, table.percents):
            at = self.line(category.code, self.category(category.code, category.label))
            for offset, percent in enumerate(percents):
                if percent is not None:
                    self.sheet.write(at, 2 + offset, percent / 100, number_format=self.sheet.formats.percent)
        if table.chi_square is not None:
            test = table.chi_square
            self.line(_("Chi-square"), f"χ² = {test.statistic:.2f}, df = {test.df}, p = {test.p_value:.4f}"
                      + (" " + _("(expected counts too small: unreliable)") if test.small_expected else ""))
        stated = [index for index, column in enumerate(table.columns) if column.code not in (NOT_STATED, NOT_SHOWN)]
        if table.rows and stated:
            self.chart(start, first, first + len(table.rows) - 1, [(2 + index, header) for index in stated], "column")
        self.row += 1

    def chart(self, title_row: int, first: int, last: int, series: Sequence[tuple[int, int]], kind: str) -> None:
        """A chart of rows ``first``..``last``: one series per (value column, row of its name), labels in column 1."""
        name = self.sheet.name
        chart = self.workbook.add_chart({"type": kind})
        for column, name_row in series:
            chart.add_series({"name": [name, name_row, column], "categories": [name, first, 1, last, 1],
                              "values": [name, first, column, last, column]})
        chart.set_title({"name": [name, title_row, 0], "name_font": {"size": 11}})
        chart.set_legend({"none": len(series) == 1})
        height = max(220, ROW_HEIGHT_PX * (last - first + 1) * max(1, len(series) // 2) + 100)
        chart.set_size({"width": 520, "height": height})
        self.sheet.worksheet.insert_chart(title_row, CHART_COLUMN, chart)
        self.row = max(self.row, title_row + -(-height // ROW_HEIGHT_PX) + 1)


def _describe(filters: ResultFilters) -> str:
    """The filters in words."""
    parts = [_("complete responses") if filters.completed_only else _("all responses")]
    if filters.date_from or filters.date_to:
        parts.append(f"{filters.date_from or '…'} – {filters.date_to or '…'}")
    if filters.version_numbers:
        parts.append(_("versions") + " " + ", ".join(map(str, filters.version_numbers)))
    parts.extend(f"{question_id} = {value}" for question_id, value in filters.choice_filters)
    if filters.breakdown:
        parts.append(_("by") + " " + filters.breakdown)
    return "; ".join(parts)
