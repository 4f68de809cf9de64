"""Counting the answers to every question at once, in SQL, for the results.

One statement reads each answer row once, grouped by question, item, code
and number (the shape rows are stored in, see :class:`~survey_app.models.Answer`),
so its cost does not grow with the number of questions;
:mod:`survey_app.results.queries` reads each question's frequencies, values
and crosstab cells off these groups. Two more parts count what groups cannot
tell: respondents (not entries) inside repeat groups, and respondents with
any answer to a question stored in several rows. Every count is split by the
response's questionnaire version, status, column (its code for the breakdown
variable, NULL when it has none) and ``within`` (its code for a choice
filter's question, when the plan names one), and by the block of its id when
the cache asks (see :mod:`survey_app.results.cache`).

Kinds of count (the ``kind`` of a :class:`Key`):

* ``rows``: answer rows per (question, item, code, number). Outside repeat
  groups a respondent has at most one row per group, so these are respondents.
* ``respondents``: respondents per (question, item, code, number), for the
  questions in repeat groups (a respondent may repeat a group in several entries).
* ``answered``: respondents with any answer to a question (item, code and number empty).
* ``values``: answer rows per (question, item) of the questions whose numbers are
  summarized rather than counted value by value (see :attr:`Plan.summed`),
  with the sum, minimum and maximum of their numbers (:class:`Numbers`), so a
  question whose every answer is a different number still makes one count.
* ``responses``: responses.
"""
from __future__ import annotations

import enum
import hashlib
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy import (CTE, Alias, ColumnElement, Connection, Engine, FromClause, Integer, Select, String, cast,
                        distinct, func, literal, null, select, union_all)

from survey_app.models import Answer, ResponseStatus
from survey_app.questionnaire.model import Question

ROWS, RESPONDENTS, ANSWERED, VALUES, RESPONSES = "rows", "respondents", "answered", "values", "responses"
#: Memory PostgreSQL may use per sort or hash table while counting (SET LOCAL work_mem).
WORK_MEM = "64MB"


class Key(NamedTuple):
    """What one count is of: its kind, question, item, code and number, and how it is split."""

    kind: str
    question_id: str
    item: str
    code: str | None
    number: float | None
    col: str | None
    within: str | None
    version_id: int
    status: ResponseStatus


class Numbers(NamedTuple):
    """The sum, minimum and maximum of the numbers a ``values`` count counted."""

    total: float
    low: float
    high: float

    def merged(self, other: Numbers | None) -> Numbers:
        """These numbers together with ``other``'s."""
        if other is None:
            return self
        return Numbers(self.total + other.total, min(self.low, other.low), max(self.high, other.high))


class Counts:
    """Counts by :class:`Key`, with the :class:`Numbers` of each ``values`` key, and medians.

    ``medians`` holds the median of each summed question's numbers (see
    :mod:`survey_app.results.medians`): unlike sums and counts, medians of
    parts do not add up, so they are found for the whole selection at once.
    """

    def __init__(self) -> None:
        self.n: Counter[Key] = Counter()
        self.numbers: dict[Key, Numbers] = {}
        self.medians: dict[str, float] = {}

    def add(self, key: Key, n: int, numbers: Numbers | None = None) -> None:
        """Add ``n`` (and, for a ``values`` key, its ``numbers``) to the count of ``key``."""
        self.n[key] += n
        if numbers is not None:
            self.numbers[key] = numbers.merged(self.numbers.get(key))

    def items(self) -> Iterable[tuple[Key, int]]:
        """(key, count) of every count."""
        return self.n.items()

    def numbers_given(self) -> Counter[str]:
        """How many numbers each summed question was given (the sum of its ``values`` counts)."""
        given: Counter[str] = Counter()
        for key in self.numbers:
            given[key.question_id] += self.n[key]
        return given


@dataclass(frozen=True)
class Plan:
    """What one statement counts: the rows of the questions ``rows`` (None: of every question),
    respondents per group of the questions ``repeated``, respondents who answered each of
    ``several``, the numbers of the questions ``summed`` (their other rows are counted as rows);
    split by the breakdown ``variable`` (a key's ``col``) and the question ``within`` (a key's
    ``within``: the code of a choice filter's question, so that its counts serve the filter); and the
    responses themselves unless ``responses`` is false (crosstabs do not need them)."""

    rows: tuple[str, ...] | None = None
    repeated: tuple[str, ...] = ()
    several: tuple[str, ...] = ()
    variable: str | None = None
    summed: tuple[str, ...] = ()
    within: str | None = None
    responses: bool = True

    @property
    def definition(self) -> str:
        """A digest of the plan: counts made under another definition are not these."""
        return hashlib.sha256(repr(self).encode("utf-8")).hexdigest()


def full_plan(questions: Sequence[Question], variable: str | None = None, within: str | None = None) -> Plan:
    """What the frequency tables of ``questions`` need, split by ``variable`` (when given) for their crosstabs,
    and by ``within`` (when given) for a choice filter on that question.

    Summing a question's counts over the variable's columns gives its
    frequencies, so one count serves both.
    """
    repeated = tuple(question.id for question in questions if question.repeat_id is not None)
    several = tuple(question.id for question in questions
                    if question.type in ("multiple_choice", "matrix") or question.repeat_id is not None)
    return Plan(None, repeated, several, variable, tuple(question.id for question in questions if is_summed(question)),
                within)


def is_summed(question: Question) -> bool:
    """Whether the numbers of ``question`` are summarized rather than counted value by value: any number
    a respondent types or a calculation gives (a rating's or a rank's few values are counted each)."""
    if question.plugin_type is not None:
        return question.plugin_type.value_kind == "number"
    return question.type in ("integer", "decimal", "calculated")


def crosstab_plan(questions: Sequence[Question], variable: str) -> Plan:
    """What the crosstabs of ``questions`` (outside repeat groups) by ``variable`` need."""
    multiple = tuple(question.id for question in questions if question.type == "multiple_choice")
    return Plan(tuple(question.id for question in questions), (), multiple, variable, responses=False)


def counted_responses(survey_id: int, passing: Select, plan: Plan, block: ColumnElement[int] | None = None) -> CTE:
    """The responses to count, as a CTE ``r`` (see :func:`responses_query`)."""
    return as_cte(responses_query(survey_id, passing, plan, block))


def responses_query(survey_id: int, passing: Select, plan: Plan, block: ColumnElement[int] | None = None) -> Select:
    """``passing`` (columns ``id``, ``version_id``, ``status``) with ``block`` (the block the cache
    counts a response in, else NULL), ``col`` and ``within``: the response's codes for the plan's
    ``variable`` and ``within`` questions (NULL without an answer, or without such a question)."""
    passing = passing.add_columns((block if block is not None else cast(null(), Integer)).label("block"))
    rows = passing.subquery("p")
    columns, source = [rows], rows
    for name, question_id in (("col", plan.variable), ("within", plan.within)):
        if question_id is None:
            columns.append(cast(null(), String(64)).label(name))
            continue
        # The question's answer rows (outside repeat groups: one per respondent, with no
        # item), read off the answers' covering index once, then joined to the responses.
        answer = Answer.__table__.alias(f"{name}_answers")
        stated = as_cte(select(answer.c.response_id, answer.c.code)
                        .where(answer.c.survey_id == survey_id, answer.c.question_id == question_id,
                               answer.c.item == "", answer.c.code.is_not(None)), f"{name}_codes")
        columns.append(stated.c.code.label(name))
        source = source.outerjoin(stated, stated.c.response_id == rows.c.id)
    return select(*columns).select_from(source)


def as_cte(query: Select, name: str = "r") -> CTE:
    """``query`` as a CTE: SQLite materializes it once per statement (so, e.g., each answer finds its
    response in a small temporary table); PostgreSQL inlines it, so its planner sees real row estimates."""
    return (query.cte(name).prefix_with("MATERIALIZED", dialect="sqlite")
            .prefix_with("NOT MATERIALIZED", dialect="postgresql"))


class Join(enum.Enum):
    """Which side of the join of answers and responses the database reads first.

    PostgreSQL's planner picks it from its estimates (``PLANNED``). SQLite
    needs telling: ``ANSWERS_FIRST`` reads the survey's answers in the order
    of their covering index and looks each one's response up (``+ 0`` keeps
    SQLite from going the other way), for many responses; ``RESPONSES_FIRST``
    finds each response's answers through their unique index (response id
    first), for few, with no condition on the survey (the responses imply
    it) that would tempt SQLite to read all the survey's answers.
    """

    PLANNED = "planned"
    ANSWERS_FIRST = "answers first"
    RESPONSES_FIRST = "responses first"

    def of(self, survey_id: int, answer: Alias, responses: FromClause) -> tuple[FromClause, list[ColumnElement]]:
        """The answers joined to ``responses``, and the conditions on the answers."""
        if self is Join.RESPONSES_FIRST:
            return answer.join(responses, responses.c.id == answer.c.response_id), []
        response_id = answer.c.response_id + 0 if self is Join.ANSWERS_FIRST else answer.c.response_id
        return answer.join(responses, responses.c.id == response_id), [answer.c.survey_id == survey_id]


def count_selects(survey_id: int, plan: Plan, responses: FromClause, join: Join) -> list[Select]:
    """The SELECTs (see :func:`run`) counting ``plan`` over ``responses`` (see :func:`counted_responses`).

    Each has the columns kind, question_id, item, code, number, col, within,
    version_id, status, block, n, total, low and high (the last three: the
    :class:`Numbers` of a ``values`` count, else NULL).
    """
    answer = Answer.__table__.alias("a")
    joined, on_survey = join.of(survey_id, answer, responses)
    splits = [responses.c.col, responses.c.within, responses.c.version_id, responses.c.status, responses.c.block]
    respondents = func.count(distinct(answer.c.response_id)).label("n")
    selects = [rows_part(plan, answer, joined, on_survey).add_columns(*splits, func.count().label("n"), *no_numbers())
               .group_by(*splits)]
    if plan.responses:
        selects.insert(0, select(literal(RESPONSES), literal(""), literal(""), typed_null("code"),
                                 typed_null("number"), *splits, func.count().label("n"), *no_numbers())
                       .select_from(responses).group_by(*splits))
    if plan.repeated:
        selects.append(repeated_part(plan, answer, joined, on_survey).add_columns(*splits, respondents, *no_numbers())
                       .group_by(*splits))
    if plan.several:
        selects.append(
            select(literal(ANSWERED), answer.c.question_id, literal(""), typed_null("code"), typed_null("number"),
                   *splits, respondents, *no_numbers()).select_from(joined)
            .where(answer.c.question_id.in_(plan.several), *on_survey)
            .group_by(answer.c.question_id, *splits))
    if plan.summed:
        selects.append(values_part(plan, answer, joined, on_survey, splits))
    return selects


def rows_part(plan: Plan, answer: Alias, joined: FromClause, on_survey: list[ColumnElement]) -> Select:
    """The ``rows`` part of the statement, without its counts and splits."""
    chosen = ([] if plan.rows is None else [answer.c.question_id.in_(plan.rows)]) + _not_summed(plan, answer)
    return (select(literal(ROWS), *grouped(answer)).select_from(joined).where(*chosen, *on_survey)
            .group_by(*grouped(answer)))


def values_part(plan: Plan, answer: Alias, joined: FromClause, on_survey: list[ColumnElement],
                splits: Sequence[ColumnElement]) -> Select:
    """The ``values`` part of the statement: rows, sum, minimum and maximum of the summed questions' numbers."""
    number = answer.c.number
    return (select(literal(VALUES), answer.c.question_id, answer.c.item, typed_null("code"), typed_null("number"),
                   *splits, func.count().label("n"), func.sum(number), func.min(number), func.max(number))
            .select_from(joined).where(answer.c.question_id.in_(plan.summed), number.is_not(None), *on_survey)
            .group_by(answer.c.question_id, answer.c.item, *splits))


def no_numbers() -> list[ColumnElement]:
    """The total, low and high columns of a count that is not of ``values``."""
    return [typed_null("number").label(name) for name in ("total", "low", "high")]


def repeated_part(plan: Plan, answer: Alias, joined: FromClause, on_survey: list[ColumnElement]) -> Select:
    """The ``respondents`` part of the statement, without its counts and splits."""
    chosen = [answer.c.question_id.in_(plan.repeated)] + _not_summed(plan, answer)
    return (select(literal(RESPONDENTS), *grouped(answer)).select_from(joined)
            .where(*chosen, *on_survey).group_by(*grouped(answer)))


def _not_summed(plan: Plan, answer: Alias) -> list[ColumnElement[bool]]:
    """The condition that an answer row is not a number of a summed question (those are counted as ``values``)."""
    return [answer.c.question_id.not_in(plan.summed) | answer.c.number.is_(None)] if plan.summed else []


def grouped(answer: Alias) -> list[ColumnElement]:
    """question_id, item, code and number (grouped in any order, SQLite follows ix_answers_counting's)."""
    return [answer.c.question_id, answer.c.item, answer.c.code, answer.c.number]


def typed_null(name: str) -> ColumnElement:
    """A NULL typed as the answers' column ``name`` (PostgreSQL types UNION columns from the first SELECT)."""
    return cast(null(), Answer.__table__.c[name].type)


def run(connection: Connection,
        selects: Sequence[Select]) -> Iterable[tuple[Key, int | None, int, Numbers | None]]:
    """Run the SELECTs of :func:`count_selects` (in a :func:`snapshot`): (key, block, count, numbers) of each row.

    SQLite runs them as one statement (UNION ALL). PostgreSQL runs them one by
    one, so that each gets parallel workers (the parts of a UNION ALL would
    share them out, one each); the snapshot makes them see the same data.
    """
    if not selects:
        return
    statements = selects if connection.dialect.name == "postgresql" else [union_all(*selects)]
    for statement in statements:
        for (kind, question_id, item, code, number, col, within, version_id, status, block, n,
             total, low, high) in connection.execute(statement):
            yield (Key(kind, question_id, item, code, number, col, within, version_id, ResponseStatus(status)), block,
                   n, None if total is None else Numbers(total, low, high))


def count(connection: Connection, survey_id: int, plan: Plan, responses: CTE, join: Join) -> Counts:
    """Count ``plan`` over ``responses`` (see :func:`counted_responses`), in a :func:`snapshot`."""
    found = Counts()
    for key, _block, n, numbers in run(connection, count_selects(survey_id, plan, responses, join)):
        found.add(key, n, numbers)
    return found


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read transaction of its own, on one snapshot of the database, for counting.

    PostgreSQL: REPEATABLE READ (every statement sees the same snapshot), with
    room for the counting's hash tables and sorts (``work_mem``: the server's
    default is a few megabytes), and a ``random_page_cost`` that lets the
    planner look a few thousand responses' answers up rather than read all
    the survey's (the default, 4, is meant for spinning disks; a response's
    answers are written together, in a page or two). SQLite's read
    transactions are snapshots.
    """
    with engine.connect() as connection:
        postgresql = connection.dialect.name == "postgresql"
        if postgresql:
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            if postgresql:
                connection.exec_driver_sql(f"SET LOCAL work_mem = '{WORK_MEM}'")
                connection.exec_driver_sql("SET LOCAL random_page_cost = 1.1")
            yield connection
