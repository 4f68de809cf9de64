"""Counts of complete responses kept between results pages, one block of response ids at a time.

A complete response never changes: its answers, version and status are final
(a page save or a repeated submit of a complete response changes nothing), and
responses are not deleted one by one. So the counts of the complete responses
whose ids fall in one block (``id // BLOCK_SIZE``) stay right for as long as
the block holds the same number of complete responses; a response completing
later (whatever its id: it may have been started long ago) changes that number
and the block is counted again. Each block is a :class:`ResultBlock` with its
:class:`ResultCount` rows, kept per survey, counting name (the frequencies, or
the frequencies and crosstabs by one variable) and :attr:`Plan.definition` (a
new questionnaire version that changes what is counted starts afresh).

:func:`read` reads in one snapshot of the database (see
:func:`~survey_app.results.counting.snapshot`): first how many complete
responses each block holds (and how many of them fall in the dates asked
for), then the sums of the kept counts of the blocks still right, and the
counts of every other response counted afresh: complete ones in changed or new
blocks, complete ones in blocks only partly within the dates, and partial ones
when asked for. Kept counts are per questionnaire version, so a version filter
just sums fewer of them; a block wholly outside the dates is skipped. Without
date or version filters the blocks counted afresh are then kept by
:func:`store`, in a transaction of its own (a concurrent page storing the same
block first wins; the other just keeps its numbers).
Why blocks rather than a high-water mark: a response's id is given when it
starts, its ``submitted_at`` by the clock of whichever web process submits
it, and neither follows the order in which completions commit, so no mark
tells which responses the kept counts lack; a block's count of complete
responses does.

A feature that changes or deletes complete responses must delete the survey's
:class:`ResultBlock` rows in the same transaction.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (ColumnElement, Connection, Engine, and_, case, cast, delete, false, func, insert, literal, null,
                        or_, select, true)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from survey_app import db
from survey_app.models import Response, ResponseStatus, ResultBlock, ResultCount
from survey_app.results import counting, selection
from survey_app.results.counting import RESPONSES, Counts, Join, Key, Numbers, Plan
from survey_app.results.tables import ResultFilters

log = logging.getLogger(__name__)

#: Response ids per block: a changed block costs a count of this many responses.
BLOCK_SIZE = 4096
#: Blocks counted per statement when filling kept counts in the background (see :func:`fill`).
FILL_BLOCKS = 4
_COMPLETE = ResponseStatus.COMPLETE


def covers(filters: ResultFilters) -> bool:
    """Whether :func:`read` can serve ``filters``: any but choice filters."""
    return not filters.choice_filters


@dataclass(frozen=True)
class Blocks:
    """The survey's blocks as they stand: kept ones to read (their ids), and the numbers of those to count afresh.

    ``live`` is how many responses must be counted afresh, of ``total``.
    """

    kept: tuple[int, ...]
    counted: tuple[int, ...]
    live: int
    total: int


@dataclass
class Fresh:
    """Counts of whole blocks counted afresh, for :func:`store` to keep."""

    survey_id: int
    name: str
    definition: str
    blocks: defaultdict[int, Counts] = field(default_factory=lambda: defaultdict(Counts))


def read(connection: Connection, survey_id: int, plan: Plan, filters: ResultFilters) -> tuple[Counts, Fresh | None]:
    """Count ``plan`` over the responses that pass ``filters`` (see :func:`covers`), in the snapshot ``connection``.

    Also returns the blocks counted afresh that :func:`store` should keep (None with date or version filters).
    """
    blocks = _blocks(connection, survey_id, _name(plan), plan.definition, filters)
    whole = not selection.in_dates(filters) and not filters.version_numbers
    fresh = Fresh(survey_id, _name(plan), plan.definition) if whole else None
    passing = selection.passing(survey_id, filters).where(or_(Response.status != _COMPLETE,
                                                              _in_blocks(blocks.counted)))
    responses = counting.counted_responses(survey_id, passing, plan.variable, _block() if whole else None)
    join = (Join.PLANNED if connection.dialect.name != "sqlite"
            else Join.RESPONSES_FIRST if blocks.live * 4 <= blocks.total else Join.ANSWERS_FIRST)
    selects = counting.count_selects(survey_id, plan, responses, join)
    if blocks.kept:
        selects.append(_kept_select(survey_id, blocks.kept, filters))
    found = Counts()
    for key, block, n, numbers in counting.run(connection, selects):
        found.add(key, n, numbers)
        if fresh is not None and block is not None:
            fresh.blocks[block].add(key, n, numbers)
    return found, fresh


def backlog(connection: Connection, survey_id: int, plan: Plan) -> int:
    """How many complete responses have no kept counts under ``plan`` (their block is new or changed)."""
    return _blocks(connection, survey_id, _name(plan), plan.definition, ResultFilters()).live


def fill(engine: Engine, survey_id: int, plan: Plan, progress: Callable[[int, int], None]) -> None:
    """Count and keep every block of complete responses whose kept counts are missing or out of date,
    :data:`FILL_BLOCKS` at a time, each in its own snapshot and stored at once (so work done survives
    an interruption); ``progress(responses counted, responses to count)`` after each."""
    with counting.snapshot(engine) as connection:
        blocks = _blocks(connection, survey_id, _name(plan), plan.definition, ResultFilters())
    done = 0
    for first in range(0, len(blocks.counted), FILL_BLOCKS):
        with counting.snapshot(engine) as connection:
            fresh = _count_blocks(connection, survey_id, plan, blocks.counted[first:first + FILL_BLOCKS])
        store(engine, fresh)
        done += sum(n for counts in fresh.blocks.values() for key, n in counts.items() if key.kind == RESPONSES)
        progress(done, max(done, blocks.live))


def _count_blocks(connection: Connection, survey_id: int, plan: Plan, numbers: Sequence[int]) -> Fresh:
    """The counts of the complete responses of the blocks ``numbers``, by block."""
    passing = select(Response.id, Response.version_id, Response.status).where(
        Response.survey_id == survey_id, Response.status == _COMPLETE, _in_blocks(numbers))
    responses = counting.counted_responses(survey_id, passing, plan.variable, _block())
    join = Join.PLANNED if connection.dialect.name != "sqlite" else Join.RESPONSES_FIRST
    fresh = Fresh(survey_id, _name(plan), plan.definition)
    for key, block, n, numbers_counted in counting.run(connection,
                                                       counting.count_selects(survey_id, plan, responses, join)):
        fresh.blocks[block].add(key, n, numbers_counted)
    return fresh


def _name(plan: Plan) -> str:
    """What a block's counts are of: the frequencies, or (with) the crosstabs by a variable."""
    return f"crosstabs:{plan.variable}" if plan.variable else "frequencies"


def _in_blocks(numbers: Sequence[int]) -> ColumnElement[bool]:
    """Whether a response's id falls in one of the blocks ``numbers`` (sorted)."""
    return or_(false(), *(Response.id.between(first * BLOCK_SIZE, (last + 1) * BLOCK_SIZE - 1)
                          for first, last in _runs(numbers)))


def _block() -> ColumnElement[int]:
    """The block of a complete response; NULL for a partial one."""
    return case((Response.status == _COMPLETE, Response.id // BLOCK_SIZE))


def _blocks(connection: Connection, survey_id: int, name: str, definition: str, filters: ResultFilters) -> Blocks:
    """Compare the complete responses each block holds now with the blocks kept; find the blocks
    within the dates of ``filters``, and those partly so."""
    block = _block()
    counted = [Response.survey_id == survey_id] + ([Response.status == _COMPLETE] if filters.completed_only else [])
    inside = func.count(case((and_(true(), *selection.in_dates(filters)), 1)))
    current = (select(block.label("block"), func.count().label("n"), inside.label("inside"))
               .where(*counted).group_by(block).subquery("c"))
    kept = (select(ResultBlock.id, ResultBlock.block, ResultBlock.responses)
            .where(ResultBlock.survey_id == survey_id, ResultBlock.name == name,
                   ResultBlock.definition == definition).subquery("kept"))
    rows = connection.execute(select(current.c.block, current.c.n, current.c.inside, kept.c.id, kept.c.responses)
                              .select_from(current.outerjoin(kept, kept.c.block == current.c.block))).all()
    read_kept, counted_afresh, live, total = [], [], 0, 0
    for number, n, within, block_id, responses in rows:
        total += n
        if number is None:  # partial responses: always counted afresh
            live += within
        elif responses == n and within == n:
            read_kept.append(block_id)
        elif within:
            counted_afresh.append(number)
            live += within
    return Blocks(tuple(read_kept), tuple(sorted(counted_afresh)), live, total)


def _kept_select(survey_id: int, kept_ids: Sequence[int], filters: ResultFilters):
    """The sums of the kept counts of the blocks ``kept_ids`` (of the versions ``filters`` ask for),
    in the columns of :func:`~survey_app.results.counting.count_selects`."""
    kept = ResultCount.__table__
    columns = (kept.c.kind, kept.c.question_id, kept.c.item, kept.c.code, kept.c.number, kept.c.col,
               kept.c.version_id)
    versions = ([kept.c.version_id.in_(selection.version_ids(survey_id, filters.version_numbers))]
                if filters.version_numbers else [])
    return (select(*columns, literal(_COMPLETE, Response.__table__.c.status.type), cast(null(), kept.c.n.type),
                   func.sum(kept.c.n), func.sum(kept.c.total), func.min(kept.c.low), func.max(kept.c.high))
            .where(kept.c.block_id.in_(kept_ids), *versions).group_by(*columns))


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
                 "responses": sum(n for key, n in counts.items() if key.kind == RESPONSES)}
                for number, counts in fresh.blocks.items()]).all()
            writer.execute(insert(ResultCount), [_row(block_id, key, n, fresh.blocks[number].numbers.get(key))
                                                 for number, block_id in made
                                                 for key, n in fresh.blocks[number].items()])
            writer.commit()
        except DBAPIError as error:  # another page stored these blocks meanwhile, or the database is busy
            writer.rollback()
            log.info("result counts of survey %s not kept: %s", fresh.survey_id, error.orig)


def _row(block_id: int, key: Key, n: int, numbers: Numbers | None) -> dict:
    return {"block_id": block_id, "kind": key.kind, "question_id": key.question_id, "item": key.item,
            "code": key.code, "number": key.number, "col": key.col, "version_id": key.version_id, "n": n,
            "total": numbers.total if numbers else None, "low": numbers.low if numbers else None,
            "high": numbers.high if numbers else None}
