"""Counts of responses kept between results pages, one block of response ids at a time.

The responses whose ids fall in one block (``id // BLOCK_SIZE``), complete or
partial, change only through the respondent pages, and each save or submit
adds one to the response's ``revision``; responses are not deleted one by one.
So the counts of a block stay right for as long as it holds the same number of
responses with the same sum of revisions; a new response, a page saved or a
submit changes that signature (whatever the response's id: it may have started
long ago) and the block is counted again. Each block is a :class:`ResultBlock`
with its :class:`ResultCount` rows (split by status, version and column), kept
per survey, counting name (the frequencies, or the frequencies and crosstabs by
one variable) and :attr:`Plan.definition` (a new questionnaire version that
changes what is counted starts afresh).

:func:`read` reads in one snapshot of the database (see
:func:`~survey_app.results.counting.snapshot`): first each block's signature
(and how many of the responses it would count fall in the dates asked for),
then the sums of the kept counts of the blocks still right and wholly within
the dates, and the counts of every other block counted afresh: changed or new
ones, and those only partly within the dates. Kept counts are per status and
questionnaire version, so the status and version filters just sum fewer of
them; a block wholly outside the dates is skipped. Without date or version
filters the blocks counted afresh are counted whole and kept by
:func:`store`, in a transaction of its own (a concurrent page storing the same
block first wins; the other just keeps its numbers). Why blocks rather than a
high-water mark: a response's id is given when it starts, its times by the
clock of whichever web process saves it, and neither follows the order in
which the saves commit, so no mark tells which responses the kept counts lack;
a block's signature does.

A feature that changes responses other than through
:mod:`survey_app.responses.storage` (which counts revisions), or deletes them
one by one, must delete the survey's :class:`ResultBlock` rows in the same
transaction.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (ColumnElement, Connection, Engine, and_, case, cast, delete, false, func, insert, null,
                        or_, select, true)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from survey_app import db
from survey_app.models import Response, ResponseStatus, ResultBlock, ResultCount
from survey_app.results import counting, selection
from survey_app.results.counting import Counts, Join, Key, Numbers, Plan
from survey_app.results.tables import ResultFilters

log = logging.getLogger(__name__)

#: Response ids per block: a changed block costs a count of this many responses.
BLOCK_SIZE = 4096
#: Blocks counted per statement when filling kept counts in the background (see :func:`fill`).
FILL_BLOCKS = 4
_COMPLETE = ResponseStatus.COMPLETE


def covers(filters: ResultFilters, plan: Plan) -> bool:
    """Whether :func:`read` can serve ``filters`` counting ``plan``: any filters but a choice filter, or one
    choice of a question ``plan`` is split by (its ``variable`` or its ``within``: a part of the counts)."""
    return not filters.choice_filters or (len(filters.choice_filters) == 1
                                          and filters.choice_filters[0][0] in (plan.variable, plan.within))


Signature = tuple[int, int]  # (responses, sum of their revisions)


@dataclass(frozen=True)
class Blocks:
    """The survey's blocks as they stand: kept ones to read (their ids), and those to count afresh
    (their numbers, and signatures).

    ``live`` is how many responses must be counted afresh, of ``total``.
    """

    kept: tuple[int, ...]
    counted: dict[int, Signature]
    live: int
    total: int


@dataclass
class Fresh:
    """Counts of whole blocks counted afresh, with the signature each was counted at, for :func:`store` to keep."""

    survey_id: int
    name: str
    definition: str
    signatures: dict[int, Signature]
    blocks: defaultdict[int, Counts] = field(default_factory=lambda: defaultdict(Counts))


def read(connection: Connection, survey_id: int, plan: Plan, filters: ResultFilters) -> tuple[Counts, Fresh | None]:
    """Count ``plan`` over the responses that pass ``filters`` (see :func:`covers`), in the snapshot ``connection``.

    Also returns the blocks counted afresh that :func:`store` should keep (None with date or version filters).
    """
    chosen = _chosen(filters, plan)
    blocks = _blocks(connection, survey_id, _name(plan), plan.definition, filters)
    whole = not selection.in_dates(filters) and not filters.version_numbers
    if whole:  # every response of the changed blocks, to keep them whole
        passing = select(Response.id, Response.version_id, Response.status).where(
            Response.survey_id == survey_id, _in_blocks(sorted(blocks.counted)))
    else:
        passing = selection.passing(survey_id, filters).where(_in_blocks(sorted(blocks.counted)))
    fresh = Fresh(survey_id, _name(plan), plan.definition, blocks.counted) if whole else None
    responses = counting.counted_responses(survey_id, passing, plan, _block() if whole else None)
    join = (Join.PLANNED if connection.dialect.name != "sqlite"
            else Join.RESPONSES_FIRST if blocks.live * 4 <= blocks.total else Join.ANSWERS_FIRST)
    selects = counting.count_selects(survey_id, plan, responses, join) if blocks.counted else []
    if blocks.kept:
        selects.append(_kept_select(survey_id, blocks.kept, filters))
    found = Counts()
    for key, block, n, numbers in counting.run(connection, selects):
        if (not filters.completed_only or key.status is _COMPLETE) and chosen(key):
            found.add(key, n, numbers)
        if fresh is not None and block is not None:
            fresh.blocks[block].add(key, n, numbers)
    return found, fresh


def _chosen(filters: ResultFilters, plan: Plan) -> Callable[[Key], bool]:
    """Whether a key counts responses that pass the choice filter of ``filters`` (see :func:`covers`)."""
    if not filters.choice_filters:
        return lambda _key: True
    question_id, value = filters.choice_filters[0]
    if question_id == plan.variable:
        return lambda key: key.col == value
    return lambda key: key.within == value


def backlog(connection: Connection, survey_id: int, plan: Plan) -> int:
    """How many responses have no kept counts under ``plan`` (their block is new or changed)."""
    return _blocks(connection, survey_id, _name(plan), plan.definition, ResultFilters(completed_only=False)).live


def fill(engine: Engine, survey_id: int, plan: Plan, progress: Callable[[int, int], None]) -> None:
    """Count and keep every block whose kept counts are missing or out of date, :data:`FILL_BLOCKS` at a
    time, each in its own snapshot and stored at once (so work done survives an interruption);
    ``progress(responses counted, responses to count)`` after each."""
    with counting.snapshot(engine) as connection:
        blocks = _blocks(connection, survey_id, _name(plan), plan.definition, ResultFilters(completed_only=False))
    numbers = sorted(blocks.counted)
    done = 0
    for first in range(0, len(numbers), FILL_BLOCKS):
        with counting.snapshot(engine) as connection:
            fresh = _count_blocks(connection, survey_id, plan, numbers[first:first + FILL_BLOCKS])
        store(engine, fresh)
        done += sum(responses for responses, _revisions in fresh.signatures.values())
        progress(done, max(done, blocks.live))


def _count_blocks(connection: Connection, survey_id: int, plan: Plan, numbers: Sequence[int]) -> Fresh:
    """The counts of the responses of the blocks ``numbers`` (sorted), by block."""
    in_blocks, block = _in_blocks(numbers), _block()
    signatures = {number: (n, revisions) for number, n, revisions in connection.execute(
        select(block, func.count(), func.coalesce(func.sum(Response.revision), 0))
        .where(Response.survey_id == survey_id, in_blocks).group_by(block))}
    passing = select(Response.id, Response.version_id, Response.status).where(Response.survey_id == survey_id,
                                                                              in_blocks)
    responses = counting.counted_responses(survey_id, passing, plan, block)
    join = Join.PLANNED if connection.dialect.name != "sqlite" else Join.RESPONSES_FIRST
    fresh = Fresh(survey_id, _name(plan), plan.definition, signatures)
    for key, block, n, numbers_counted in counting.run(connection,
                                                       counting.count_selects(survey_id, plan, responses, join)):
        fresh.blocks[block].add(key, n, numbers_counted)
    return fresh


def _name(plan: Plan) -> str:
    """What a block's counts are of: the frequencies, or (with) the crosstabs by a variable; and what
    question's codes split them further."""
    name = f"crosstabs:{plan.variable}" if plan.variable else "frequencies"
    return f"{name} within:{plan.within}" if plan.within else name


def _in_blocks(numbers: Sequence[int]) -> ColumnElement[bool]:
    """Whether a response's id falls in one of the blocks ``numbers`` (sorted)."""
    return or_(false(), *(Response.id.between(first * BLOCK_SIZE, (last + 1) * BLOCK_SIZE - 1)
                          for first, last in _runs(numbers)))


def _block() -> ColumnElement[int]:
    """The block of a response."""
    return Response.id // BLOCK_SIZE


def _blocks(connection: Connection, survey_id: int, name: str, definition: str, filters: ResultFilters) -> Blocks:
    """Compare each block's signature now with the blocks kept; find the blocks whose responses that
    ``filters`` would count (of its statuses) all fall within its dates, or some do."""
    counts = case((Response.status == _COMPLETE, 1), else_=0 if filters.completed_only else 1)
    dated = selection.in_dates(filters)
    inside = case((and_(true(), *dated), counts), else_=0) if dated else counts
    block = _block()
    current = (select(block.label("block"), func.count().label("n"),
                      func.coalesce(func.sum(Response.revision), 0).label("revisions"),
                      func.sum(counts).label("relevant"), func.sum(inside).label("inside"))
               .where(Response.survey_id == survey_id).group_by(block).subquery("c"))
    kept = (select(ResultBlock.id, ResultBlock.block, ResultBlock.responses, ResultBlock.revisions)
            .where(ResultBlock.survey_id == survey_id, ResultBlock.name == name,
                   ResultBlock.definition == definition).subquery("kept"))
    rows = connection.execute(
        select(current.c.block, current.c.n, current.c.revisions, current.c.relevant, current.c.inside, kept.c.id,
               kept.c.responses, kept.c.revisions)
        .select_from(current.outerjoin(kept, kept.c.block == current.c.block))).all()
    read_kept, counted, live, total = [], {}, 0, 0
    for number, n, revisions, relevant, within, block_id, kept_n, kept_revisions in rows:
        total += n
        if (kept_n, kept_revisions) == (n, revisions) and within == relevant:
            read_kept.append(block_id)
        elif within:
            counted[number] = (n, revisions)
            live += within
    return Blocks(tuple(read_kept), counted, live, total)


def _kept_select(survey_id: int, kept_ids: Sequence[int], filters: ResultFilters):
    """The sums of the kept counts of the blocks ``kept_ids`` (of the statuses and versions ``filters``
    ask for), in the columns of :func:`~survey_app.results.counting.count_selects`."""
    kept = ResultCount.__table__
    columns = (kept.c.kind, kept.c.question_id, kept.c.item, kept.c.code, kept.c.number, kept.c.col,
               kept.c.within, kept.c.version_id, kept.c.status)
    chosen = [kept.c.block_id.in_(kept_ids)]
    if filters.completed_only:
        chosen.append(kept.c.status == _COMPLETE.value)
    if filters.version_numbers:
        chosen.append(kept.c.version_id.in_(selection.version_ids(survey_id, filters.version_numbers)))
    return (select(*columns, cast(null(), kept.c.n.type), func.sum(kept.c.n), func.sum(kept.c.total),
                   func.min(kept.c.low), func.max(kept.c.high))
            .where(*chosen).group_by(*columns))


def _runs(numbers: Sequence[int]) -> Iterator[tuple[int, int]]:
    """(first, last) of each run of consecutive numbers in the sorted ``numbers``."""
    start = None
    for index, number in enumerate(numbers):
        if start is None:
            start = number
        if index + 1 == len(numbers) or numbers[index + 1] != number + 1:
            yield start, number
            start = None


def store(engine: Engine, fresh: Fresh) -> None:
    """Keep the counts of the blocks counted afresh, in a transaction of its own; give up on a conflict.

    On SQLite, call it with no write pending in the caller's session (its write lock would hold this up).
    """
    if not fresh.blocks:
        return
    with Session(engine) as writer:
        try:
            db.begin_write(writer)
            writer.execute(delete(ResultBlock).where(
                ResultBlock.survey_id == fresh.survey_id, ResultBlock.name == fresh.name,
                or_(ResultBlock.definition != fresh.definition, ResultBlock.block.in_(list(fresh.blocks)))))
            made = writer.execute(insert(ResultBlock).returning(ResultBlock.block, ResultBlock.id), [
                {"survey_id": fresh.survey_id, "name": fresh.name, "definition": fresh.definition, "block": number,
                 "responses": fresh.signatures[number][0], "revisions": fresh.signatures[number][1]}
                for number in fresh.blocks]).all()
            # One Core executemany: the ORM would split the rows by which of their columns are NULL.
            writer.execute(insert(ResultCount.__table__), [
                _row(block_id, key, n, fresh.blocks[number].numbers.get(key))
                for number, block_id in made for key, n in fresh.blocks[number].items()])
            writer.commit()
        except DBAPIError as error:  # another page stored these blocks meanwhile, or the database is busy
            writer.rollback()
            log.info("result counts of survey %s not kept: %s", fresh.survey_id, error.orig)


def _row(block_id: int, key: Key, n: int, numbers: Numbers | None) -> dict:
    return {"block_id": block_id, "kind": key.kind, "question_id": key.question_id, "item": key.item,
            "code": key.code, "number": key.number, "col": key.col, "within": key.within,
            "version_id": key.version_id,
            "status": key.status.value, "n": n,
            "total": numbers.total if numbers else None, "low": numbers.low if numbers else None,
            "high": numbers.high if numbers else None}
