"""Counting stored scores in SQL for the results: responses per band, and summaries of percent and points.

Every statement starts from the core's :func:`~survey_app.results.queries.filtered_responses`
(so completed/partial, dates, versions and choice filters hold exactly as for
the questions) and joins each response's ``ResponseMetric`` rows by primary
key. Broken down by a variable (:class:`Breakdown`), each response also falls
in one column ``col``, as in the core's crosstabs: its answer to the variable,
else :data:`NOT_STATED` when the variable was certainly shown (a complete
response of a version asking it unconditionally), else :data:`NOT_SHOWN`.
Score ids and codes reach SQL only as bound parameters.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, FromClause, Subquery, and_, case, func, select
from sqlalchemy.orm import Session

from survey_app.models import Answer, ResponseMetric, ResponseStatus
from survey_app.results.queries import filtered_responses, unconditional_versions
from survey_app.results.tables import NOT_SHOWN, NOT_STATED, NumericSummary, ResultFilters

from .storage import PLUGIN

#: Band-table rows of responses without a band: complete but without a
#: percentage (nothing applicable, or never scored), and partial (never scored).
NO_SCORE = "#no_score"
PARTIAL = "#partial"


@dataclass(frozen=True)
class Breakdown:
    """A variable to count by, and the versions (ids) that show it to every respondent who completes."""

    question_id: str
    unconditional: frozenset[int]


def breakdown(session: Session, survey_id: int, question_id: str) -> Breakdown:
    """The :class:`Breakdown` by the single-choice question ``question_id``."""
    return Breakdown(question_id, unconditional_versions(session, survey_id).get(question_id, frozenset()))


def band_counts(session: Session, survey_id: int, filters: ResultFilters, score_id: str,
                by: Breakdown | None = None) -> dict[tuple[str, str | None], int]:
    """Responses per (band code, or :data:`NO_SCORE` or :data:`PARTIAL`; column, or None without ``by``).

    Every response passing ``filters`` is counted exactly once.
    """
    responses = filtered_responses(survey_id, filters)
    band, on_band = _metric(responses, f"{score_id}.band")
    category = case((responses.c.status != ResponseStatus.COMPLETE, PARTIAL),
                    (band.c.code.is_(None), NO_SCORE), else_=band.c.code).label("category")
    source, columns = _grouped(survey_id, responses, responses.outerjoin(band, on_band), by)
    query = (select(category, *columns, func.count()).select_from(source)
             .group_by("category", *(column.name for column in columns)))
    return {(row[0], row[1] if by else None): row[-1] for row in session.execute(query)}


def score_summaries(session: Session, survey_id: int, filters: ResultFilters, score_id: str,
                    by: Breakdown | None = None) -> dict[str | None, tuple[NumericSummary, NumericSummary]]:
    """(percent, points) summaries of the responses with a percentage, per column (None without ``by``).

    A column without a percentage is left out. The median is the middle value
    or the mean of the two middle ones, as in the core: the rows numbered n/2,
    (n+1)/2 or (n+2)/2 when sorted.
    """
    responses = filtered_responses(survey_id, filters)
    percent, on_percent = _metric(responses, f"{score_id}.percent")
    points, on_points = _metric(responses, f"{score_id}.points")
    source, columns = _grouped(survey_id, responses, responses.join(percent, on_percent).join(points, on_points), by)
    scored = (select(*columns, percent.c.number.label("percent"), points.c.number.label("points"))
              .select_from(source).where(percent.c.number.is_not(None)).subquery("s"))
    groups = [scored.c.col] if by else None
    ranked = select(scored, *(func.row_number().over(partition_by=groups, order_by=scored.c[name]).label(f"{name}_at")
                              for name in ("percent", "points")),
                    func.count().over(partition_by=groups).label("total")).subquery("v")
    keys = [ranked.c.col] if by else []
    query = select(*keys, func.count(), *_summary(ranked, "percent"), *_summary(ranked, "points")).group_by(*keys)
    found = {}
    for row in session.execute(query):
        key, n, values = (row[0], row[1], row[2:]) if by else (None, row[0], row[1:])
        if n:  # without groups, an empty selection still gives one row
            found[key] = (NumericSummary(n, *map(float, values[:4])), NumericSummary(n, *map(float, values[4:])))
    return found


def _metric(responses: Subquery, name: str) -> tuple[FromClause, ColumnElement[bool]]:
    """An alias of the metric rows, and its join condition: the response's row named ``name`` (its primary key)."""
    metric = ResponseMetric.__table__.alias(name.rpartition(".")[2])
    return metric, and_(metric.c.response_id == responses.c.id, metric.c.plugin == PLUGIN, metric.c.name == name)


def _summary(ranked: Subquery, name: str) -> list[ColumnElement]:
    """Mean, median, minimum and maximum of the column ``name`` of ``ranked``."""
    position, value = ranked.c[f"{name}_at"], ranked.c[name]
    middle = and_(position * 2 >= ranked.c.total, position * 2 <= ranked.c.total + 2)
    return [func.avg(value), func.avg(case((middle, value))), func.min(value), func.max(value)]


def _grouped(survey_id: int, responses: Subquery, source: FromClause,
             by: Breakdown | None) -> tuple[FromClause, list[ColumnElement]]:
    """``source`` joined to each response's answer to the variable, and the column ``col``; unchanged without ``by``."""
    if by is None:
        return source, []
    stated = Answer.__table__.alias("stated")
    column = case(
        (stated.c.code.is_not(None), stated.c.code),
        (and_(responses.c.status == ResponseStatus.COMPLETE, responses.c.version_id.in_(sorted(by.unconditional))),
         NOT_STATED),
        else_=NOT_SHOWN,
    ).label("col")
    joined = source.outerjoin(stated, and_(stated.c.response_id == responses.c.id, stated.c.survey_id == survey_id,
                                           stated.c.question_id == by.question_id,
                                           stated.c.code.is_not(None)))  # not the "#other" text row
    return joined, [column]
