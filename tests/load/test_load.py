"""Load and fault tests: simulated respondents through the real HTTP pages, under gunicorn.

Each test starts gunicorn (sync workers, no --preload, as in production) on a
fresh database, lets simulated respondents (``simulated_respondent.py``) answer
the 3-page load questionnaire with random but recorded answers, then reads the
database back and checks, response by response, that what was stored is what
each client sent: complete, exactly once, every Answer row present. It also
checks gunicorn's log (kept in ``tmp_path``) for tracebacks.

The main PostgreSQL test completes the issue's 5,000 responses (3-4 minutes on an
idle 2-core machine, 8-15 on a busy one; CI has 90); ``SURVEY_APP_LOAD_RESPONSES``
changes that number and ``SURVEY_APP_LOAD_SCALE`` multiplies every other count.
"""
from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import select
from sqlalchemy.engine import make_url

from survey_app.models import Answer, Response, ResponseStatus, Survey
from survey_app.responses.storage import answer_rows, content_hash
from tests.load.conftest import LoggedServer, Site, log_problems
from tests.load.simulated_respondent import Crowd, CrowdSettings, Record, summary

SCALE = float(os.environ.get("SURVEY_APP_LOAD_SCALE") or 1.0)


def _count(default: int) -> int:
    return max(8, round(default * SCALE))


#: Responses of the main PostgreSQL test: the issue asks for 5,000; see the test's docstring.
POSTGRES_RESPONSES = int(os.environ.get("SURVEY_APP_LOAD_RESPONSES") or _count(5000))
SQLITE_RESPONSES = _count(500)
DOUBLE_SUBMIT_RESPONSES = _count(300)
KILL_RESPONSES = _count(500)
OUTAGE_RESPONSES = _count(400)
#: Throughput the time limits assume, in responses per second: below the slowest measured
#: here (5.4/s on PostgreSQL with the machine shared, ~21/s estimated idle), so the limit
#: only stops a run that hangs or crawls (it then fails, saying how far it got).
SLOWEST_RATE = 3.0
#: The database outages of the last test: when (fraction of the respondents done) and how long.
OUTAGES_AT = (0.3, 0.65)
OUTAGE_SECONDS = 3.0


def time_limit(responses: int) -> float:
    return 60 + responses / SLOWEST_RATE


# ------------------------------------------------------------------ reading the database back


@dataclass
class Stored:
    """One stored response and its Answer rows."""

    id: int
    submission_id: str
    status: ResponseStatus
    data: dict[str, Any]
    content_hash: str | None
    submitted_at: Any
    rows: Counter

    @property
    def answers(self) -> dict[str, Any]:
        return dict((self.data or {}).get("answers", {}))


def _row_key(row) -> tuple:
    number = None if row["number"] is None else float(row["number"])
    return (row["question_id"], row["entry"], row["item"], row["code"], number, row["text"])


def read_back(site: Site) -> list[Stored]:
    """Every response of the load survey, with its Answer rows, read directly from the database."""
    engine = sa.create_engine(site.database_url)
    try:
        with engine.connect() as connection:
            survey_id = connection.execute(select(Survey.id).where(Survey.slug == site.slug)).scalar_one()
            responses = connection.execute(
                select(Response.id, Response.submission_id, Response.status, Response.data, Response.content_hash,
                       Response.submitted_at).where(Response.survey_id == survey_id)).all()
            rows: dict[int, Counter] = {}
            for answer in connection.execute(
                    select(Answer.response_id, Answer.question_id, Answer.entry, Answer.item, Answer.code,
                           Answer.number, Answer.text).where(Answer.survey_id == survey_id)).mappings():
                rows.setdefault(answer["response_id"], Counter())[_row_key(answer)] += 1
    finally:
        engine.dispose()
    return [Stored(row.id, row.submission_id, ResponseStatus(row.status), row.data or {}, row.content_hash,
                   row.submitted_at, rows.get(row.id, Counter())) for row in responses]


def whole(site: Site, stored: Stored) -> bool:
    """Whether a response has exactly the Answer rows its answer document calls for."""
    return stored.rows == Counter(_row_key(row) for row in answer_rows(site.questionnaire, stored.answers))


def data_problems(site: Site, records: list[Record], *, strict: bool = True) -> tuple[list[str], list[Stored]]:
    """What is wrong in the database, compared with what the clients sent.

    * Every response is whole: its Answer rows are exactly
      ``answer_rows(questionnaire, data["answers"])`` (complete or partial: never half-written).
    * No duplicates: one response per submission id, and none that no client started.
    * Every submit that got a success answer is stored complete, with exactly the
      answers its client sent (and the matching content hash).
    * A submit that never got a success answer is absent or partial. (Complete is
      tolerated only when the answers are the client's and the response is whole: the
      server committed, then the answer was lost on the way, e.g. the worker was
      killed; ``strict`` counts even that as a problem.)
    """
    stored = read_back(site)
    problems: list[str] = []
    by_id: dict[str, list[Stored]] = {}
    for item in stored:
        by_id.setdefault(item.submission_id, []).append(item)
    sent = {record.submission_id for record in records if record.submission_id}
    for submission_id, items in by_id.items():
        if len(items) > 1:
            problems.append(f"{len(items)} responses with submission id {submission_id}")
        if submission_id not in sent:
            problems.append(f"response {items[0].id} ({submission_id}) was started by no client")
    for item in stored:
        if not whole(site, item):
            expected = Counter(_row_key(row) for row in answer_rows(site.questionnaire, item.answers))
            problems.append(f"response {item.id} ({item.status.value}) is half-written: "
                            f"missing rows {sorted((expected - item.rows).elements())[:5]}, "
                            f"extra rows {sorted((item.rows - expected).elements())[:5]}")
    for record in records:
        found = by_id.get(record.submission_id or "", [])
        item = found[0] if found else None
        label = f"respondent {record.index} ({record.submission_id}, {record.mode})"
        if record.submit_ok:
            if item is None:
                problems.append(f"{label}: submit succeeded but no response is stored")
            elif item.status is not ResponseStatus.COMPLETE:
                problems.append(f"{label}: submit succeeded but the response is {item.status.value}")
            elif item.answers != record.answers:
                problems.append(f"{label}: stored answers differ from the ones sent: "
                                f"{_difference(record.answers, item.answers)}")
            elif item.content_hash != content_hash(item.answers) or item.submitted_at is None:
                problems.append(f"{label}: complete without its content hash or submission time")
        elif item is not None and item.status is ResponseStatus.COMPLETE:
            if strict or item.answers != record.answers:
                problems.append(f"{label}: stored complete although no submit got a success answer"
                                f" (answers {'match' if item.answers == record.answers else 'DIFFER'})")
    return problems, stored


def _difference(sent: dict, stored: dict) -> str:
    keys = sorted(set(sent) | set(stored))
    return "; ".join(f"{key}: sent {sent.get(key)!r}, stored {stored.get(key)!r}"
                     for key in keys if sent.get(key) != stored.get(key))[:500]


# ------------------------------------------------------------------ what the respondents saw


def respondent_problems(records: list[Record], expected: int, *, try_again_allowed: bool = False,
                        connection_errors_allowed: bool = False) -> list[str]:
    """What went wrong for the clients: unfinished respondents, 5xx, error pages, surprises."""
    problems = []
    if len(records) != expected:
        problems.append(f"only {len(records)} of {expected} respondents ran (time limit reached)")
    for record in records:
        label = f"respondent {record.index} ({record.submission_id}, {record.mode})"
        problems += [f"{label}: {what}" for what in record.unexpected]
        problems += [f"{label}: server error {what}" for what in record.server_errors]
        if record.gave_up:
            problems.append(f"{label}: gave up: {record.gave_up} (last connection errors "
                            f"{record.transport_errors[-2:]})")
        elif not record.submit_ok:
            problems.append(f"{label}: the submit never got a success answer (statuses {record.submit_statuses})")
        if record.try_again_pages and not try_again_allowed:
            problems.append(f"{label}: {record.try_again_pages} 'try again' page(s) (503) without any fault")
        if record.transport_errors and not connection_errors_allowed:
            problems.append(f"{label}: connection errors without any fault: {record.transport_errors[:2]}")
    return problems


class Findings:
    """Problems of several kinds, gathered so that one failure reports them all."""

    def __init__(self, context: str = ""):
        self.context = context
        self.sections: list[tuple[str, list[str]]] = []

    def add(self, title: str, problems: list[str]) -> None:
        if problems:
            self.sections.append((title, problems))

    def expect(self, condition: bool, problem: str) -> None:
        if not condition:
            self.add(problem, ["(see above)"])

    def check(self) -> None:
        if not self.sections:
            return
        text = []
        for title, problems in self.sections:
            shown = "\n    ".join(problems[:25])
            more = f"\n    ... and {len(problems) - 25} more" if len(problems) > 25 else ""
            text.append(f"* {title}: {len(problems)}\n    {shown}{more}")
        pytest.fail(f"{self.context}\n" + "\n".join(text), pytrace=False)


def log_findings(findings: Findings, server: LoggedServer, allowed: tuple[str, ...] = ()) -> None:
    findings.add(f"lines of gunicorn's log with tracebacks or errors ({server.error_log}, {server.stderr_log.name})",
                 log_problems(server.log_text(), allowed))


def run_crowd(server: LoggedServer, settings: CrowdSettings) -> tuple[list[Record], float, float]:
    cpu_before = server.cpu_seconds()
    crowd = Crowd(server.address, settings)
    records = crowd.run()
    return records, crowd.elapsed, cpu_before


def report(name: str, records: list[Record], elapsed: float, server: LoggedServer, cpu_before: float) -> str:
    """Print (and keep in tmp_path/load-summary.txt) what the run did, with the server's CPU
    per response: unlike the rate, that hardly depends on what else the machine runs."""
    done = sum(record.submit_ok for record in records)
    cpu = server.cpu_seconds() - cpu_before  # workers killed during the run take their share with them
    line = f"[{name}] {summary(records, elapsed)}; gunicorn CPU {cpu * 1000 / max(done, 1):.0f} ms/response"
    print(line)
    with open(server.error_log.parent / "load-summary.txt", "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
    return line


def statuses(records: list[Record]) -> Counter:
    total: Counter = Counter()
    for record in records:
        total.update(record.statuses)
    return total


# ------------------------------------------------------------------ the tests


@pytest.mark.slow
def test_postgres_64_respondents_store_every_response_exactly_once(postgres_site, gunicorn):
    """64 concurrent respondents complete POSTGRES_RESPONSES responses through the real pages
    (gunicorn, 4 sync workers, PostgreSQL); the database then holds exactly that many
    complete responses, each with the answers its client sent, no duplicates, no 5xx.

    The issue's 5,000 by default (SURVEY_APP_LOAD_RESPONSES changes it). Measured on
    this 2-core machine, where the load generator, gunicorn and PostgreSQL share the
    two cores: a response (8 requests: 3 pages GET + POST, review, submit) costs
    55-69 ms of gunicorn CPU plus ~11 ms of PostgreSQL CPU, so ~21-28 responses/s on
    an idle machine (3-4 minutes); shared with other jobs (load average 7-11) it ran
    at 5.4-10.5 responses/s (8-15 minutes).
    """
    count = POSTGRES_RESPONSES
    server = gunicorn(postgres_site, workers=4)
    settings = CrowdSettings(respondents=count, concurrency=64, seed=1, double_click_share=0.05,
                             timeout_retry_share=0.05, follow_done_share=0.05, time_limit=time_limit(count))
    records, elapsed, cpu_before = run_crowd(server, settings)
    findings = Findings(report("postgres x64", records, elapsed, server, cpu_before))

    findings.add("respondents' problems", respondent_problems(records, count))
    findings.add("5xx answers", [f"{status} x{number}" for status, number in statuses(records).items() if status >= 500])
    problems, stored = data_problems(postgres_site, records)
    findings.add("differences between the database and what the clients sent", problems)
    complete = sum(item.status is ResponseStatus.COMPLETE for item in stored)
    findings.expect(len(stored) == complete == count, f"{len(stored)} responses stored, {complete} complete, "
                                                      f"expected {count} complete")
    log_findings(findings, server)
    findings.check()


@pytest.mark.slow
def test_sqlite_8_respondents_never_see_database_is_locked(sqlite_site, gunicorn):
    """The embedded SQLite default under 8 concurrent respondents (gunicorn, 4 sync
    workers): no "database is locked" (nor any 5xx or error page) ever reaches a
    respondent, and every response is stored once, complete, as sent."""
    count = SQLITE_RESPONSES
    server = gunicorn(sqlite_site, workers=4)
    settings = CrowdSettings(respondents=count, concurrency=8, seed=2, double_click_share=0.05,
                             timeout_retry_share=0.05, follow_done_share=0.05, time_limit=time_limit(count))
    records, elapsed, cpu_before = run_crowd(server, settings)
    findings = Findings(report("sqlite x8", records, elapsed, server, cpu_before))

    findings.add("respondents' problems", respondent_problems(records, count))
    findings.add("error pages (any status but 200 and 302)",
                 [f"{status} x{number}" for status, number in statuses(records).items() if status not in (200, 302)])
    problems, stored = data_problems(sqlite_site, records)
    findings.add("differences between the database and what the clients sent", problems)
    complete = sum(item.status is ResponseStatus.COMPLETE for item in stored)
    findings.expect(len(stored) == complete == count, f"{len(stored)} responses stored, {complete} complete, "
                                                      f"expected {count} complete")
    log_findings(findings, server)
    findings.check()


@pytest.mark.slow
def test_final_submit_sent_twice_stores_one_response(postgres_site, gunicorn):
    """Every respondent sends the final submit twice: half click twice (two requests in
    flight at once on two connections), half give up waiting after a few milliseconds
    and send it again. Each still ends with exactly one complete response, and both
    answers of a double click are the same redirect to the thank-you page."""
    count = DOUBLE_SUBMIT_RESPONSES
    server = gunicorn(postgres_site, workers=4)
    settings = CrowdSettings(respondents=count, concurrency=32, seed=3, double_click_share=0.5,
                             timeout_retry_share=0.5, time_limit=time_limit(count))
    records, elapsed, cpu_before = run_crowd(server, settings)
    findings = Findings(report("double submit", records, elapsed, server, cpu_before))

    findings.add("respondents' problems", respondent_problems(records, count))
    findings.add("respondents who sent the submit fewer than twice",
                 [f"respondent {record.index}: {record.submit_sends}" for record in records if record.submit_sends < 2])
    clicks = [record for record in records if record.mode == "double_click"]
    findings.expect(bool(clicks), "no respondent clicked twice")
    findings.add("double clicks not answered twice with the redirect to the thank-you page",
                 [f"respondent {record.index}: {record.submit_statuses}" for record in clicks
                  if record.submit_statuses != [302, 302]])
    problems, stored = data_problems(postgres_site, records)
    findings.add("differences between the database and what the clients sent", problems)
    complete = sum(item.status is ResponseStatus.COMPLETE for item in stored)
    findings.expect(len(stored) == complete == count, f"{len(stored)} responses stored, {complete} complete, "
                                                      f"expected {count} complete")
    log_findings(findings, server)
    findings.check()


def _wait_for_workers(server: LoggedServer, count: int, gone: set[int], timeout: float = 60) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = server.workers_pids()
        if len(pids) == count and not gone & set(pids):
            return pids
        time.sleep(0.2)
    return server.workers_pids()


@pytest.mark.slow
def test_a_worker_killed_mid_load_loses_nothing_and_half_writes_nothing(postgres_site, gunicorn):
    """Two gunicorn workers are killed with SIGKILL while respondents are answering (at
    about a third and two thirds of the run; gunicorn starts new ones). Every submit
    that got a success answer is stored complete with all its Answer rows; every other
    response is absent or partial, never half-written; the clients' retries (same
    request, same submission id) then succeed, so in the end every response is complete.
    """
    count = KILL_RESPONSES
    server = gunicorn(postgres_site, workers=4)
    settings = CrowdSettings(respondents=count, concurrency=32, seed=4, double_click_share=0.05,
                             timeout_retry_share=0.05, time_limit=time_limit(count))
    cpu_before = server.cpu_seconds()
    crowd = Crowd(server.address, settings).start()
    killed: set[int] = set()
    chooser = random.Random(4)
    for fraction in (0.33, 0.66):
        if not crowd.wait_until(int(count * fraction), timeout=time_limit(count)):
            break  # the respondents stalled: reported below
        victim = chooser.choice(server.workers_pids())
        os.kill(victim, signal.SIGKILL)
        killed.add(victim)
    records = crowd.join(time_limit(count) + 120)
    findings = Findings(report(f"SIGKILL {sorted(killed)}", records, crowd.elapsed, server, cpu_before))
    findings.expect(len(killed) == 2, f"only {len(killed)} worker(s) killed: the respondents stalled")
    workers = _wait_for_workers(server, 4, killed)
    findings.expect(len(workers) == 4 and not killed & set(workers),
                    f"gunicorn did not bring back 4 workers (now {workers}, killed {sorted(killed)})")

    findings.add("respondents' problems", respondent_problems(records, count, connection_errors_allowed=True))
    findings.add("5xx answers", [f"{status} x{number}" for status, number in statuses(records).items() if status >= 500])
    problems, stored = data_problems(postgres_site, records, strict=False)
    findings.add("differences between the database and what the clients were told", problems)
    complete = sum(item.status is ResponseStatus.COMPLETE for item in stored)
    findings.expect(complete == count, f"{complete} complete responses, expected {count}")
    log_findings(findings, server, allowed=tuple(rf"Worker \(pid:{pid}\) was sent SIGKILL" for pid in killed))
    findings.check()


@pytest.mark.slow
def test_database_outage_gives_a_try_again_page_and_damages_nothing(postgres_site, gunicorn, postgres_proxy):
    """The app reaches PostgreSQL through a TCP proxy of our own. Twice during the load
    (at 30 % and 65 % of the respondents) the proxy stops listening and resets every
    connection for 3 s, then listens again (twice: a reset that lands between a request's
    last query and its end is a race, worth two chances). Respondents meanwhile get the
    friendly "try again" page (503, never a 500 or a traceback), the responses completed
    before each outage are unchanged afterwards, and after recovery every client
    completes (retrying the same request)."""
    count = OUTAGE_RESPONSES
    via_proxy = make_url(postgres_site.database_url).set(port=postgres_proxy.port).render_as_string(hide_password=False)
    server = gunicorn(postgres_site, workers=4, database_url=via_proxy)
    settings = CrowdSettings(respondents=count, concurrency=32, seed=5, double_click_share=0.05,
                             timeout_retry_share=0.05, time_limit=time_limit(count))
    cpu_before = server.cpu_seconds()
    crowd = Crowd(server.address, settings).start()
    before: dict[str, Stored] = {}
    outages: list[float] = []
    for fraction in OUTAGES_AT:
        if not crowd.wait_until(int(count * fraction), timeout=time_limit(count)):
            break  # the respondents stalled: reported below
        for item in read_back(postgres_site):  # the first reading of each complete response is the reference
            if item.status is ResponseStatus.COMPLETE:
                before.setdefault(item.submission_id, item)
        postgres_proxy.cut()
        began = time.monotonic()
        time.sleep(OUTAGE_SECONDS)
        postgres_proxy.restore()
        outages.append(time.monotonic() - began)
    records = crowd.join(time_limit(count) + 120)
    findings = Findings(report(f"outages {', '.join(f'{seconds:.1f} s' for seconds in outages)}, "
                               f"{postgres_proxy.resets} connections reset, {len(before)} complete before",
                               records, crowd.elapsed, server, cpu_before))
    findings.expect(len(outages) == len(OUTAGES_AT), "the respondents stalled before an outage")

    findings.add("respondents' problems",
                 respondent_problems(records, count, try_again_allowed=True, connection_errors_allowed=False))
    seen = statuses(records)
    friendly = sum(record.try_again_pages for record in records)
    findings.expect(seen[503] > 0, f"no respondent saw the 'try again' page during the outage: {dict(seen)}")
    findings.add("5xx answers other than the friendly 503",
                 [f"{status} x{number}" for status, number in seen.items() if status >= 500 and status != 503]
                 + ([f"503 without the friendly text x{seen[503] - friendly}"] if seen[503] != friendly else []))
    problems, stored = data_problems(postgres_site, records)
    findings.add("differences between the database and what the clients sent", problems)
    after = {item.submission_id: item for item in stored}
    findings.expect(bool(before), "no response was complete before the outage")
    findings.add("responses stored before the outage that changed",
                 [submission_id for submission_id, item in before.items()
                  if submission_id not in after
                  or (after[submission_id].status, after[submission_id].data, after[submission_id].rows,
                      after[submission_id].content_hash, after[submission_id].submitted_at)
                  != (item.status, item.data, item.rows, item.content_hash, item.submitted_at)])
    log_findings(findings, server, allowed=(r"database unavailable: ",))
    findings.check()
