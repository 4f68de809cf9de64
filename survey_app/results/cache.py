"""Counts of complete responses kept between results pages, one block of response ids at a time.

A complete response never changes: its answers, version and status are final
(a page save or a repeated submit of a complete response changes nothing), and
responses are not deleted one by one. So the counts of the complete responses
whose ids fall in one block (``id // BLOCK_SIZE``) stay right for as long as
the block holds the same number of complete responses; a response completing
later (whatever its id: it may have been started long ago) changes that number
and the block is counted again. Each block is a :class:`ResultBlock` with its
:class:`ResultCount` rows, kept per survey, counting name (the frequencies, or
the crosstabs by one variable) and :attr:`Plan.definition` (a new questionnaire
version that changes what is counted starts afresh).

:func:`count` reads in one snapshot of the database (see
:func:`~survey_app.results.counting.snapshot`): first how many complete
responses each block holds, then the sums of the kept counts of the blocks
still right, and the counts of every other response (complete ones in changed
or new blocks, by block, and partial ones when asked for) counted afresh. The
changed blocks are then stored in a transaction of their own (a concurrent
page storing the same block first wins; the other just keeps its numbers).
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
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import (ColumnElement, Connection, Engine, and_, case, cast, delete, false, func, insert, literal, null,
                        or_, select)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from survey_app import db
from survey_app.models import Response, ResponseStatus, ResultBlock, ResultCount
from survey_app.results import counting
from survey_app.results.counting import RESPONSES, Counts, Join, Key, Plan
from survey_app.results.tables import ResultFilters

log = logging.getLogger(__name__)

#: Response ids per block: a changed block costs a count of this many responses.
BLOCK_SIZE = 4096
_COMPLETE = ResponseStatus.COMPLETE


def covers(filters: ResultFilters) -> bool:
    """Whether :func:`count` can serve ``filters``: no dates, versions or choices (complete, or all, responses)."""
    return (filters.date_from is None and filters.date_to is None and not filters.version_numbers
            and not filters.choice_filters)


@dataclass(frozen=True)
class Blocks:
    """The survey's blocks as they stand: kept ones still right (their ids), and the numbers of the others.

    ``live`` is how many responses must be counted afresh, of ``total``.
    """

    kept: tuple[int, ...]
    changed: tuple[int, ...]
    live: int
    total: int


def count(session: Session, survey_id: int, plan: Plan, *, with_partial: bool) -> Counts:
    """Count ``plan`` over the survey's complete responses (and its partial ones if ``with_partial``).

    Reads and writes through connections of its own: on SQLite, call it with
    no write pending in ``session`` (its write lock would hold the store up).
    """
    name = f"crosstabs:{plan.variable}" if plan.variable else "frequencies"
    engine = session.get_bind()
    with counting.snapshot(engine) as connection:
        blocks = _blocks(connection, survey_id, name, plan.definition, with_partial)
        found, fresh = _count(connection, survey_id, plan, blocks, with_partial)
    if fresh:
        _store(engine, survey_id, name, plan.definition, fresh)
    return found


def _block() -> ColumnElement[int]:
    """The block of a complete response; NULL for a partial one."""
    return case((Response.status == _COMPLETE, Response.id // BLOCK_SIZE))


def _blocks(connection: Connection, survey_id: int, name: str, definition: str, with_partial: bool) -> Blocks:
    """Compare the responses each block holds now with the blocks kept."""
    counted = [Response.survey_id == survey_id] + ([] if with_partial else [Response.status == _COMPLETE])
    block = _block()
    current = select(block.label("block"), func.count().label("n")).where(*counted).group_by(block).subquery("c")
    kept = (select(ResultBlock.id, ResultBlock.block, ResultBlock.responses)
            .where(ResultBlock.survey_id == survey_id, ResultBlock.name == name,
                   ResultBlock.definition == definition).subquery("kept"))
    rows = connection.execute(select(current.c.block, current.c.n, kept.c.id, kept.c.responses)
                              .select_from(current.outerjoin(kept, kept.c.block == current.c.block))).all()
    right = [(block_id, n) for block, n, block_id, responses in rows if block is not None and responses == n]
    changed = tuple(sorted(block for block, n, block_id, responses in rows if block is not None and responses != n))
    total = sum(n for _block, n, _id, _responses in rows)
    return Blocks(tuple(block_id for block_id, _n in right), changed, total - sum(n for _id, n in right), total)


def _count(connection: Connection, survey_id: int, plan: Plan, blocks: Blocks,
           with_partial: bool) -> tuple[Counts, dict[int, Counts]]:
    """The counts: kept ones summed, the rest counted afresh; and the fresh counts of each changed block."""
    changed = or_(false(), *(Response.id.between(first * BLOCK_SIZE, (last + 1) * BLOCK_SIZE - 1)
                             for first, last in _runs(blocks.changed)))
    live = (or_(Response.status != _COMPLETE, changed) if with_partial
            else and_(Response.status == _COMPLETE, changed))
    passing = select(Response.id, Response.version_id, Response.status).where(Response.survey_id == survey_id, live)
    responses = counting.counted_responses(survey_id, passing, plan.variable, _block())
    join = (Join.PLANNED if connection.dialect.name != "sqlite"
            else Join.RESPONSES_FIRST if blocks.live * 4 <= blocks.total else Join.ANSWERS_FIRST)
    selects = counting.count_selects(survey_id, plan, responses, join)
    if blocks.kept:
        kept = ResultCount.__table__
        columns = (kept.c.kind, kept.c.question_id, kept.c.item, kept.c.code, kept.c.number, kept.c.col,
                   kept.c.version_id)
        selects.append(select(*columns, literal(_COMPLETE, Response.__table__.c.status.type),
                              cast(null(), kept.c.n.type), func.sum(kept.c.n))
                       .where(kept.c.block_id.in_(blocks.kept)).group_by(*columns))
    found: Counts = Counter()
    fresh: defaultdict[int, Counts] = defaultdict(Counter)
    for key, block, n in counting.run(connection, selects):
        found[key] += n
        if block is not None:
            fresh[block][key] += n
    return found, fresh


def _runs(numbers: Sequence[int]) -> Iterator[tuple[int, int]]:
    """(first, last) of each run of consecutive numbers in the sorted ``numbers``."""
    start = None
    for index, number in enumerate(numbers):
        if start is None:
            start = number
        if index + 1 == len(numbers) or numbers[index + 1] != number + 1:
            yield start, number
            start = None


def _store(engine: Engine, survey_id: int, name: str, definition: str, fresh: dict[int, Counts]) -> None:
    """Keep the counts of the blocks counted afresh, in a transaction of its own; give up on a conflict."""
    with Session(engine) as writer:
        try:
            db.begin_write(writer)
            writer.execute(delete(ResultBlock).where(
                ResultBlock.survey_id == survey_id, ResultBlock.name == name,
                or_(ResultBlock.definition != definition, ResultBlock.block.in_(list(fresh)))))
            made = writer.execute(insert(ResultBlock).returning(ResultBlock.block, ResultBlock.id), [
                {"survey_id": survey_id, "name": name, "definition": definition, "block": number,
                 "responses": sum(n for key, n in counts.items() if key.kind == RESPONSES)}
                for number, counts in fresh.items()]).all()
            writer.execute(insert(ResultCount), [_row(block_id, key, n) for number, block_id in made
                                                 for key, n in fresh[number].items()])
            writer.commit()
        except DBAPIError as error:  # another page stored these blocks meanwhile, or the database is busy
            writer.rollback()
            log.info("result counts of survey %s not kept: %s", survey_id, error.orig)


def _row(block_id: int, key: Key, n: int) -> dict:
    return {"block_id": block_id, "kind": key.kind, "question_id": key.question_id, "item": key.item,
            "code": key.code, "number": key.number, "col": key.col, "version_id": key.version_id, "n": n}
