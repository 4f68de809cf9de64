"""What a results page and an export show: filters, frequency tables, crosstabs, plugin sections.

Plain frozen data built from counts the database made (see
:mod:`survey_app.results.queries`); nothing here touches the database. A
category's ``label`` is the questionnaire's text, or None for a standard
wording the page translates (yes/no, "not stated", "not shown"; an unknown
code is shown as itself).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import ClassVar

from survey_app.questionnaire.model import OTHER_VALUE, YES_NO_VALUES, Question
from survey_app.questionnaire.texts import Text
from survey_app.results.stats import ChiSquare, chi_square

#: Crosstab columns of respondents without an answer to the variable: it was
#: shown but left unanswered, or it was never shown. Codes cannot start with "#".
NOT_STATED = "#not_stated"
NOT_SHOWN = "#not_shown"


@dataclass(frozen=True)
class ResultFilters:
    """Which responses a result counts.

    Dates are UTC calendar days, both included, of the submit (of the start for
    a partial response). ``choice_filters`` keeps respondents who chose
    ``value`` in the single-choice (or yes/no) question ``question_id``; all of
    them must hold. ``breakdown`` asks plugins for crosstabs by that question.
    """

    completed_only: bool = True
    date_from: date | None = None
    date_to: date | None = None
    version_numbers: tuple[int, ...] = ()
    choice_filters: tuple[tuple[str, str], ...] = ()
    breakdown: str | None = None


@dataclass(frozen=True)
class Category:
    """A row or column of a table: a stored code and its label (None: a standard wording)."""

    code: str
    label: Text | None


@dataclass(frozen=True)
class FrequencyRow:
    """One answer of a frequency table: how many respondents gave it, in percent of the base."""

    code: str
    label: Text | None
    count: int
    percent: float | None


@dataclass(frozen=True)
class NumericSummary:
    """Summary of a number question's values (one per respondent, or per repeat entry)."""

    n: int
    mean: float
    median: float
    min: float
    max: float


@dataclass(frozen=True)
class FrequencyTable:
    """The answers to one question (one matrix row when ``item`` is set).

    ``base``: respondents who answered; percents are of the base, so those of a
    multiple-choice question are of respondents and may add up to more than 100.
    ``shown``: respondents the question was shown to (see ``queries``).
    """

    kind: ClassVar[str] = "frequency"

    question_id: str
    question_type: str
    label: Text | None
    item: str = ""
    item_label: Text | None = None
    rows: tuple[FrequencyRow, ...] = ()
    base: int = 0
    shown: int = 0
    numeric: NumericSummary | None = None


@dataclass(frozen=True)
class Crosstab:
    """Answers to one question (rows) by the answer to a variable (columns).

    The columns are the variable's categories, then :data:`NOT_STATED` and
    :data:`NOT_SHOWN`, so every respondent who answered the question is in one
    column and ``row_totals`` are the question's frequencies. ``percents`` are
    column percents of ``column_bases`` (respondents in the column who answered).
    ``chi_square`` tests the stated columns only; None for multiple-choice
    questions (a respondent may be in several rows) and for tables too small to test.
    """

    kind: ClassVar[str] = "crosstab"

    question_id: str
    question_type: str
    label: Text | None
    item: str
    item_label: Text | None
    variable: str
    variable_label: Text | None
    rows: tuple[Category, ...]
    columns: tuple[Category, ...]
    counts: tuple[tuple[int, ...], ...]
    column_bases: tuple[int, ...]
    percents: tuple[tuple[float | None, ...], ...]
    row_totals: tuple[int, ...]
    base: int
    chi_square: ChiSquare | None


Table = FrequencyTable | Crosstab


@dataclass(frozen=True)
class ResultSection:
    """A titled group of tables that a plugin adds to the results (see the ``result_sections`` hook)."""

    title: Text
    plugin: str
    tables: Sequence[Table] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tables", tuple(self.tables))


@dataclass(frozen=True)
class Summary:
    """The core results of a survey: how many responses pass the filters, and a table per question."""

    responses: int
    tables: tuple[FrequencyTable, ...]


def categories(question: Question) -> tuple[Category, ...]:
    """The answers a question offers, in the questionnaire's order, as table categories."""
    if question.type == "yes_no":
        return tuple(Category(value, None) for value in YES_NO_VALUES)
    if question.type == "rating":
        low, high = question.options.get("min", 1), question.options.get("max", 5)
        return tuple(Category(str(value), str(value)) for value in range(low, high + 1))
    if question.type == "calculated":
        return ()
    found = tuple(Category(choice.value, choice.label) for choice in question.choices)
    return found + (Category(OTHER_VALUE, question.other),) if question.other is not None else found


def _with_unknown(known: tuple[Category, ...], codes: Sequence[str]) -> tuple[Category, ...]:
    """``known`` followed by codes found in the data that it lacks (e.g. from older versions)."""
    listed = {category.code for category in known}
    extra = sorted({code for code in codes if code not in listed})
    return known + tuple(Category(code, None) for code in extra)


def _percent(count: int, base: int) -> float | None:
    return 100.0 * count / base if base else None


def frequency_table(question: Question, item: Category | None, counts: Mapping[str, int], *, base: int,
                    shown: int, numeric: NumericSummary | None = None) -> FrequencyTable:
    """A question's frequency table from its counts per code."""
    rows = tuple(FrequencyRow(category.code, category.label, counts.get(category.code, 0),
                              _percent(counts.get(category.code, 0), base))
                 for category in _with_unknown(categories(question), list(counts)))
    return FrequencyTable(question.id, question.type, question.label, item.code if item else "",
                          item.label if item else None, rows, base, shown, numeric)


def crosstab(question: Question, item: Category | None, variable: Question,
             counts: Mapping[tuple[str, str], int], column_bases: Mapping[str, int] | None = None) -> Crosstab:
    """A crosstab from counts per (question code, variable column).

    ``column_bases`` gives the respondents per column for a multiple-choice
    question; otherwise each respondent is in one row and a column's base is its sum.
    """
    rows = _with_unknown(categories(question), [code for code, _ in counts])
    answers = [column for _, column in counts if column not in (NOT_STATED, NOT_SHOWN)]
    stated = _with_unknown(categories(variable), answers)
    columns = stated + (Category(NOT_STATED, None), Category(NOT_SHOWN, None))
    cells = tuple(tuple(counts.get((row.code, column.code), 0) for column in columns) for row in rows)
    if column_bases is None:
        bases = tuple(sum(column) for column in zip(*cells)) if cells else (0,) * len(columns)
    else:
        bases = tuple(column_bases.get(column.code, 0) for column in columns)
    percents = tuple(tuple(_percent(count, base) for count, base in zip(row, bases)) for row in cells)
    multiple = question.type == "multiple_choice"
    test = None if multiple else chi_square([row[:len(stated)] for row in cells])
    return Crosstab(question.id, question.type, question.label, item.code if item else "", item.label if item else None,
                    variable.id, variable.label, rows, columns, cells, bases, percents,
                    tuple(sum(row) for row in cells), sum(bases), test)
