"""Streaming a survey's responses out of the database as table rows, batch by batch.

Responses are read by one statement, filtered exactly as the results page
filters them (:func:`survey_app.results.queries.filtered_responses`) and
ordered by id, and fetched ``batch_size`` at a time (``yield_per``: a
server-side cursor on PostgreSQL). Each batch then costs two more statements,
its answers and its plugin metrics (``response_id IN (...)``), and is turned
into rows and forgotten, so memory stays flat whatever the number of
responses. (Keyset pagination, ``WHERE id > last ORDER BY id LIMIT n``, was
quadratic here: SQLite reads the filter's index and sorts every match again
for each page.)
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from survey_app.models import Answer, Response, ResponseMetric
from survey_app.results.queries import filtered_responses
from survey_app.results.tables import ResultFilters

from .columns import Cell, Plan, Record, Table

DEFAULT_BATCH = 250
_FETCH = 5000  # answer rows fetched from the cursor at a time
_RESPONSE = (Response.id, Response.submission_id, Response.submitted_at, Response.started_at, Response.language,
             Response.version_id, Response.status)
_ANSWERS = Answer.__table__.c  # table columns: rows come back through Core, without ORM processing
_ANSWER_COLUMNS = (_ANSWERS.response_id, _ANSWERS.entry, _ANSWERS.question_id, _ANSWERS.item, _ANSWERS.code,
                   _ANSWERS.number, _ANSWERS.text)
_METRICS = ResponseMetric.__table__.c

#: One response's rows: its row of the Responses table, and its rows of each repeat group's table.
ResponseRows = tuple[list[Any], dict[str, list[list[Any]]]]


def count_responses(session: Session, survey_id: int, filters: ResultFilters) -> int:
    """How many responses pass ``filters``."""
    return session.execute(select(func.count()).select_from(filtered_responses(survey_id, filters))).scalar_one()


def response_rows(plan: Plan, session: Session, survey_id: int, filters: ResultFilters, batch_size: int = DEFAULT_BATCH,
                  progress: Callable[[int], None] | None = None) -> Iterator[ResponseRows]:
    """Each response's row of the Responses table and rows of the repeat tables, in response id order.

    ``progress(done)`` is called after each batch with the number of responses done so far.
    """
    done = 0
    main = _RowMaker(plan.responses)
    repeats = {table.repeat_id: _RowMaker(table) for table in plan.repeats}
    for batch, answers, repeated, metrics in _batches(session, survey_id, filters, batch_size,
                                                      bool(plan.metric_columns)):
        for response in batch:
            found = answers.get(response.id, ())
            repeat_rows: dict[str, list[list[Any]]] = {}
            if response.id in repeated:
                by_entry: dict[int, list[tuple]] = defaultdict(list)
                for answer in found:
                    by_entry[answer[1]].append(answer)
                for entry in sorted(by_entry.keys() - {0}):
                    for repeat_id, maker in repeats.items():
                        if maker.reads(by_entry[entry]):
                            row = maker.row(response, entry, by_entry[entry], {})
                            repeat_rows.setdefault(repeat_id, []).append(row)
                found = by_entry.get(0, ())
            yield main.row(response, 0, found, metrics.get(response.id, {})), repeat_rows
        done += len(batch)
        if progress is not None:
            progress(done)


class _RowMaker:
    """Makes one table's rows: each stored answer goes straight to its column, then computed columns are called."""

    def __init__(self, table: Table):
        self.width = len(table.columns)
        self.targets: dict[str, dict[str, tuple]] = {}  # question id -> item -> (index, labels, convert)
        for index, column in enumerate(table.columns):
            if column.source is not None:
                question_id, item = column.source
                self.targets.setdefault(question_id, {})[item] = (index, column.labels, column.convert)
        self.computed = [(index, column.value) for index, column in enumerate(table.columns) if column.value]
        self.grouped = {column.reads for column in table.columns if column.reads}
        self.questions = set(self.targets) | self.grouped

    def reads(self, answers: Sequence[tuple]) -> bool:
        """Whether ``answers`` (rows of :data:`_ANSWER_COLUMNS`) answer one of this table's questions."""
        return any(answer[2] in self.questions for answer in answers)

    def row(self, response: Any, entry: int, answers: Sequence[tuple], metrics: dict) -> list[Any]:
        """The row of one response (or repeat entry) from its stored answers."""
        row: list[Any] = [None] * self.width
        targets, grouped_ids = self.targets, self.grouped
        grouped: dict[str, dict[str, Cell]] = {}
        for _response_id, _entry, question_id, item, code, number, text in answers:
            if question_id in grouped_ids:
                grouped.setdefault(question_id, {})[item] = (code, number, text)
            columns = targets.get(question_id)
            if columns is None:
                continue
            target = columns.get(item)
            if target is None:
                continue
            index, labels, convert = target
            if convert is not None:
                row[index] = convert((code, number, text))
            elif code is not None:
                row[index] = labels.get(code, code) if labels else code
            else:
                row[index] = number if number is not None else text
        record = Record(response, entry, grouped, metrics)
        for index, value in self.computed:
            row[index] = value(record)
        return row


def _batches(session: Session, survey_id: int, filters: ResultFilters, batch_size: int, with_metrics: bool):
    """(responses, answers by response id, ids of responses with repeat entries, metrics by response id) per batch.

    A response's answers are rows of :data:`_ANSWER_COLUMNS`.
    """
    passing = filtered_responses(survey_id, filters)
    query = (select(*_RESPONSE).join(passing, passing.c.id == Response.id).order_by(Response.id)
             .execution_options(yield_per=batch_size))
    for batch in session.execute(query).partitions():
        ids = [response.id for response in batch]
        answers: dict[int, list[tuple]] = defaultdict(list)
        repeated: set[int] = set()
        for chunk in _answer_chunks(session, ids):
            for answer in chunk:
                answers[answer[0]].append(answer)
                if answer[1]:
                    repeated.add(answer[0])
        metrics: dict[int, dict] = defaultdict(dict)
        if with_metrics:
            for response_id, plugin, name, number, code in session.execute(
                    select(_METRICS.response_id, _METRICS.plugin, _METRICS.name, _METRICS.number, _METRICS.code)
                    .where(_METRICS.response_id.in_(ids))):
                metrics[response_id][(plugin, name)] = (number, code)
        yield batch, answers, repeated, metrics


def _answer_chunks(session: Session, ids: list[int]) -> Iterator[list[tuple]]:
    """The answers of the responses ``ids`` as plain tuples of :data:`_ANSWER_COLUMNS`, a chunk at a time.

    They come straight from the database driver's cursor: building a SQLAlchemy
    row for each of a million answers costs about as much as reading them. The
    columns need no conversion (integers, texts and floats come back as such),
    and the ids, integers, are written into the statement.
    """
    connection = session.connection()
    statement = select(*_ANSWER_COLUMNS).where(_ANSWERS.response_id.in_(ids))
    cursor = connection.connection.cursor()
    try:
        cursor.execute(str(statement.compile(connection, compile_kwargs={"literal_binds": True})))
        while chunk := cursor.fetchmany(_FETCH):
            yield chunk
    finally:
        cursor.close()
