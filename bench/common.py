"""Helpers shared by the benchmarks, and the contract every bench module follows.

The contract of a bench module
==============================

* It is a file ``bench/bench_<topic>.py``. ``bash bench/run`` runs every such file,
  one after another and nothing else at the same time, as
  ``python -m bench.bench_<topic>`` from the repository root (the virtualenv's
  python, the root on ``PYTHONPATH``), under a time limit (``BENCH_TIMEOUT``,
  default 600 s, then SIGTERM).
* It reports each result as ONE line on stdout: ``BENCH `` and a JSON object
  (:func:`record` builds it, :func:`emit` prints it)::

      BENCH {"name": "page GET (sqlite)", "value": 540.2, "unit": "req/s", "baseline": 905.0, "ratio": 0.597}

  ``name``      what was measured; say which database (unique within the module)
  ``value``     our figure (a number)
  ``unit``      its unit: ``req/s``, ``rows/s``, ``s``...
  ``baseline``  the bare baseline's figure for the same work, in the same unit,
                measured in the same run on the same machine (never a constant)
  ``ratio``     ours relative to the baseline, oriented so that HIGHER IS BETTER:
                ``value / baseline`` for rates, ``baseline / value`` for durations.
                1.0 = as fast as the bare baseline. The project's floor is 0.5,
                its aim 0.7.

  Optional keys: ``baseline_name`` (what the baseline is, shown in the table),
  ``floor`` / ``aim`` (when a benchmark has other targets), ``note``, and any
  details you like (kept in the JSON, not shown).
* Anything else on stdout is ignored; progress and diagnostics go to stderr.
* Exit status 0 when everything was measured. A module that exits non-zero,
  prints no ``BENCH`` line or a malformed one has its raw output shown under
  the table (its valid records still appear in it).
* Bounded: every measurement stops after a fixed duration or a fixed number of
  requests (about 10 s), the whole module within a few minutes; load goes to
  127.0.0.1 only.
* It cleans up after itself, also on Ctrl-C and SIGTERM: servers stopped
  (:class:`Server` as a context manager), files deleted and PostgreSQL schemas
  dropped (:func:`fresh_database`).
* Settings it should honour (all optional): ``BENCH_DURATION`` (seconds per
  measurement), ``BENCH_CONCURRENCY`` (client threads), ``BENCH_BACKENDS``
  (``sqlite,postgres``), ``BENCH_POSTGRES_URL`` (default: the test suite's
  server, ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).

What is here
============

* :class:`Server`: gunicorn (sync workers) on a free 127.0.0.1 port, serving
  ``factory(config)`` for any app factory through a small generated WSGI module.
* :class:`Client`: a keep-alive HTTP client (``http.client``) with a cookie jar.
  (gunicorn's sync workers close the connection after each response; the client
  reconnects as a browser would, for ours and the baselines alike.)
* :func:`run_load`: a thread pool of clients driving a work function for a fixed
  duration or a fixed number of requests; :class:`LoadResult` has the rate.
* :func:`fresh_database`: a new SQLite file or PostgreSQL schema, migrated, and
  removed afterwards.
* :func:`record` / :func:`emit`: the result lines described above.

``python -m bench.common report DIR`` prints the table ``bench/run`` shows.
"""
from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
FLOOR, AIM = 0.5, 0.7
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL") or os.environ.get(
    "SURVEY_APP_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def cores() -> int:
    """The CPU cores this process may run on (what ``nproc`` says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def setting(name: str, default: float) -> float:
    """A numeric ``BENCH_*`` setting from the environment."""
    raw = os.environ.get(name, "").strip()
    return type(default)(raw) if raw else default


def backends() -> list[str]:
    """The databases to benchmark: ``BENCH_BACKENDS`` (default ``sqlite,postgres``)."""
    raw = os.environ.get("BENCH_BACKENDS", "sqlite,postgres")
    return [name.strip() for name in raw.split(",") if name.strip()]


def log(*parts: Any) -> None:
    """Progress for humans, on stderr (stdout carries the results)."""
    print(*parts, file=sys.stderr, flush=True)


# --- termination: run every ``finally`` (servers stopped, schemas dropped) on SIGTERM too ---

def _terminate(signum, _frame):
    raise SystemExit(128 + signum)


def handle_termination() -> None:
    """Turn SIGTERM and SIGHUP into SystemExit, so cleanup code runs (main thread only)."""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGHUP):
            if signal.getsignal(signum) in (signal.SIG_DFL, None):
                signal.signal(signum, _terminate)


# --- servers ---

_WSGI_MODULE = '''"""Generated by bench.common.Server: serve {factory}(config)."""
import importlib
import json

_module, _, _name = {factory!r}.partition(":")
app = getattr(importlib.import_module(_module), _name)(json.loads({config!r}))
'''


def free_port() -> int:
    """A TCP port nobody listens on at the moment, on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn with ``workers`` sync workers serving ``factory(config)`` on 127.0.0.1.

    ``factory`` is ``"module:callable"`` (e.g. ``"survey_app:create_app"``), called
    with ``config`` (a JSON-able mapping) in every worker (no ``--preload``, as in
    production). Use it as a context manager; :meth:`stop` ends the gunicorn
    master it started (which stops its workers) and deletes its files.
    """

    def __init__(self, factory: str, config: Mapping[str, Any], *, workers: int = 2, name: str = "server",
                 ready_path: str = "/", env: Mapping[str, str] | None = None, startup_timeout: float = 60.0):
        self.factory, self.config, self.workers, self.name = factory, dict(config), workers, name
        self.ready_path, self.env, self.startup_timeout = ready_path, dict(env or {}), startup_timeout
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self._directory: str | None = None

    @property
    def address(self) -> tuple[str, int]:
        return HOST, self.port

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()

    def start(self) -> Server:
        handle_termination()
        self._directory = tempfile.mkdtemp(prefix=f"bench-{self.name}-")
        directory = Path(self._directory)
        (directory / "bench_wsgi_app.py").write_text(
            _WSGI_MODULE.format(factory=self.factory, config=json.dumps(self.config)))
        environment = {**os.environ, **self.env,
                       "PYTHONPATH": os.pathsep.join(filter(None, [str(directory), str(ROOT), os.environ.get("PYTHONPATH")]))}
        for _attempt in range(3):  # the free port may be taken between probing and binding
            self.port = free_port()
            command = [sys.executable, "-m", "gunicorn", "--workers", str(self.workers), "--worker-class", "sync",
                       "--bind", f"{HOST}:{self.port}", "--chdir", str(ROOT), "--timeout", "120",
                       "--graceful-timeout", "5", "--log-level", "warning", "bench_wsgi_app:app"]
            with open(directory / "gunicorn.log", "ab") as output:
                self.process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=output,
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
            if self._wait_until_ready():
                log(f"[{self.name}] gunicorn pid {self.process.pid}, {self.workers} sync workers, "
                    f"http://{HOST}:{self.port}")
                return self
            self._end_process()
        failure = self.log_tail()
        self.stop()
        raise RuntimeError(f"[{self.name}] gunicorn did not start:\n{failure}")

    def _wait_until_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            connection = http.client.HTTPConnection(HOST, self.port, timeout=5)
            try:
                connection.request("GET", self.ready_path)
                if connection.getresponse().status < 500:
                    return True
            except OSError:
                pass
            finally:
                connection.close()
            time.sleep(0.1)
        return False

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the gunicorn master and its workers have used so far.

        Unlike requests per second this hardly depends on what else the machine
        runs at the same time; it leaves out the PostgreSQL server's own work.
        """
        if self.process is None:
            return 0.0
        pids = [self.process.pid, *_children(self.process.pid)]
        return sum(_process_cpu(pid) for pid in pids)

    def log_tail(self, lines: int = 40) -> str:
        """The end of gunicorn's log (errors from the app land here)."""
        if not self._directory:
            return ""
        path = Path(self._directory) / "gunicorn.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def _end_process(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # gunicorn's master stops its workers
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def stop(self) -> None:
        self._end_process()
        if self._directory:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime, stime


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


# --- HTTP clients ---

@dataclass
class Reply:
    """A response as the client got it."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class Client:
    """A keep-alive HTTP/1.1 client with a cookie jar, like one browser tab.

    ``body`` may be bytes, or a mapping / list of pairs sent as an HTML form
    (lists become repeated fields). The connection is reopened when the server
    closed it (gunicorn's sync workers do after every response).
    """

    def __init__(self, address: tuple[str, int], headers: Mapping[str, str] | None = None, timeout: float = 60.0):
        self.address = address
        self.connection = http.client.HTTPConnection(*address, timeout=timeout)
        self.headers = dict(headers or {})
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body=None, headers: Mapping[str, str] | None = None) -> Reply:
        sent = {**self.headers, **(headers or {})}
        if body is not None and not isinstance(body, (bytes, str)):
            body = urlencode(list(body.items()) if isinstance(body, Mapping) else body, doseq=True)
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        for attempt in (0, 1):
            try:
                self.connection.request(method, path, body=body, headers=sent)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, http.client.CannotSendRequest, ConnectionResetError,
                    BrokenPipeError):
                self.connection.close()  # a keep-alive connection the server had closed: open a new one
                if attempt:
                    raise
        for cookie in response.headers.get_all("Set-Cookie") or ():
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value and "max-age=0" not in cookie.lower():
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        return Reply(response.status, response.headers, data)

    def get(self, path: str, **kwargs) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body=None, **kwargs) -> Reply:
        return self.request("POST", path, body=body, **kwargs)

    def close(self) -> None:
        self.connection.close()


# --- load ---

class Exhausted(Exception):
    """Raised by a work function when it has nothing left to do (e.g. no prepared item)."""


@dataclass
class LoadResult:
    """What a measurement counted: successful requests, failures, wall time, latencies."""

    ok: int = 0
    errors: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    client_cpu: float = 0.0  # cores the load generator itself used, on average
    first_error: str | None = None
    server_cpu: float = 0.0  # CPU seconds the server's processes used (when run_load was given the server)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def cpu_per_request(self) -> float | None:
        """Server CPU seconds per successful request (None without a server to measure)."""
        return self.server_cpu / self.ok if self.ok and self.server_cpu else None

    def percentile(self, fraction: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def __add__(self, other: LoadResult) -> LoadResult:
        return LoadResult(self.ok + other.ok, self.errors + other.errors, self.elapsed + other.elapsed,
                          self.latencies + other.latencies,
                          (self.client_cpu * self.elapsed + other.client_cpu * other.elapsed)
                          / max(self.elapsed + other.elapsed, 1e-9),
                          self.first_error or other.first_error, self.server_cpu + other.server_cpu)

    def summary(self) -> str:
        p50, p95 = (self.percentile(fraction) for fraction in (0.5, 0.95))
        latency = f"p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms" if self.latencies else "no latencies"
        cpu = f"server CPU {self.cpu_per_request * 1000:.1f} ms/request; " if self.cpu_per_request else ""
        return (f"{self.ok} ok, {self.errors} errors in {self.elapsed:.1f} s = {self.rate:.0f}/s; {latency}; "
                f"{cpu}load generator used {self.client_cpu:.2f} core")


Work = Callable[[Client], Any]


def make_clients(address: tuple[str, int], count: int, headers: Mapping[str, str] | None = None) -> list[Client]:
    """``count`` clients (browser tabs) for :func:`run_load`."""
    return [Client(address, headers) for _ in range(count)]


def run_load(clients: list[Client], work: Work, *, duration: float, count: int | None = None,
             warmup: float = 0.0, server: Server | None = None) -> LoadResult:
    """Drive ``work(client)`` from one thread per client until ``duration`` seconds have
    passed or ``count`` calls were made, whichever comes first.

    ``work`` makes one request (usually) and returns False (or raises) when it
    failed; it raises :class:`Exhausted` when there is nothing more to do. Every
    call is timed. A ``warmup`` of that many seconds runs first, uncounted. With
    ``server``, the CPU time its processes used is measured too.
    """
    if warmup > 0:
        _drive(clients, work, warmup, None)
    cpu_before = server.cpu_seconds() if server else 0.0
    result = _drive(clients, work, duration, count)
    result.server_cpu = server.cpu_seconds() - cpu_before if server else 0.0
    return result


def _drive(clients: list[Client], work: Work, duration: float, count: int | None) -> LoadResult:
    tickets = itertools.count()
    results = [LoadResult() for _ in clients]
    start_line = threading.Barrier(len(clients) + 1)
    deadline = [0.0]

    def loop(client: Client, result: LoadResult) -> None:
        start_line.wait()
        while time.perf_counter() < deadline[0] and (count is None or next(tickets) < count):
            began = time.perf_counter()
            try:
                good = work(client) is not False
            except Exhausted:
                break
            except Exception as error:  # counted, and the first one is kept for the report
                good = False
                result.first_error = result.first_error or f"{type(error).__name__}: {error}"
            if good:
                result.ok += 1
                result.latencies.append(time.perf_counter() - began)
            else:
                result.errors += 1
                result.first_error = result.first_error or "work reported a failure"

    threads = [threading.Thread(target=loop, args=(client, result), daemon=True)
               for client, result in zip(clients, results)]
    for thread in threads:
        thread.start()
    cpu_before = time.process_time()
    began = time.perf_counter()
    deadline[0] = began + duration
    start_line.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    total = LoadResult(elapsed=elapsed, client_cpu=(time.process_time() - cpu_before) / max(elapsed, 1e-9))
    for result in results:
        total.ok += result.ok
        total.errors += result.errors
        total.latencies += result.latencies
        total.first_error = total.first_error or result.first_error
    return total


# --- databases ---

@contextlib.contextmanager
def fresh_database(backend: str, directory: str | Path | None = None) -> Iterator[str]:
    """The URL of a new, migrated database (``sqlite``: a new file; ``postgres``: a new
    schema on ``BENCH_POSTGRES_URL``, reached through ``search_path``), removed afterwards."""
    import sqlalchemy as sa

    from survey_app import create_app, db, migrate

    handle_termination()
    made_here = directory is None
    directory = Path(directory or tempfile.mkdtemp(prefix="bench-db-"))
    admin = schema = None
    try:
        if backend == "sqlite":
            url = f"sqlite:///{directory / f'bench-{uuid.uuid4().hex[:8]}.sqlite3'}"
        elif backend == "postgres":
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = sa.create_engine(POSTGRES_URL)
            try:
                with admin.begin() as connection:
                    connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
            except sa.exc.OperationalError as error:
                schema = None
                raise RuntimeError(f"PostgreSQL at {POSTGRES_URL} is not reachable ({error.orig}); "
                                   "start it, set BENCH_POSTGRES_URL, or set BENCH_BACKENDS=sqlite") from None
            separator = "&" if "?" in POSTGRES_URL else "?"
            url = f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
        else:
            raise ValueError(f"unknown backend {backend!r} (sqlite or postgres)")
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-migrate"})
        migrate.upgrade(app)
        db.database(app).engine.dispose()
        yield url
    finally:
        if admin is not None:
            if schema is not None:
                with admin.begin() as connection:
                    connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            admin.dispose()
        if made_here:
            shutil.rmtree(directory, ignore_errors=True)


# --- results ---

def record(name: str, value: float, unit: str, baseline: float | None, *, higher_is_better: bool = True,
           **details: Any) -> dict[str, Any]:
    """A result record (see the contract above); ``ratio`` is oriented so higher is better."""
    ratio = None
    if value and baseline:
        ratio = value / baseline if higher_is_better else baseline / value
    return {"name": name, "value": round(value, 2), "unit": unit,
            "baseline": round(baseline, 2) if baseline is not None else None,
            "ratio": round(ratio, 3) if ratio is not None else None, **details}


def emit(*records: Mapping[str, Any]) -> None:
    """Print records as ``BENCH {json}`` lines on stdout."""
    for item in records:
        print("BENCH " + json.dumps(item, ensure_ascii=False), flush=True)


# --- the table bench/run prints ---

_REQUIRED = {"name": str, "value": (int, float), "unit": str}


def parse_output(stdout: str) -> tuple[list[dict], list[str]]:
    """The records in a module's stdout, and what was wrong with its BENCH lines."""
    records, problems = [], []
    for number, line in enumerate(stdout.splitlines(), start=1):
        if not line.startswith("BENCH "):
            continue
        try:
            item = json.loads(line[len("BENCH "):])
        except json.JSONDecodeError as error:
            problems.append(f"line {number}: not JSON ({error})")
            continue
        if not isinstance(item, dict):
            problems.append(f"line {number}: not a JSON object")
            continue
        wrong = [key for key, kind in _REQUIRED.items() if not isinstance(item.get(key), kind)]
        wrong += [key for key in ("baseline", "ratio") if key not in item
                  or not (item[key] is None or isinstance(item[key], (int, float)))]
        if wrong:
            problems.append(f"line {number}: missing or wrong {', '.join(wrong)}")
            continue
        records.append(item)
    return records, problems


def _number(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def _verdict(item: dict) -> str:
    ratio = item.get("ratio")
    if ratio is None:
        return "–"
    floor, aim = item.get("floor", FLOOR), item.get("aim", AIM)
    if ratio >= aim:
        return f"meets aim {aim}"
    if ratio >= floor:
        return f"above floor {floor}, below aim {aim}"
    return f"BELOW FLOOR {floor}"


def table(rows: list[tuple[str, dict]], core_count: int) -> str:
    """One Markdown table of every module's records."""
    header = ["bench", "benchmark", "figure", "same-run baseline", "ratio (ours/bare)", "verdict", "cores"]
    lines = [header]
    for module, item in rows:
        baseline = f"{_number(item.get('baseline'))} {item['unit']}" if item.get("baseline") is not None else "–"
        if item.get("baseline_name"):
            baseline += f" ({item['baseline_name']})"
        ratio = f"{item['ratio']:.2f}" if item.get("ratio") is not None else "–"
        lines.append([module, item["name"], f"{_number(item['value'])} {item['unit']}", baseline, ratio,
                      _verdict(item), str(core_count)])
    widths = [max(len(line[column]) for line in lines) for column in range(len(header))]
    text = ["| " + " | ".join(cell.ljust(width) for cell, width in zip(line, widths)) + " |" for line in lines]
    text.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(text)


def report(directory: Path) -> int:
    """Print the table for the outputs ``bench/run`` collected in ``directory``; 1 if any module failed."""
    rows, raw = [], []
    for out in sorted(directory.glob("*.out")):
        module = out.stem
        stdout = out.read_text(errors="replace")
        stderr_path, rc_path = out.with_suffix(".err"), out.with_suffix(".rc")
        stderr = stderr_path.read_text(errors="replace") if stderr_path.exists() else ""
        rc = int(rc_path.read_text().strip() or 1) if rc_path.exists() else 1
        records, problems = parse_output(stdout)
        rows += [(module.removeprefix("bench_"), item) for item in records]
        if rc != 0 or not records or problems:
            status = {124: f"timed out after BENCH_TIMEOUT={os.environ.get('BENCH_TIMEOUT', '?')} s (exit status 124)",
                      137: "killed after the timeout (exit status 137)"}.get(rc, f"exit status {rc}")
            why = ([status] if rc != 0 else []) + (["no BENCH line"] if not records else []) + problems
            raw.append((module, why, stdout, stderr))
    print(f"Benchmarks on {os.uname().nodename} — {cores()} cores, Python {sys.version.split()[0]}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}; ratio = ours/bare, higher is better "
          f"(floor {FLOOR}, aim {AIM})")
    print()
    print(table(rows, cores()) if rows else "(no results)")
    for module, why, stdout, stderr in raw:
        print()
        print(f"--- {module}: not following the bench contract ({'; '.join(why)}); its raw output ---")
        print("[stdout]")
        print(stdout.rstrip() or "(empty)")
        print("[stderr]")
        print(stderr.rstrip() or "(empty)")
    return 1 if raw else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "report":
        sys.exit(report(Path(sys.argv[2])))
    sys.exit("usage: python -m bench.common report DIRECTORY")
