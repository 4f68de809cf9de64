"""Benchmark the xlsx export against writing the same cells straight with xlsxwriter.

    .venv/bin/python -m bench.bench_export [--responses 100000]

Builds a database (each of ``BENCH_BACKENDS``) with N complete responses to a
40-question questionnaire (``BENCH_EXPORT_RESPONSES``, default 100,000) with
Core bulk inserts, then runs each exporter in a fresh child process, one after
another, measuring its wall time, CPU time and peak RSS while exporting
(VmHWM, reset once the exporter is set up, so building the app does not count):

* ``ours-data``: the plugin's xlsx export with codes and ``summary`` off (the
  Responses sheet and the Codebook): the like-for-like comparison;
* ``ours``: the same with the Summary sheet (its SQL counts and charts), the default;
* ``xlsxwriter``, the bare baseline: one streamed ``responses LEFT JOIN
  answers`` query, each response pivoted with a fixed column map and its cells
  written with ``write_string``/``write_number``/``write_datetime`` in
  constant-memory mode: the same Responses cells, nothing else;
* ``pandas``: the same rows through ``DataFrame.to_excel`` (only when pandas is
  importable; it holds every row in memory).

Targets: at most 1.2x the baseline's time, peak memory within 60 MB of it.
Each comparison goes to stdout as ``BENCH`` lines (see :mod:`bench.common`) as
soon as it is measured, details to stderr. An exporter that takes longer than
``BENCH_EXPORT_CHILD_TIMEOUT`` seconds (default 240) is stopped and reported,
and the module then exits with status 1.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from functools import partial
from pathlib import Path

from sqlalchemy import create_engine, insert, text

from bench.common import ROOT, backends, emit, fresh_database, log, record, setting

RESPONSES = int(setting("BENCH_EXPORT_RESPONSES", 100_000))
CHILD_TIMEOUT = setting("BENCH_EXPORT_CHILD_TIMEOUT", 240.0)
CHUNK = 5_000
WORDS = ("alpha", "beta", "gamma", "Алматы", "село")
TIME_TARGET, MEMORY_TARGET_MB = 1.2, 60


def questionnaire_document() -> dict:
    """40 questions: 10 single choice, 5 yes/no, 5 multiple choice, 5 integers, 3 decimals, 2 ratings,
    4 texts, a long text, 2 dates, 2 matrices and a ranking."""
    def choices(count: int) -> list[dict]:
        return [{"value": f"c{number}", "label": f"Choice {number}"} for number in range(1, count + 1)]

    def many(prefix: str, count: int, **question) -> list[dict]:
        return [{"id": f"{prefix}{n}", "label": f"{prefix.upper()} {n}", **question} for n in range(1, count + 1)]

    questions = [*many("sc", 10, type="single_choice", choices=choices(5)), *many("yn", 5, type="yes_no"),
                 *many("mc", 5, type="multiple_choice", choices=choices(4)), *many("int", 5, type="integer"),
                 *many("dec", 3, type="decimal"), *many("rate", 2, type="rating"), *many("txt", 4, type="text"),
                 *many("long", 1, type="long_text"), *many("day", 2, type="date"),
                 *many("grid", 2, type="matrix", choices=choices(3),
                       rows=[{"value": f"r{n}", "label": f"Row {n}"} for n in range(1, 4)]),
                 *many("rank", 1, type="ranking", choices=choices(3))]
    return {"id": "bench-export", "version": "1", "languages": ["en"], "title": "Export bench",
            "pages": [{"id": "p1", "questions": questions}]}


def random_answers(questionnaire, rng: random.Random) -> dict:
    """One respondent's answers to every question (texts of 5 to 60 characters, one in 50 hostile)."""
    answers = {}
    for question in questionnaire.all_questions():
        values = [choice.value for choice in question.choices]
        match question.type:
            case "single_choice":
                answers[question.id] = rng.choice(values)
            case "yes_no":
                answers[question.id] = rng.choice(("yes", "no"))
            case "multiple_choice":
                answers[question.id] = rng.sample(values, rng.randint(1, 3))
            case "integer":
                answers[question.id] = rng.randint(0, 1000)
            case "decimal":
                answers[question.id] = round(rng.uniform(0, 100), 2)
            case "rating":
                answers[question.id] = rng.randint(1, 5)
            case "text" | "long_text":
                words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 10)))
                answers[question.id] = ("=" + words) if rng.random() < 0.02 else words
            case "date":
                answers[question.id] = (date(2024, 1, 1) + timedelta(days=rng.randint(0, 365))).isoformat()
            case "matrix":
                answers[question.id] = {row.value: rng.choice(values) for row in question.rows}
            case "ranking":
                answers[question.id] = rng.sample(values, len(values))
    return answers


def build(url: str, count: int) -> None:
    """A survey with ``count`` complete responses, written with Core bulk inserts."""
    from survey_app.models import Answer, QuestionnaireVersion, Response, Survey, User
    from survey_app.questionnaire import load_questionnaire
    from survey_app.responses.storage import answer_rows
    from survey_app.surveys import canonical_json

    questionnaire = load_questionnaire(questionnaire_document())
    definition = canonical_json(questionnaire)
    engine = create_engine(url)
    rng = random.Random(7)
    now = datetime(2024, 6, 1, tzinfo=timezone.utc)
    with engine.begin() as connection:
        connection.execute(insert(User), [{"id": 1, "email": "bench@example.org", "name": "Bench", "role": "researcher",
                                           "password_hash": "x", "session_generation": 0, "is_enabled": True,
                                           "created_at": now}])
        connection.execute(insert(Survey), [{"id": 1, "slug": "bench-export", "title": "Export bench", "owner_id": 1,
                                             "status": "open", "created_at": now, "updated_at": now}])
        connection.execute(insert(QuestionnaireVersion), [{
            "id": 1, "survey_id": 1, "number": 1, "definition": definition, "created_at": now,
            "sha256": hashlib.sha256(definition.encode()).hexdigest()}])
    for start in range(1, count + 1, CHUNK):
        ids = range(start, min(start + CHUNK, count + 1))
        responses, answers = [], []
        for response_id in ids:
            moment = now + timedelta(seconds=response_id)
            responses.append({"id": response_id, "survey_id": 1, "version_id": 1, "submission_id": f"s{response_id}",
                              "status": "complete", "language": "en", "data": {}, "started_at": moment,
                              "updated_at": moment, "submitted_at": moment})
            answers.extend({**row, "survey_id": 1, "response_id": response_id}
                           for row in answer_rows(questionnaire, random_answers(questionnaire, rng)))
        with engine.begin() as connection:
            connection.execute(insert(Response.__table__), responses)
            connection.execute(insert(Answer.__table__), answers)
        log(f"  built {ids[-1]:,} of {count:,} responses")
    if engine.dialect.name == "postgresql":
        # Autovacuum analyses freshly loaded tables in production. SQLite has no such thing and the
        # platform never runs ANALYZE there, so its database stays as it is: without statistics.
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
    engine.dispose()


# --- the exporters, each run in its own child process ---------------------------


def run_ours(url: str, summary: bool = True) -> Callable[[Path], None]:
    """The plugin's xlsx export with codes (the app is built before the clock starts)."""
    from survey_app import create_app, db, plugins
    from survey_app.models import Survey
    from survey_app.results.tables import ResultFilters
    from survey_app.surveys import questionnaire_of

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})

    def export(target: Path) -> None:
        with app.app_context(), open(target, "wb") as handle:
            session = db.session()
            survey = session.get(Survey, 1)
            plugins.export_formats(app)["xlsx"].write(
                target=handle, survey_id=1, questionnaire=questionnaire_of(survey.latest_version),
                filters=ResultFilters(), session=session, progress=None, options={"codes": True, "summary": summary})

    return export


def bare_columns(questionnaire) -> tuple[list[str], dict[tuple[str, str], int], dict[str, list[str]]]:
    """The baseline's fixed column map: header, (question, item) -> column, and flag columns per question."""
    header = ["_id", "_submission_id", "_submitted_at", "_started_at", "_language", "_version", "_status"]
    where: dict[tuple[str, str], int] = {}
    flags: dict[str, list[str]] = {}
    for question in questionnaire.all_questions():
        values = [choice.value for choice in question.choices]
        if question.type == "multiple_choice":
            where[(question.id, "*")] = len(header)
            header.append(question.id)
            flags[question.id] = values
            for value in values:
                where[(question.id, value)] = len(header)
                header.append(f"{question.id}.{value}")
        elif question.type in ("matrix", "ranking"):
            for item in [row.value for row in question.rows] or values:
                where[(question.id, item)] = len(header)
                header.append(f"{question.id}.{item}")
        else:
            where[(question.id, "")] = len(header)
            header.append(question.id)
    return header, where, flags


def bare_rows(url: str):
    """The Responses rows from one streamed query, pivoted by a fixed map (the baseline's whole logic)."""
    from survey_app.questionnaire import load_questionnaire

    engine = create_engine(url)
    with engine.connect() as connection:
        definition = connection.execute(text("SELECT definition FROM questionnaire_versions WHERE id = 1")).scalar_one()
        questionnaire = load_questionnaire(definition)
        header, where, flags = bare_columns(questionnaire)
        yield header
        result = connection.execution_options(yield_per=5000).execute(text(
            "SELECT r.id, r.submission_id, r.submitted_at, r.started_at, r.language, r.version_id, r.status, "
            "a.question_id, a.item, a.code, a.number, a.text FROM responses r "
            "LEFT JOIN answers a ON a.response_id = r.id WHERE r.survey_id = 1 AND r.status = 'complete' "
            "ORDER BY r.id"))
        row, current, chosen = None, None, {}
        for (response_id, submission, submitted, started, language, version, status,
             question_id, item, code, number, value) in result:
            if response_id != current:
                if row is not None:
                    yield _finish(row, chosen, where, flags)
                current, chosen = response_id, {}
                row = [response_id, submission, _moment(submitted), _moment(started), language, version, status]
                row.extend([None] * (len(header) - len(row)))
            if question_id in flags:
                chosen.setdefault(question_id, []).append(code)
            elif question_id is not None:
                column = where.get((question_id, item))
                if column is not None:
                    row[column] = code if code is not None else number if number is not None else value
        if row is not None:
            yield _finish(row, chosen, where, flags)
    engine.dispose()


def _moment(value):
    if isinstance(value, str):  # SQLite through text(): ISO text
        value = datetime.fromisoformat(value)
    if value is not None and value.tzinfo is not None:
        value = value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def _finish(row: list, chosen: dict, where: dict, flags: dict) -> list:
    for question_id, values in flags.items():
        picked = chosen.get(question_id)
        if picked:
            row[where[(question_id, "*")]] = " ".join(value for value in values if value in picked)
            for value in values:
                row[where[(question_id, value)]] = 1 if value in picked else 0
    return row


def run_baseline(url: str) -> Callable[[Path], None]:
    """The same Responses cells written directly with xlsxwriter, constant memory."""
    return partial(_write_bare, url)


def _write_bare(url: str, target: Path) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(target), {"constant_memory": True, "strings_to_formulas": False,
                                                  "strings_to_urls": False, "strings_to_numbers": False})
    sheet = workbook.add_worksheet("Responses")
    moment = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for index, row in enumerate(bare_rows(url)):
        for column, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                sheet.write_string(index, column, value)
            elif isinstance(value, datetime):
                sheet.write_datetime(index, column, value, moment)
            else:
                sheet.write_number(index, column, value)
    workbook.close()


def run_pandas(url: str) -> Callable[[Path], None]:
    """The same rows through a DataFrame and ``to_excel``."""
    return partial(_write_pandas, url)


def _write_pandas(url: str, target: Path) -> None:
    import pandas

    rows = bare_rows(url)
    header = next(rows)
    pandas.DataFrame(list(rows), columns=header).to_excel(target, index=False, engine="xlsxwriter")


EXPORTERS = {"ours": run_ours, "ours-data": partial(run_ours, summary=False), "xlsxwriter": run_baseline,
             "pandas": run_pandas}


def _status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> None:
    """Start VmHWM afresh from the current RSS (Linux 4.0+), so set-up peaks do not count."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def child(name: str, url: str) -> None:
    """Run one exporter and print, as JSON, its wall and CPU time, its peak RSS while exporting (the
    process's RSS after set-up included) and the file's size."""
    with tempfile.TemporaryDirectory(prefix="bench-export-") as directory:
        target = Path(directory) / f"{name}.xlsx"
        export = EXPORTERS[name](url)
        ready_mb = _status_mb("VmRSS")
        _reset_peak()
        start, cpu = time.perf_counter(), time.process_time()
        export(target)
        seconds = time.perf_counter() - start
        print(json.dumps({"seconds": seconds, "cpu_seconds": time.process_time() - cpu, "ready_mb": ready_mb,
                          "peak_mb": _status_mb("VmHWM"), "bytes": target.stat().st_size}))


def measure(name: str, url: str) -> dict | None:
    """Run ``child`` in a fresh process (so that peak memory is its own); None when it overran its time."""
    log(f"  exporting with {name}...")
    try:
        done = subprocess.run([sys.executable, "-m", "bench.bench_export", "--child", name, url], cwd=ROOT,
                              capture_output=True, text=True, check=True, timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        log(f"  {name} did not finish within {CHILD_TIMEOUT:.0f} s (BENCH_EXPORT_CHILD_TIMEOUT)")
        return None
    result = json.loads(done.stdout.strip().splitlines()[-1])
    log(f"  {name}: {result['seconds']:.1f} s, {result['cpu_seconds']:.1f} s CPU, peak {result['peak_mb']:.0f} MB "
        f"(ready: {result['ready_mb']:.0f} MB), {result['bytes'] / 2**20:.1f} MB file")
    return result


def main() -> None:
    """Build each backend's database, run the exporters and report each comparison as soon as it is measured."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=RESPONSES)
    parser.add_argument("--child", nargs=2, metavar=("EXPORTER", "URL"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        return child(*arguments.child)
    with_pandas = importlib.util.find_spec("pandas") is not None
    if not with_pandas:
        log("pandas is not importable: its comparison is skipped")
    unfinished = []
    for backend in backends():
        with fresh_database(backend) as url:
            log(f"{backend}: building {arguments.responses:,} responses x 40 questions")
            started = time.perf_counter()
            build(url, arguments.responses)
            log(f"  built in {time.perf_counter() - started:.0f} s")
            size = f"{arguments.responses // 1000}k x 40 ({backend})"
            base = measure("xlsxwriter", url)
            if base is None:
                unfinished.append(f"xlsxwriter ({backend})")
                continue
            for name, what in (("ours-data", "Responses + Codebook"), ("ours", "full workbook with Summary"),
                               *((("pandas", "pandas to_excel"),) if with_pandas else ())):
                found = measure(name, url)
                if found is None:
                    unfinished.append(f"{name} ({backend})")
                    continue
                emit(*comparison(found, base, what, size))
    if unfinished:
        log(f"not measured: {', '.join(unfinished)}")
        sys.exit(1)


def comparison(found: dict, base: dict, what: str, size: str) -> list[dict]:
    """The BENCH records of one exporter against the bare baseline: time, then peak memory."""
    bare = "xlsxwriter constant_memory, same Responses cells"
    ratio = found["seconds"] / base["seconds"]
    log(f"  {what} / xlsxwriter: time {ratio:.2f}x, CPU {found['cpu_seconds'] / base['cpu_seconds']:.2f}x "
        f"(target <= {TIME_TARGET}x), memory {found['peak_mb'] - base['peak_mb']:+.0f} MB "
        f"(target <= {MEMORY_TARGET_MB} MB)")
    return [
        record(f"xlsx export time, {what}, {size}", found["seconds"], "s", base["seconds"], higher_is_better=False,
               baseline_name=bare, aim=round(1 / TIME_TARGET, 3), cpu_seconds=round(found["cpu_seconds"], 2),
               baseline_cpu_seconds=round(base["cpu_seconds"], 2)),
        record(f"xlsx export peak memory, {what}, {size}", found["peak_mb"], "MB", base["peak_mb"],
               higher_is_better=False, baseline_name=bare, ready_mb=round(found["ready_mb"], 1),
               baseline_ready_mb=round(base["ready_mb"], 1),
               note=f"{found['peak_mb'] - base['peak_mb']:+.0f} MB (target: within {MEMORY_TARGET_MB} MB); "
                    "peak RSS while exporting, the process's RSS before it included"),
    ]


if __name__ == "__main__":
    main()
