"""The results' score sections: one per score, built from the counts of :mod:`.results`.

A section holds, under the score's label:

* ``<id>.band`` (scores with bands): responses per band in band order, then
  "No score" (complete responses without a percentage) and, when partial
  responses are included, "Partial response" (never scored), so the rows add
  up to every response the filters pass and percents are of that total. With a
  breakdown variable the same rows make a crosstab, with the not stated / not
  shown columns; its chi-square tests the bands only, as the core's leaves out
  those columns.
* ``<id>.percent`` and ``<id>.points``: n, mean, median, minimum and maximum
  over the responses with a percentage ("answered" n of the responses counted);
  with a breakdown variable also one table per column that has responses.

The tables are the core's (``frequency_table``, ``crosstab``), so the results
page and the exports show them as any question's.
"""
from __future__ import annotations

from dataclasses import replace

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from survey_app.questionnaire import Choice, Question, Questionnaire
from survey_app.questionnaire.texts import Text
from survey_app.results.stats import chi_square
from survey_app.results.tables import (NOT_SHOWN, NOT_STATED, Category, Crosstab, FrequencyTable, NumericSummary,
                                       ResultFilters, ResultSection, categories, crosstab, frequency_table)
from survey_app.results.views import breakdown_variables, standard_label

from . import display, results
from .config import Score, rules_or_none
from .storage import PLUGIN


def score_sections(session: Session, survey_id: int, questionnaire: Questionnaire,
                   filters: ResultFilters) -> list[ResultSection]:
    """A section per score of ``questionnaire``, counted over the responses ``filters`` pass."""
    scores = rules_or_none(questionnaire).scores
    if not scores:
        return []
    variable = _variable(questionnaire, filters)
    by = results.breakdown(session, survey_id, variable.id) if variable is not None else None
    return [_section(session, survey_id, filters, score, variable, by) for score in scores]


def _variable(questionnaire: Questionnaire, filters: ResultFilters) -> Question | None:
    """The question ``filters.breakdown`` names, if a plugin offers it for this questionnaire."""
    if filters.breakdown is None or filters.breakdown not in breakdown_variables(questionnaire):
        return None
    return questionnaire.questions[filters.breakdown]


def _section(session: Session, survey_id: int, filters: ResultFilters, score: Score, variable: Question | None,
             by: results.Breakdown | None) -> ResultSection:
    """The section of one score: its band table (or crosstab), then its percent and points summaries."""
    labels = {column.name: column.label for column in display.columns(score)}
    counts = results.band_counts(session, survey_id, filters, score.id, by)
    totals: dict[str | None, int] = {}
    for (_row, column), count in counts.items():
        totals[column] = totals.get(column, 0) + count
    tables: list[FrequencyTable | Crosstab] = []
    if score.bands:
        question = _band_question(score, labels[f"{score.id}.band"], filters)
        if variable is None:
            total = totals.get(None, 0)
            tables.append(frequency_table(question, None, {row: count for (row, _column), count in counts.items()},
                                          base=total, shown=total))
        else:
            tables.append(_bands_tested(crosstab(question, None, variable, counts)))
    overall = results.score_summaries(session, survey_id, filters, score.id).get(None, (None, None))
    grouped = results.score_summaries(session, survey_id, filters, score.id, by) if by else {}
    groups = _groups(variable, totals) if variable is not None else []
    for index, suffix in enumerate(("percent", "points")):  # the order of score_summaries' pairs
        name = f"{score.id}.{suffix}"
        tables.append(_numeric(name, labels[name], None, overall[index], sum(totals.values())))
        tables.extend(_numeric(name, labels[name], group, grouped.get(group.code, (None, None))[index],
                               totals[group.code]) for group in groups)
    return ResultSection(title=score.label, plugin=PLUGIN, tables=tables)


def _band_question(score: Score, label: Text, filters: ResultFilters) -> Question:
    """The score's bands as the choices of a question, for the core's table builders."""
    choices = [Choice(str(index), band.label) for index, band in enumerate(score.bands)]
    choices.append(Choice(results.NO_SCORE, _("No score")))
    if not filters.completed_only:
        choices.append(Choice(results.PARTIAL, _("Partial response (not scored)")))
    return Question(id=f"{score.id}.band", type="single_choice", path="", page_id="", label=label,
                    choices=tuple(choices))


def _bands_tested(table: Crosstab) -> Crosstab:
    """``table`` with a chi-square of the bands by the stated columns (no "No score" or "Partial" row)."""
    stated = sum(1 for column in table.columns if column.code not in (NOT_STATED, NOT_SHOWN))
    bands = [counts[:stated] for row, counts in zip(table.rows, table.counts) if not row.code.startswith("#")]
    return replace(table, chi_square=chi_square(bands))


def _groups(variable: Question, totals: dict[str | None, int]) -> list[Category]:
    """The crosstab's columns that have responses, each labelled (standard wordings translated)."""
    known = categories(variable)
    listed = {category.code for category in known}
    found = known + tuple(Category(code, None) for code in sorted(totals) if code not in listed
                          and code not in (NOT_STATED, NOT_SHOWN))
    found += (Category(NOT_STATED, None), Category(NOT_SHOWN, None))
    return [Category(category.code, category.label if category.label is not None else standard_label(category.code))
            for category in found if totals.get(category.code)]


def _numeric(name: str, label: Text, group: Category | None, summary: NumericSummary | None,
             responses: int) -> FrequencyTable:
    """A table of one summary (of one group's ``responses``, or of all): "answered" by the n with a percentage."""
    return FrequencyTable(name, "decimal", label, group.code if group else "", group.label if group else None,
                          base=summary.n if summary else 0, shown=responses, numeric=summary)
