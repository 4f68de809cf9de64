"""Counting on SQLite: the statement of :mod:`survey_app.results.counting` with a count per split.

SQLite groups rows by sorting them all (it has no hash aggregation), so
grouping millions of answer rows by their question, code... *and* by their
response's version, status and column (which come from a join, out of the
order of any index) takes seconds. Here every possible split (column,
version, status) gets a number, each response the number of its split, and
the answers are grouped in the order of their covering index,
``ix_answers_counting``, with the count of each split in a column of its
own: nothing is sorted. The sums of the questions' numbers (``values``),
few rows, are grouped as usual, in a second statement.
"""
from __future__ import annotations

from collections.abc import Sequence
from itertools import product

from sqlalchemy import (ColumnElement, Connection, Select, String, and_, case, distinct, exists, func, literal, select,
                        true, union_all)

from survey_app.models import Answer, QuestionnaireVersion, ResponseStatus
from survey_app.results.counting import (ANSWERED, RESPONSES, Counts, Join, Key, Numbers, Plan, as_cte,
                                         repeated_part, responses_query, rows_part, typed_null, values_part)

#: The most splits counted side by side; beyond, grouping (and sorting) costs less.
LIMIT = 24

Split = tuple[str | None, str | None, int, ResponseStatus]  # (col, within, version id, status)


def count(connection: Connection, survey_id: int, plan: Plan, passing: Select,
          statuses: Sequence[ResponseStatus]) -> Counts | None:
    """Count ``plan`` over the responses ``passing`` selects (of ``statuses``), in one statement.

    The splits are every (code of the variable found in the answers, or none;
    the same of the ``within`` question; version of the survey; status): run
    in one read transaction with the statements that find them. Returns None
    when there are more than :data:`LIMIT`.
    """
    versions = connection.execute(select(QuestionnaireVersion.id)
                                  .where(QuestionnaireVersion.survey_id == survey_id)).scalars().all()
    splits: list[Split] = list(product(_codes(connection, survey_id, plan.variable),
                                       _codes(connection, survey_id, plan.within), versions, statuses))
    if len(splits) > LIMIT:
        return None
    query = responses_query(survey_id, passing, plan)
    col, within, version_id, status = (query.selected_columns[name]
                                       for name in ("col", "within", "version_id", "status"))
    number = case(*((and_(col.is_(None) if code is None else col == code,
                          within.is_(None) if chosen is None else within == chosen, version_id == version,
                          status == each), index) for index, (code, chosen, version, each) in enumerate(splits)))
    responses = as_cte(query.add_columns(number.label("g")))
    found = Counts()
    for kind, question_id, item, code, value, *counts in connection.execute(
            union_all(*_selects(survey_id, plan, responses, len(splits)))):
        for (col_code, chosen, version, each), n in zip(splits, counts):
            if n:
                found.add(Key(kind, question_id, item, code, value, col_code, chosen, version, each), n)
    if plan.summed:
        answer = Answer.__table__.alias("a")
        joined, on_survey = Join.ANSWERS_FIRST.of(survey_id, answer, responses)
        summed = values_part(plan, answer, joined, on_survey,
                             [responses.c.col, responses.c.within, responses.c.version_id, responses.c.status])
        for kind, question_id, item, code, value, col_code, chosen, version, each, n, total, low, high in (
                connection.execute(summed)):
            found.add(Key(kind, question_id, item, code, value, col_code, chosen, version, ResponseStatus(each)), n,
                      Numbers(total, low, high))
    return found


def _codes(connection: Connection, survey_id: int, question_id: str | None) -> list[str | None]:
    """The codes the answers give the question ``question_id``, and None (no answer, or no such question)."""
    if question_id is None:
        return [None]
    answer = Answer.__table__
    return [None, *connection.execute(select(answer.c.code).distinct().where(
        answer.c.survey_id == survey_id, answer.c.question_id == question_id, answer.c.item == "",
        answer.c.code.is_not(None))).scalars()]


def _selects(survey_id: int, plan: Plan, responses, splits: int) -> list[Select]:
    """The SELECTs of :func:`~survey_app.results.counting.count_selects` with the count of each split
    (``responses.g``, 0 to ``splits`` - 1) in columns n0, n1... of their own."""
    answer = Answer.__table__.alias("a")
    joined, on_survey = Join.ANSWERS_FIRST.of(survey_id, answer, responses)

    def counts(value: ColumnElement, *, respondents: bool = False) -> list[ColumnElement]:
        counted = [case((responses.c.g == number, value)) for number in range(splits)]
        return [(func.count(distinct(each)) if respondents else func.count(each)).label(f"n{number}")
                for number, each in enumerate(counted)]

    selects = [rows_part(plan, answer, joined, on_survey).add_columns(*counts(literal(1)))]
    if plan.responses:
        selects.insert(0, select(literal(RESPONSES), literal(""), literal(""), typed_null("code"), typed_null("number"),
                                 *counts(literal(1))).select_from(responses))
    if plan.repeated:
        selects.append(repeated_part(plan, answer, joined, on_survey).add_columns(
            *counts(answer.c.response_id, respondents=True)))
    if plan.several:
        # One probe of the answers' unique index per (response, question): cheaper
        # than de-duplicating all their rows.
        asked = union_all(*(select(literal(question_id, String(64)).label("question_id"))
                            for question_id in plan.several)).subquery("q")
        stored = Answer.__table__.alias("s")
        selects.append(
            select(literal(ANSWERED), asked.c.question_id, literal(""), typed_null("code"), typed_null("number"),
                   *counts(literal(1))).select_from(responses.join(asked, true()))
            .where(exists().where(stored.c.response_id == responses.c.id, stored.c.question_id == asked.c.question_id))
            .group_by(asked.c.question_id))
    return selects
