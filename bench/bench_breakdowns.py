"""Benchmark the results queries against a hand-written crosstab, on SQLite and PostgreSQL.

    .venv/bin/python bench/bench_breakdowns.py [--responses 100000] [--postgres URL | --no-postgres]

Fills a SQLite database (and a PostgreSQL one, if reachable, in a throw-away
schema dropped at the end) with the same N responses (90% complete) to a
30-question questionnaire, with bulk Core inserts (PostgreSQL's answers with
COPY: an executemany of millions of rows would take minutes), then times, in
the same run:

(a) ``queries.crosstabs`` for one question by gender (the whole call);
(b) a hand-written ``SELECT a.code, g.code, COUNT(*) FROM answers a JOIN answers g ... GROUP BY``
    over the same tables;
(c) the results page's query set: ``queries.summary`` plus the crosstabs of
    every question by gender (the breakdowns section).

(a) and (b) alternate, ``--runs`` times each after a warm-up, and the fastest
run of each counts (the least disturbed by other load on the machine); (c)
runs once. Not part of the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy import Connection, Engine, UniqueConstraint, create_engine, event, insert, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from survey_app.models import Answer, Base, QuestionnaireVersion, Response, Survey, User
from survey_app.models.types import utcnow
from survey_app.questionnaire import Questionnaire, load_questionnaire
from survey_app.responses.storage import answer_rows
from survey_app.results import queries
from survey_app.results.tables import ResultFilters
from survey_app.surveys import canonical_json

POSTGRES_URL = os.environ.get("SURVEY_APP_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CHUNK = 20_000
BASELINE = text(
    "SELECT a.code, g.code, COUNT(*) FROM answers a "
    "JOIN answers g ON g.response_id = a.response_id AND g.question_id = :variable "
    "WHERE a.survey_id = :survey AND a.question_id = :question "
    "GROUP BY a.code, g.code"
)


def questionnaire_document() -> dict:
    """30 questions: gender, 18 single choice, 4 multiple choice, a matrix, 3 ratings, 2 integers, a text."""
    def choices(count: int) -> list[dict]:
        return [{"value": f"c{number}", "label": f"Choice {number}"} for number in range(1, count + 1)]

    questions = [{"id": "gender", "type": "single_choice", "label": "Gender", "choices": [
        {"value": "female", "label": "Female"}, {"value": "male", "label": "Male"},
        {"value": "prefer_not", "label": "Prefer not to say"}]}]
    questions += [{"id": f"q{n:02d}", "type": "single_choice", "label": f"Q{n}", "choices": choices(5)}
                  for n in range(1, 19)]
    questions += [{"id": f"mc{n}", "type": "multiple_choice", "label": f"MC{n}", "choices": choices(6)}
                  for n in range(1, 5)]
    questions.append({"id": "grid", "type": "matrix", "label": "Grid", "choices": choices(3),
                      "rows": [{"value": f"r{n}", "label": f"Row {n}"} for n in range(1, 5)]})
    questions += [{"id": f"rate{n}", "type": "rating", "label": f"Rate {n}"} for n in range(1, 4)]
    questions += [{"id": f"num{n}", "type": "integer", "label": f"Number {n}"} for n in range(1, 3)]
    questions.append({"id": "comment", "type": "text", "label": "Comment"})
    return {"id": "bench", "version": "1", "languages": ["en"], "title": "Bench",
            "pages": [{"id": "p1", "questions": questions}]}


def random_answers(questionnaire: Questionnaire, rng: random.Random) -> dict:
    """One respondent's answers; gender is skipped by 3%, every other question by 5%."""
    answers: dict = {}
    for question in questionnaire.all_questions():
        if rng.random() < (0.03 if question.id == "gender" else 0.05):
            continue
        values = [choice.value for choice in question.choices]
        match question.type:
            case "single_choice":
                answers[question.id] = rng.choices(values, weights=range(len(values), 0, -1))[0]
            case "multiple_choice":
                answers[question.id] = rng.sample(values, rng.randint(1, 3))
            case "matrix":
                answers[question.id] = {row.value: rng.choice(values) for row in question.rows}
            case "rating":
                answers[question.id] = rng.randint(1, 5)
            case "integer":
                answers[question.id] = rng.randint(18, 90)
            case "text":
                answers[question.id] = "a comment"
    return answers


def prepare(engine: Engine, questionnaire: Questionnaire) -> None:
    """Create the tables and the survey (id 1) with its version (id 1).

    The answers' indexes are built after the load (see :func:`finish`), but
    SQLite's unique one, which cannot be dropped; PostgreSQL's tables are
    UNLOGGED (no write-ahead log: faster to fill, read like logged ones).
    """
    Base.metadata.create_all(engine)
    now = utcnow()
    with engine.begin() as connection:
        for index in Answer.__table__.indexes:
            connection.execute(DropIndex(index))
        if engine.dialect.name == "postgresql":
            for table in reversed(Base.metadata.sorted_tables):  # referencing tables first
                connection.execute(text(f'ALTER TABLE "{table.name}" SET UNLOGGED'))
            connection.execute(DropConstraint(_unique_answer()))
        connection.execute(insert(User), {"id": 1, "email": "bench@example.org", "name": "Bench",
                                          "role": "researcher", "password_hash": "x"})
        connection.execute(insert(Survey), {"id": 1, "slug": "bench", "title": "Bench", "owner_id": 1})
        connection.execute(insert(QuestionnaireVersion), {
            "id": 1, "survey_id": 1, "number": 1, "definition": canonical_json(questionnaire),
            "sha256": uuid.uuid4().hex * 2, "created_at": now})


def _unique_answer() -> UniqueConstraint:
    return next(c for c in Answer.__table__.constraints if isinstance(c, UniqueConstraint))


def finish(engine: Engine) -> None:
    """Build the indexes left out while loading, and gather the planner's statistics."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(AddConstraint(_unique_answer()))
        for index in Answer.__table__.indexes:
            connection.execute(CreateIndex(index))
        connection.execute(text("ANALYZE"))


def fill(engines: Sequence[Engine], questionnaire: Questionnaire, count: int) -> dict[Engine, float]:
    """Store ``count`` responses (90% complete) in every database; returns the seconds each one took."""
    rng = random.Random(42)
    now = utcnow()
    spent = dict.fromkeys(engines, 0.0)
    for first in range(0, count, CHUNK):
        numbers = range(first + 1, min(first + CHUNK, count) + 1)
        responses = [{"id": number, "survey_id": 1, "version_id": 1, "submission_id": f"s{number}",
                      "status": "complete" if rng.random() < 0.9 else "partial", "language": "en", "data": {},
                      "started_at": now, "updated_at": now, "submitted_at": now} for number in numbers]
        answers = [{**row, "survey_id": 1, "response_id": number}
                   for number in numbers for row in answer_rows(questionnaire, random_answers(questionnaire, rng))]
        for engine in engines:
            start = time.perf_counter()
            with engine.begin() as connection:
                connection.execute(insert(Response), responses)
                insert_answers(connection, answers)
            spent[engine] += time.perf_counter() - start
    return spent


def insert_answers(connection: Connection, rows: list[dict]) -> None:
    """Insert answer rows: COPY on PostgreSQL, a Core executemany elsewhere."""
    if connection.dialect.name != "postgresql":
        connection.execute(insert(Answer), rows)
        return
    columns = ("survey_id", "response_id", "question_id", "entry", "item", "code", "number", "text")
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY answers ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(tuple(row[column] for column in columns))


def timed(function: Callable[[], object], runs: int) -> float:
    """The fastest wall time of ``runs`` calls, in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def measure(engine: Engine, questionnaire: Questionnaire, runs: int) -> dict[str, float]:
    """The three timings (and the ratio of the first two) on one database."""
    filters = ResultFilters()
    with Session(engine) as session:
        def ours() -> object:
            return queries.crosstabs(session, 1, questionnaire, filters, "gender", ["q01"])

        def baseline() -> object:
            return session.execute(BASELINE, {"variable": "gender", "survey": 1, "question": "q01"}).all()

        ours(), baseline()
        pairs = [(timed(ours, 1), timed(baseline, 1)) for _ in range(runs)]
        summary = timed(lambda: queries.summary(session, 1, questionnaire, filters), 1)
        breakdown = timed(lambda: queries.crosstabs(session, 1, questionnaire, filters, "gender"), 1)
    crosstab, base = min(pair[0] for pair in pairs), min(pair[1] for pair in pairs)
    return {"crosstab": crosstab, "baseline": base, "ratio": crosstab / base, "summary": summary,
            "breakdown": breakdown, "page": summary + breakdown}


def databases(args: argparse.Namespace, directory: Path, stack: ExitStack) -> dict[str, Engine]:
    """SQLite, and PostgreSQL in a throw-away schema (dropped when ``stack`` closes) when it is reachable."""
    sqlite = create_engine(f"sqlite:///{directory / 'bench.sqlite3'}")
    event.listen(sqlite, "connect", _fast_sqlite)
    stack.callback(sqlite.dispose)
    found = {"SQLite": sqlite}
    if args.no_postgres:
        return found
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.postgres)
    stack.callback(admin.dispose)
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as error:
        print(f"PostgreSQL not reachable ({error.orig}); skipped")
        return found
    stack.callback(_drop_schema, admin, schema)
    found["PostgreSQL"] = create_engine(args.postgres, connect_args={"options": f"-csearch_path={schema}"})
    stack.callback(found["PostgreSQL"].dispose)
    return found


def _drop_schema(admin: Engine, schema: str) -> None:
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _fast_sqlite(dbapi_connection, _record) -> None:
    """A throw-away database need not survive a crash: skip the syncs while building."""
    dbapi_connection.execute("PRAGMA synchronous=OFF")
    dbapi_connection.execute("PRAGMA journal_mode=MEMORY")


def main() -> None:
    """Build, time and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--postgres", default=POSTGRES_URL)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    questionnaire = load_questionnaire(json.dumps(questionnaire_document()))
    with tempfile.TemporaryDirectory() as directory, ExitStack() as stack:
        engines = databases(args, Path(directory), stack)
        for engine in engines.values():
            prepare(engine, questionnaire)
        spent = fill(list(engines.values()), questionnaire, args.responses)
        rows = []
        for name, engine in engines.items():
            start = time.perf_counter()
            finish(engine)
            built = spent[engine] + time.perf_counter() - start
            rows.append((name, built, measure(engine, questionnaire, args.runs)))
    print(f"\n{args.responses:,} responses, 30 questions; milliseconds (fastest run)\n")
    print(f"{'database':<11} {'load s':>7} {'(a) ours':>9} {'(b) base':>9} {'a/b':>6} "
          f"{'summary':>9} {'crosstabs':>10} {'(c) page':>9}")
    for name, built, m in rows:
        print(f"{name:<11} {built:>7.1f} {m['crosstab']:>9.1f} {m['baseline']:>9.1f} {m['ratio']:>6.2f} "
              f"{m['summary']:>9.1f} {m['breakdown']:>10.1f} {m['page']:>9.1f}")


if __name__ == "__main__":
    main()
