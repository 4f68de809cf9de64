"""Fixtures of the load tests: a migrated database with the load questionnaire open,
gunicorn serving the app with its log in ``tmp_path``, and a TCP proxy that can
take the PostgreSQL server away for a while.

Everything runs on 127.0.0.1. The PostgreSQL server itself is never touched: each
test gets its own schema (``bench.common.fresh_database``), dropped afterwards, and
an outage is simulated by the proxy in front of it.
"""
from __future__ import annotations

import json
import os
import queue
import re
import selectors
import shlex
import shutil
import socket
import struct
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.common import HOST, Server, fresh_database
from survey_app import create_app, db
from survey_app.auth.passwords import hash_password
from survey_app.models import Role, SurveyStatus, User
from survey_app.questionnaire import load_questionnaire
from survey_app.questionnaire.model import Questionnaire
from survey_app.surveys import import_survey
from tests.helpers import PASSWORD
from tests.load.simulated_respondent import QUESTIONNAIRE, SLUG

SKIP_POSTGRES = os.environ.get("SURVEY_APP_SKIP_POSTGRES") == "1"


# ------------------------------------------------------------------ the database and the survey


@dataclass
class Site:
    """A migrated database with the load questionnaire published and open."""

    backend: str
    database_url: str  # direct, as the test reads it back
    questionnaire: Questionnaire
    slug: str = SLUG

    def app_config(self, database_url: str | None = None) -> dict[str, Any]:
        """The configuration gunicorn's workers build the app with (production-like: CSRF on, not TESTING)."""
        return {"DATABASE_URL": database_url or self.database_url, "SECRET_KEY": "load-" + uuid.uuid4().hex,
                "BABEL_DEFAULT_LOCALE": "en", "WTF_CSRF_ENABLED": True}


def _publish(url: str) -> Questionnaire:
    questionnaire = load_questionnaire(json.dumps(QUESTIONNAIRE).encode("utf-8"))
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "load-setup"})
    try:
        with app.app_context():
            session = db.session()
            owner = User(email="load-owner@example.org", name="Load owner", role=Role("researcher"),
                         password_hash=hash_password(PASSWORD))
            session.add(owner)
            session.flush()
            import_survey(session, questionnaire, owner, status=SurveyStatus.OPEN)
            session.commit()
    finally:
        db.database(app).engine.dispose()
    return questionnaire


@pytest.fixture
def postgres_site(tmp_path) -> Iterator[Site]:
    """A fresh PostgreSQL schema (dropped afterwards) with the load survey open."""
    if SKIP_POSTGRES:
        pytest.skip("SURVEY_APP_SKIP_POSTGRES=1")
    try:
        with fresh_database("postgres", tmp_path) as url:
            yield Site("postgres", url, _publish(url))
    except RuntimeError as error:
        if "not reachable" in str(error):
            pytest.fail(str(error), pytrace=False)
        raise


@pytest.fixture
def sqlite_site(tmp_path) -> Iterator[Site]:
    """A fresh SQLite file (the embedded default) with the load survey open."""
    with fresh_database("sqlite", tmp_path) as url:
        yield Site("sqlite", url, _publish(url))


# ------------------------------------------------------------------ gunicorn, its log kept in tmp_path


class LoggedServer(Server):
    """``bench.common.Server`` whose gunicorn error log is a file in the test's ``tmp_path``.

    gunicorn's own log (worker boots and deaths, "Error handling request"
    tracebacks) and what the app logs through ``wsgi.errors`` go to
    ``error_log`` (``--error-logfile`` through ``GUNICORN_CMD_ARGS``, which
    bench's command line does not set); anything else written to stderr lands in
    bench's own log file, which is copied to ``stderr_log`` when the server stops.
    """

    def __init__(self, factory: str, config: dict, *, log_directory: Path, **kwargs):
        self.error_log = log_directory / "gunicorn-error.log"
        self.stderr_log = log_directory / "gunicorn-stderr.log"
        environment = dict(kwargs.pop("env", None) or {})
        environment["GUNICORN_CMD_ARGS"] = f"--error-logfile {shlex.quote(str(self.error_log))}"
        super().__init__(factory, config, env=environment, **kwargs)

    def _bench_log(self) -> Path | None:
        return Path(self._directory) / "gunicorn.log" if self._directory else None

    def log_text(self) -> str:
        """Everything gunicorn and the app wrote so far."""
        parts = []
        for path in (self.error_log, self._bench_log()):
            if path is not None and path.exists():
                parts.append(path.read_text(errors="replace"))
        return "\n".join(parts)

    def workers_pids(self) -> list[int]:
        """The pids of the master's children (its workers), from /proc."""
        if self.process is None:
            return []
        try:
            text = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text()
        except OSError:
            return []
        return [int(pid) for pid in text.split()]

    def stop(self) -> None:
        self._end_process()
        bench_log = self._bench_log()
        if bench_log is not None and bench_log.exists():
            shutil.copyfile(bench_log, self.stderr_log)
        super().stop()


_TRACEBACK = re.compile(r"Traceback \(most recent call last\)")
_BAD = re.compile(r"\[ERROR\]|\[CRITICAL\]|\[WARNING\]|^(ERROR|WARNING|CRITICAL)\b| (ERROR|WARNING|CRITICAL) in |"
                  r"Error handling request|WORKER TIMEOUT|Exception|database is locked|unexpected error|"
                  r"Internal Server Error|database unavailable")


def log_problems(text: str, allowed: tuple[str, ...] = ()) -> list[str]:
    """The problems in a gunicorn log: every traceback and every error or warning
    record, except records matching one of the ``allowed`` patterns (say, the
    expected SIGKILL messages). Each problem is one string, condensed: its first
    line, the frames in survey_app and the exception lines of a traceback."""
    allowed_patterns = [re.compile(pattern) for pattern in allowed]
    problems: list[list[str]] = []
    state = "ok"
    for line in text.splitlines():
        continuation = not line.strip() or line[:1].isspace() or line.startswith("(Background on this error")
        if _TRACEBACK.search(line):
            if state != "problem":
                problems.append([line])
            state = "problem"
        elif continuation or (state == "problem" and _EXCEPTION_LINE.match(line)) or line.startswith(_CHAINED):
            if state == "problem":  # the rest of a traceback or of a multi-line message
                problems[-1].append(line)
        elif any(pattern.search(line) for pattern in allowed_patterns):
            state = "allowed"
        elif _BAD.search(line):
            problems.append([line])
            state = "problem"
        else:
            state = "ok"
    return [_condensed(lines) for lines in problems]


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Warning|Exit|Interrupt)\b")
_CHAINED = ("The above exception was the direct cause", "During handling of the above exception")


def _condensed(lines: list[str]) -> str:
    kept = [lines[0]]
    for number, line in enumerate(lines[1:], start=1):
        if "/survey_app/" in line and line.lstrip().startswith("File "):
            kept.append(line.strip() + " | " + (lines[number + 1].strip() if number + 1 < len(lines) else ""))
        elif _EXCEPTION_LINE.match(line):
            kept.append(line.strip())
    return "\n      ".join(kept)


@pytest.fixture
def gunicorn(tmp_path) -> Iterator[Callable[..., LoggedServer]]:
    """Start gunicorn (sync workers, no --preload) serving the app of a :class:`Site`:
    ``gunicorn(site, workers=4, database_url=None)``; stopped after the test."""
    started: list[LoggedServer] = []

    def start(site: Site, *, workers: int = 4, database_url: str | None = None) -> LoggedServer:
        server = LoggedServer("survey_app:create_app", site.app_config(database_url), log_directory=tmp_path,
                              workers=workers, name=f"load-{site.backend}", ready_path=f"/s/{site.slug}")
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


# ------------------------------------------------------------------ a TCP proxy in front of PostgreSQL


class TcpProxy:
    """A small TCP proxy on 127.0.0.1 that forwards to ``upstream`` (PostgreSQL),
    run by one background thread (a selector loop over every socket).

    :meth:`cut` closes the listening socket (new connections are refused) and
    resets every open connection, both ways (SO_LINGER 0: an RST); :meth:`restore`
    listens again on the same port. The PostgreSQL server is never touched.
    """

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port: int | None = None
        self.accepted = self.resets = 0
        self._selector = selectors.DefaultSelector()
        self._listener: socket.socket | None = None
        self._peers: dict[socket.socket, socket.socket] = {}
        self._commands: queue.Queue = queue.Queue()
        self._wake_read, self._wake_write = socket.socketpair()
        self._thread: threading.Thread | None = None
        self._done = threading.Event()
        self.error: BaseException | None = None

    # --- control, from the test's thread

    def start(self) -> TcpProxy:
        self._listen()
        self._selector.register(self._wake_read, selectors.EVENT_READ, "wake")
        self._thread = threading.Thread(target=self._loop, name="tcp-proxy", daemon=True)
        self._thread.start()
        return self

    def _command(self, name: str) -> None:
        finished = threading.Event()
        self._commands.put((name, finished))
        self._wake_write.send(b"x")
        if not finished.wait(10):
            raise RuntimeError(f"the proxy did not carry out {name!r}")

    def cut(self) -> None:
        """The database goes away: refuse new connections and reset the open ones."""
        self._command("cut")

    def restore(self) -> None:
        """The database is back: listen again on the same port."""
        self._command("restore")

    def stop(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._command("stop")
            self._thread.join(10)
        self._wake_read.close()
        self._wake_write.close()
        self._selector.close()

    # --- the loop, in the proxy's thread

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((HOST, self.port or 0))
        listener.listen(128)
        listener.setblocking(False)
        self.port = listener.getsockname()[1]
        self._listener = listener
        if self._thread is not None:  # restoring: the loop's selector is running
            self._selector.register(listener, selectors.EVENT_READ, "accept")

    def _loop(self) -> None:
        try:
            self._selector.register(self._listener, selectors.EVENT_READ, "accept")
            while not self._done.is_set():
                for key, _events in self._selector.select(timeout=0.5):
                    if key.data == "wake":
                        self._wake_read.recv(64)
                        self._run_commands()
                    elif key.data == "accept":
                        self._accept()
                    elif key.fileobj in self._peers:
                        self._forward(key.fileobj)
        except BaseException as error:  # noqa: BLE001 - kept for the test to report
            self.error = error
        finally:
            self._reset_all()
            self._close_listener()

    def _run_commands(self) -> None:
        while True:
            try:
                name, finished = self._commands.get_nowait()
            except queue.Empty:
                return
            if name == "cut":
                self._close_listener()
                self._reset_all()
            elif name == "restore":
                if self._listener is None:
                    self._listen()
            elif name == "stop":
                self._done.set()
            finished.set()

    def _accept(self) -> None:
        if self._listener is None:
            return
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        try:
            server = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        self.accepted += 1
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(10)  # sendall never blocks the loop for long
        self._peers[client], self._peers[server] = server, client
        self._selector.register(client, selectors.EVENT_READ)
        self._selector.register(server, selectors.EVENT_READ)

    def _forward(self, source: socket.socket) -> None:
        target = self._peers[source]
        try:
            data = source.recv(65536)
            if data:
                target.sendall(data)
                return
        except OSError:
            pass
        self._drop(source, reset=False)

    def _drop(self, sock: socket.socket, *, reset: bool) -> None:
        other = self._peers.pop(sock, None)
        for each in (sock, other):
            if each is None:
                continue
            self._peers.pop(each, None)
            try:
                self._selector.unregister(each)
            except (KeyError, ValueError):
                pass
            if reset:
                try:
                    each.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            each.close()

    def _reset_all(self) -> None:
        while self._peers:
            sock = next(iter(self._peers))
            self.resets += 1
            self._drop(sock, reset=True)

    def _close_listener(self) -> None:
        if self._listener is not None:
            try:
                self._selector.unregister(self._listener)
            except (KeyError, ValueError):
                pass
            self._listener.close()
            self._listener = None


@pytest.fixture
def postgres_proxy() -> Iterator[TcpProxy]:
    """A :class:`TcpProxy` to the test suite's PostgreSQL server; stopped after the test."""
    from sqlalchemy.engine import make_url

    from bench.common import POSTGRES_URL

    url = make_url(POSTGRES_URL)
    proxy = TcpProxy((url.host or HOST, url.port or 5432)).start()
    yield proxy
    proxy.stop()
    assert proxy.error is None, f"the proxy failed: {proxy.error!r}"
