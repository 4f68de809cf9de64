"""Benchmark the results: the counting statements and the whole results page, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.bench_breakdowns

Fills a fresh, migrated database (each of ``BENCH_BACKENDS``) with N responses
(``BENCH_BREAKDOWNS_RESPONSES``, default 100,000; 90% complete) to a
30-question questionnaire that offers a breakdown by gender (one of its number
questions continuous: almost every amount distinct), with bulk Core inserts
(PostgreSQL's answers with COPY). The responses started over the last 60 days
in id order, give or take a few hours; complete ones were submitted 0-48 hours
after they started, none in the future. Then it times, in the same run, each
against a bare baseline (hand-written SQL over the same tables):

* the crosstab of one question by gender, counted in SQL, against
  ``SELECT a.code, g.code, COUNT(*) FROM answers a JOIN answers g ... GROUP BY``;
* the frequencies and crosstabs of every question by gender (one count),
  and the frequencies alone, counted afresh in SQL (``cached=False``),
  against one hand-written ``GROUP BY`` of all the complete responses'
  answers (by gender, for the crosstabs) plus a ``COUNT(DISTINCT)`` of the
  respondents of the questions stored in several rows per respondent (the
  bases a ``GROUP BY`` cannot give);
* the results page (``GET``, HTML rendered, through the Flask test client):
  its first view with the breakdown (counted in a background job while the
  page shows its progress: the time until the results show), then views
  served by the kept counts (with and without the breakdown), after new
  responses, with partial responses, filtered by date (the last 30 days: the
  boundary falls inside the data), by version, by a choice (from the counts
  split by its question, and by gender too with the breakdown) and by two
  choices (counted afresh), each against the bare crosstabs by gender (which
  give the frequencies too);
* after those, from a cold cache (every kept count deleted), the peak Python
  memory (``tracemalloc``) of counting the page's frequencies and crosstabs,
  which fills the kept counts, against that of the bare statements' ``.all()``.

Each time is the fastest of ``BENCH_RUNS`` runs (default 3), alternating
with its baseline; the first view and the memory are measured once. Results go
to stdout as ``BENCH`` lines (see :mod:`bench.common`), progress to stderr.
"""
from __future__ import annotations

import json
import random
import re
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import Connection, Engine, UniqueConstraint, create_engine, delete, insert, select, text
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from bench.common import backends, emit, fresh_database, handle_termination, log, record, setting
from survey_app import create_app, db
from survey_app.auth.passwords import hash_password
from survey_app.models import (Answer, Base, QuestionnaireVersion, Response, ResponseStatus, ResultBlock, ResultCount,
                               Survey, User)
from survey_app.models.types import utcnow
from survey_app.questionnaire import Questionnaire, load_questionnaire
from survey_app.responses.storage import answer_rows, save_page, submit
from survey_app.results import queries
from survey_app.results.tables import ResultFilters
from survey_app.surveys import canonical_json, questionnaire_of

RESPONSES = int(setting("BENCH_BREAKDOWNS_RESPONSES", 100_000))
RUNS = int(setting("BENCH_RUNS", 3))
NEW_RESPONSES = 20  # per view "after new responses"
CHUNK = 20_000
SPAN = timedelta(days=60)  # the responses started over the last 60 days, in id order
JITTER = timedelta(hours=3)  # give or take this much
SUBMIT_DELAY = timedelta(hours=48)  # at most this long between the start and the submit
EMAIL, PASSWORD = "bench@example.org", "bench password 1"
QUERY_AIM = round(1 / 1.2, 3)  # the target: within 1.2x of the hand-written GROUP BY
ONE_QUESTION = text(
    "SELECT a.code, g.code, COUNT(*) FROM answers a "
    "JOIN answers g ON g.response_id = a.response_id AND g.question_id = :variable "
    "WHERE a.survey_id = :survey AND a.question_id = :question "
    "GROUP BY a.code, g.code")
# The bare frequencies and crosstabs: a GROUP BY of all the complete responses' answers, and the
# respondents of the questions stored in several rows per respondent (their bases).
FREQUENCIES = (
    text("SELECT a.question_id, a.item, a.code, a.number, COUNT(*) FROM answers a "
         "JOIN responses r ON r.id = a.response_id "
         "WHERE a.survey_id = :survey AND r.status = 'complete' "
         "GROUP BY a.question_id, a.item, a.code, a.number"),
    text("SELECT a.question_id, COUNT(DISTINCT a.response_id) FROM answers a "
         "JOIN responses r ON r.id = a.response_id "
         "WHERE a.survey_id = :survey AND r.status = 'complete' "
         "AND a.question_id IN ('mc1', 'mc2', 'mc3', 'mc4', 'grid') GROUP BY a.question_id"),
)
CROSSTABS = (
    text("SELECT a.question_id, a.item, a.code, a.number, g.code, COUNT(*) FROM answers a "
         "JOIN responses r ON r.id = a.response_id "
         "LEFT JOIN answers g ON g.response_id = a.response_id AND g.question_id = :variable "
         "WHERE a.survey_id = :survey AND r.status = 'complete' AND a.question_id <> :variable "
         "GROUP BY a.question_id, a.item, a.code, a.number, g.code"),
    text("SELECT a.question_id, g.code, COUNT(DISTINCT a.response_id) FROM answers a "
         "JOIN responses r ON r.id = a.response_id "
         "LEFT JOIN answers g ON g.response_id = a.response_id AND g.question_id = :variable "
         "WHERE a.survey_id = :survey AND r.status = 'complete' AND a.question_id IN ('mc1', 'mc2', 'mc3', 'mc4') "
         "GROUP BY a.question_id, g.code"),
)
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
_STATUS_URL = re.compile(r'data-status-url="([^"]+)"')


def questionnaire_document() -> dict:
    """30 questions: gender, 18 single choice, 4 multiple choice, a matrix, 3 ratings, an integer, a decimal
    (continuous amounts: almost every value distinct), a text."""
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
    questions.append({"id": "num1", "type": "integer", "label": "Number 1"})
    questions.append({"id": "amount", "type": "decimal", "label": "Amount"})
    questions.append({"id": "comment", "type": "text", "label": "Comment"})
    return {"id": "bench", "version": "1", "languages": ["en"], "title": "Bench",
            "pages": [{"id": "p1", "questions": questions}], "plugins": {"breakdowns": {"gender": "gender"}}}


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
            case "decimal":
                answers[question.id] = round(rng.uniform(0, 10000), 2)
            case "text":
                answers[question.id] = "a comment"
    return answers


def build(url: str, questionnaire: Questionnaire, count: int) -> float:
    """Fill the migrated database at ``url``; returns the seconds it took.

    The answers' indexes are built after the load, but SQLite's unique one,
    which cannot be dropped; PostgreSQL's tables are UNLOGGED (no write-ahead
    log: faster to fill, read like logged ones) and vacuumed at the end, as
    autovacuum would have done by the time a survey has this many responses.
    """
    started = time.perf_counter()
    engine = create_engine(url)
    postgresql = engine.dialect.name == "postgresql"
    unique = next(c for c in Answer.__table__.constraints if isinstance(c, UniqueConstraint))
    with engine.begin() as connection:
        for index in Answer.__table__.indexes:
            connection.execute(DropIndex(index))
        if postgresql:
            for table in reversed(Base.metadata.sorted_tables):  # referencing tables first
                connection.execute(text(f'ALTER TABLE "{table.name}" SET UNLOGGED'))
            connection.execute(DropConstraint(unique))
        else:
            connection.execute(text("PRAGMA synchronous=OFF"))
        connection.execute(insert(User), {"id": 1, "email": EMAIL, "name": "Bench", "role": "researcher",
                                          "password_hash": hash_password(PASSWORD)})
        connection.execute(insert(Survey), {"id": 1, "slug": "bench", "title": "Bench", "owner_id": 1,
                                            "status": "open"})
        connection.execute(insert(QuestionnaireVersion), {
            "id": 1, "survey_id": 1, "number": 1, "definition": canonical_json(questionnaire),
            "sha256": uuid.uuid4().hex * 2, "created_at": utcnow()})
    fill(engine, questionnaire, count)
    with engine.begin() as connection:
        if postgresql:
            connection.execute(AddConstraint(unique))
        for index in Answer.__table__.indexes:
            connection.execute(CreateIndex(index))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE" if postgresql else "ANALYZE"))
    engine.dispose()
    return time.perf_counter() - started


def fill(engine: Engine, questionnaire: Questionnaire, count: int) -> None:
    """Store ``count`` responses (90% complete), in chunks."""
    rng = random.Random(42)
    now = utcnow()
    for first in range(0, count, CHUNK):
        numbers = range(first + 1, min(first + CHUNK, count) + 1)
        responses = [response_row(number, count, now, rng) for number in numbers]
        answers = [{**row, "survey_id": 1, "response_id": number}
                   for number in numbers for row in answer_rows(questionnaire, random_answers(questionnaire, rng))]
        with engine.begin() as connection:
            connection.execute(insert(Response), responses)
            insert_answers(connection, answers)
    if engine.dialect.name == "postgresql":  # ids were given: move the sequence past them
        with engine.begin() as connection:
            connection.execute(text("SELECT setval(pg_get_serial_sequence('responses', 'id'), :last)"),
                               {"last": count})


def response_row(number: int, count: int, now: datetime, rng: random.Random) -> dict:
    """Response ``number`` of ``count``: 90% complete, started in id order over the last 60 days (give or take
    a few hours), submitted 0-48 hours later when complete; nothing after ``now``."""
    complete = rng.random() < 0.9
    delay = SUBMIT_DELAY * rng.random() if complete else timedelta(0)
    started = min(now - SPAN * (count - number) / count + JITTER * rng.uniform(-1, 1), now - delay)
    submitted = started + delay if complete else None
    return {"id": number, "survey_id": 1, "version_id": 1, "submission_id": f"s{number}",
            "status": "complete" if complete else "partial", "language": "en", "data": {},
            "started_at": started, "updated_at": submitted or started, "submitted_at": submitted}


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


def fastest(function: Callable[[], object], runs: int = 1) -> float:
    """The fastest wall time of ``runs`` calls, in milliseconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times) * 1000


def paired(ours: Callable[[], object], bare: Callable[[], object], runs: int) -> tuple[float, float]:
    """The fastest of ``runs`` alternating calls of each, in milliseconds."""
    pairs = [(fastest(ours), fastest(bare)) for _ in range(runs)]
    return min(pair[0] for pair in pairs), min(pair[1] for pair in pairs)


def peak_mb(function: Callable[[], object]) -> float:
    """The peak Python memory (tracemalloc) allocated while calling ``function``, in MB."""
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def bare_call(session: Session, *statements, **parameters) -> Callable[[], object]:
    """A call of the hand-written ``statements``, fetching every row."""
    values = {"survey": 1, "variable": "gender", **parameters}
    return lambda: [session.execute(statement, values).all() for statement in statements]


def committed(session: Session, function: Callable[[], object]) -> Callable[[], object]:
    """A call of ``function`` that then ends the session's transaction."""
    return lambda: (function(), session.commit())


def measure(url: str, backend: str, questionnaire: Questionnaire) -> list[dict]:
    """Every comparison on the database at ``url``, as BENCH records."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + uuid.uuid4().hex})
    size = f"{RESPONSES // 1000}k responses x 30 questions ({backend})"
    found = []
    with app.app_context():
        session = db.session()
        bare, counted = partial(bare_call, session), partial(committed, session)
        complete = ResultFilters()
        one = paired(counted(lambda: queries.crosstabs(session, 1, questionnaire, complete, "gender", ["q01"])),
                     bare(ONE_QUESTION, question="q01"), RUNS)
        by_gender = ResultFilters(breakdown="gender")

        def everything_by_gender() -> None:
            counted_once = queries.SurveyResults(session, 1, questionnaire, by_gender, cached=False)
            counted_once.summary(), counted_once.crosstabs("gender")

        crosstabs = paired(counted(everything_by_gender), bare(*CROSSTABS), RUNS)
        frequencies = paired(counted(lambda: queries.summary(session, 1, questionnaire, complete, cached=False)),
                             bare(*FREQUENCIES), RUNS)
    found += [
        record(f"crosstab of 1 question by gender, SQL, {size}", one[0], "ms", one[1], higher_is_better=False,
               baseline_name="hand-written GROUP BY of the question joined to gender", aim=QUERY_AIM),
        record(f"frequencies and crosstabs by gender of 30 questions (one count), SQL, {size}", crosstabs[0], "ms",
               crosstabs[1], higher_is_better=False,
               baseline_name="hand-written GROUP BY of all answers joined to gender, and COUNT(DISTINCT) of "
                             "multiple-choice respondents", aim=QUERY_AIM),
        record(f"frequencies of 30 questions, SQL, {size}", frequencies[0], "ms", frequencies[1],
               higher_is_better=False, baseline_name="hand-written GROUP BY of all answers, and COUNT(DISTINCT) "
                                                     "of multiple-choice and matrix respondents", aim=QUERY_AIM),
    ]
    page_bare = crosstabs[1]  # the counts by gender give the frequencies too
    client = logged_in(app)

    def page(query: str = "") -> Callable[[], object]:
        def get() -> None:
            response = client.get(f"/surveys/bench/results{query}")
            assert response.status_code == 200 and b"Gender" in response.data, response.status_code
        return get

    pages = [("first view, breakdown by gender (counted in the background, until the results show)",
              fastest(until_shown(client, "?breakdown=gender")))]
    pages.append(("breakdown by gender, kept counts", fastest(page("?breakdown=gender"), RUNS)))
    pages.append(("no breakdown, kept counts", fastest(page(), RUNS)))
    after = []
    for _ in range(RUNS):
        respond(app, questionnaire, NEW_RESPONSES)
        after.append(fastest(page("?breakdown=gender")))
    pages.append((f"breakdown by gender, after {NEW_RESPONSES} new responses", min(after)))
    pages.append(("breakdown by gender, complete and partial responses",
                  fastest(page("?breakdown=gender&status=all"), RUNS)))
    month_ago = (utcnow() - timedelta(days=30)).date()
    pages.append(("breakdown by gender, filtered by date, last 30 days",
                  fastest(page(f"?breakdown=gender&from={month_ago.isoformat()}"), RUNS)))
    until_shown(client, "?where=q01:c1")()  # the counts split by q01, kept once
    pages.append(("no breakdown, filtered by a choice (kept counts split by its question)",
                  fastest(page("?where=q01:c1"), RUNS)))
    until_shown(client, "?breakdown=gender&where=q01:c1")()  # the counts split by gender and q01, kept once
    pages.append(("breakdown by gender, filtered by a choice (kept counts split by both)",
                  fastest(page("?breakdown=gender&where=q01:c1"), RUNS)))
    pages.append(("breakdown by gender, filtered by two choices (counted afresh)",
                  fastest(page("?breakdown=gender&where=q01:c1&where=q02:c2"), RUNS)))
    pages.append(("breakdown by gender, filtered by version",
                  fastest(page("?breakdown=gender&version=1"), RUNS)))
    for what, value in pages:
        found.append(record(f"results page, {what}, {size}", value, "ms", page_bare, higher_is_better=False,
                            baseline_name="the bare crosstabs by gender above",
                            note="target: about a second"))
    found.append(cold_memory(app, questionnaire, size))  # last: tracemalloc slows everything down
    db.database(app).engine.dispose()
    return found


def until_shown(client, query: str) -> Callable[[], object]:
    """A call opening the results page with ``query`` and, while it shows the background counting's progress,
    following the job until it has finished; then the page must show the results."""
    def get() -> None:
        response = client.get(f"/surveys/bench/results{query}")
        while b'id="counting-progress"' in response.data:
            status_url = _STATUS_URL.search(response.get_data(as_text=True)).group(1)
            while not client.get(status_url).get_json()["finished"]:
                time.sleep(0.1)
            response = client.get(f"/surveys/bench/results{query}")
        assert response.status_code == 200 and b"Gender" in response.data, response.status_code
    return get


def cold_memory(app, questionnaire: Questionnaire, size: str) -> dict:
    """The peak Python memory of counting the page's numbers from a cold cache, against the bare statements'."""
    with app.app_context():
        session = db.session()
        baseline = peak_mb(committed(session, bare_call(session, *CROSSTABS, *FREQUENCIES)))
        forget_counts(session)
        by_gender = ResultFilters(breakdown="gender")
        ours = peak_mb(committed(session, lambda: (
            queries.summary(session, 1, questionnaire, by_gender),
            queries.crosstabs(session, 1, questionnaire, by_gender, "gender"))))
    return record(f"peak Python memory, counting the results page's frequencies and crosstabs by gender, {size}",
                  ours, "MB", baseline, higher_is_better=False,
                  baseline_name="the bare frequencies and crosstabs above, fetched with .all()",
                  note="cold cache: fills the kept counts; tracemalloc peak, the same run's baseline")


def forget_counts(session: Session) -> None:
    """Delete every kept count (a result_counts row goes with its block by ON DELETE CASCADE on PostgreSQL)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(delete(ResultCount))
    session.execute(delete(ResultBlock))
    session.commit()


def logged_in(app):
    """A test client of ``app`` logged in through the login form."""
    client = app.test_client()
    form = client.get("/account/login").get_data(as_text=True)
    client.post("/account/login", data={"email": EMAIL, "password": PASSWORD,
                                        "csrf_token": _CSRF.search(form).group(1)})
    return client


def respond(app, questionnaire: Questionnaire, count: int) -> None:
    """``count`` new respondents through the storage the respondent pages use, and one older partial
    response completed (its block, among the first, then changes too)."""
    rng = random.Random()
    with app.app_context():
        session = db.session()
        survey = session.get(Survey, 1)
        version = survey.latest_version
        for _ in range(count):
            name = uuid.uuid4().hex
            save_page(session, survey, version, questionnaire_of(version), submission_id=name, language="en",
                      page_answers=random_answers(questionnaire, rng), next_page=None)
            submit(session, survey, questionnaire, name)
        older = session.execute(select(Response.submission_id).where(
            Response.survey_id == 1, Response.status == ResponseStatus.PARTIAL).order_by(Response.id).limit(1)).scalar()
        if older is not None:
            save_page(session, survey, version, questionnaire, submission_id=older, language="en",
                      page_answers=random_answers(questionnaire, rng), next_page=None)
            submit(session, survey, questionnaire, older)


def main() -> None:
    """Build, time and print the records."""
    handle_termination()
    questionnaire = load_questionnaire(json.dumps(questionnaire_document()))
    for backend in backends():
        with fresh_database(backend) as url:
            log(f"{backend}: building {RESPONSES:,} responses x 30 questions")
            log(f"  built in {build(url, questionnaire, RESPONSES):.0f} s")
            for item in measure(url, backend, questionnaire):
                emit(item)
                unit = item["unit"]
                log(f"  {item['name']}: {item['value']:.1f} {unit} (bare {item['baseline']:.1f} {unit})")


if __name__ == "__main__":
    main()
