"""A simulated respondent: answers a 3-page questionnaire through the real HTTP pages.

Each respondent is one browser (its own cookie jar): GET a page, POST it with
``action=next``, ... then GET the review page and POST the final submit. Its
answers are random but drawn from ``random.Random(seed)`` and RECORDED (the
typed answers the app must store, beside the form fields that were posted), so
the test can compare every stored response with what its client sent.

Faults a respondent copes with, as a patient person with a browser would:

* a connection error (a killed worker, a reset) or a 5xx answer: the SAME
  request (same form, same ``submission_id``) is sent again after a short pause,
  at most ``RetryPolicy.attempts`` times;
* some respondents send the final submit twice: ``"double_click"`` sends it on
  two connections at once; ``"timeout_retry"`` gives up waiting on the first one
  after a few milliseconds (closing the connection, as a browser whose request
  timed out) and sends it again.

What happened is kept in a :class:`Record`: the submission id, the answers,
whether the submit got a success answer (a 302 to ``/done?receipt=<id>``), every
status seen, every 5xx (with an excerpt of its body), connection errors, and
anything unexpected. :class:`Crowd` runs many respondents from a fixed number of
threads, bounded in count and in time.
"""
from __future__ import annotations

import datetime
import http.client
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

from bench.common import Client, Reply

SLUG = "load-test"

#: The questionnaire every load test answers: three pages, most question types,
#: a page-level "other", skip logic, a constraint, a calculated value, a repeat group.
QUESTIONNAIRE: dict[str, Any] = {
    "id": SLUG,
    "version": "1",
    "languages": ["en", "ru"],
    "default_language": "en",
    "title": {"en": "Load test", "ru": "Нагрузочный тест"},
    "description": {"en": "Answered by simulated respondents.", "ru": "Отвечают симулированные респонденты."},
    "thank_you": {"en": "Thank you!", "ru": "Спасибо!"},
    "choice_lists": {
        "scale": [{"value": "good", "label": {"en": "Good", "ru": "Хорошо"}},
                  {"value": "fair", "label": {"en": "Fair", "ru": "Средне"}},
                  {"value": "bad", "label": {"en": "Bad", "ru": "Плохо"}}],
    },
    "pages": [
        {"id": "about", "title": {"en": "About you", "ru": "О вас"}, "questions": [
            {"id": "gender", "type": "single_choice", "required": True, "label": {"en": "Gender", "ru": "Пол"},
             "choices": [{"value": "female", "label": {"en": "Female", "ru": "Женский"}},
                         {"value": "male", "label": {"en": "Male", "ru": "Мужской"}}],
             "other": {"en": "Other", "ru": "Другое"}},
            {"id": "carer", "type": "yes_no", "show_if": "gender = 'female'",
             "label": {"en": "Do you care for a relative?", "ru": "Ухаживаете ли вы за родственником?"}},
            {"id": "age", "type": "integer", "required": True, "min": 16, "max": 110,
             "label": {"en": "Age", "ru": "Возраст"}},
            {"id": "station", "type": "text", "pattern": "^[0-9]{1,4}$",
             "pattern_message": {"en": "Digits only", "ru": "Только цифры"}, "label": {"en": "Station", "ru": "Участок"}},
        ]},
        {"id": "opinions", "title": {"en": "Opinions", "ru": "Мнения"}, "questions": [
            {"id": "channels", "type": "multiple_choice", "label": {"en": "Channels", "ru": "Каналы"},
             "choices": [{"value": "web", "label": "Web"}, {"value": "tv", "label": "TV"},
                         {"value": "radio", "label": "Radio"}, {"value": "press", "label": "Press"},
                         {"value": "none", "label": {"en": "None", "ru": "Никакие"}, "exclusive": True}]},
            {"id": "rating", "type": "rating", "max": 5, "label": {"en": "Rating", "ru": "Оценка"}},
            {"id": "grid", "type": "matrix", "required": True, "label": {"en": "Services", "ru": "Услуги"},
             "rows": [{"value": "roads", "label": "Roads"}, {"value": "schools", "label": "Schools"},
                      {"value": "clinics", "label": "Clinics"}], "choices": "scale"},
            {"id": "rank", "type": "ranking", "label": {"en": "Ranking", "ru": "Ранжирование"},
             "choices": [{"value": "x", "label": "X"}, {"value": "y", "label": "Y"}, {"value": "z", "label": "Z"}]},
            {"id": "share", "type": "decimal", "decimals": 1, "min": 0, "max": 100, "label": {"en": "Share", "ru": "Доля"}},
            {"id": "visited", "type": "date", "min": "2020-01-01", "max": "2025-12-31", "label": {"en": "Date", "ru": "Дата"}},
            {"id": "mail", "type": "email", "label": {"en": "E-mail", "ru": "Почта"}},
            {"id": "comment", "type": "long_text", "max_length": 2000, "label": {"en": "Comment", "ru": "Комментарий"}},
            {"id": "double_age", "type": "calculated", "expression": "age * 2"},
        ]},
        {"id": "incidents_page", "title": {"en": "Incidents", "ru": "Инциденты"}, "questions": [
            {"id": "candidates", "type": "integer", "min": 0, "max": 50, "label": {"en": "Candidates", "ru": "Кандидаты"}},
            {"id": "winners", "type": "integer", "min": 0, "label": {"en": "Winners", "ru": "Победители"},
             "constraints": [{"expression": "winners <= candidates",
                              "message": {"en": "No more winners than candidates", "ru": "Не больше кандидатов"}}]},
            {"id": "incidents", "type": "repeat", "max_count": 3, "label": {"en": "Incidents", "ru": "Инциденты"},
             "entry_label": {"en": "Incident {n}", "ru": "Инцидент {n}"},
             "questions": [
                 {"id": "kind", "type": "single_choice", "required": True, "label": {"en": "Kind", "ru": "Вид"},
                  "choices": [{"value": "fraud", "label": "Fraud"}, {"value": "pressure", "label": "Pressure"}]},
                 {"id": "details", "type": "text", "label": {"en": "Details", "ru": "Подробности"},
                  "show_if": "kind = 'fraud'"},
             ]},
        ]},
    ],
}
PAGES = [page["id"] for page in QUESTIONNAIRE["pages"]]

#: The words of random texts: Cyrillic, Kazakh letters, markup and quotes that must come back intact.
WORDS = ["участок", "бюллетень", "сайлау", "Қазақстан", "өтініш", "ұйым", "vote", "ballot", "<b>bold</b>",
         "<script>alert(1)</script>", "O'Brien", '"quoted"', "a&b", "=SUM(A1)", "50%", "🙂", "tab\there", "line\nbreak"]

#: The friendly text of the "try again" page (survey_app/errors.py), in English.
TRY_AGAIN = "Please try again in a moment"
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
_SUBMISSION = re.compile(r'name="submission_id" (?:type="hidden" )?value="([^"]+)"')
MODES = ("once", "double_click", "timeout_retry")


# ------------------------------------------------------------------ answers


@dataclass
class Plan:
    """What one respondent answers: the typed answers the app must store, and the
    form fields it posts on each page (as a browser would post them)."""

    answers: dict[str, Any]
    forms: dict[str, list[tuple[str, str]]]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def random_plan(rng: random.Random) -> Plan:
    """Random, valid answers to :data:`QUESTIONNAIRE`; optional questions are sometimes left blank."""
    answers: dict[str, Any] = {}
    about: list[tuple[str, str]] = []
    gender = rng.choice(["female", "male", "other"])
    about.append(("gender", gender))
    answers["gender"] = gender
    if gender == "other":
        other = f"self-described {_text(rng, 2)} {rng.randrange(10**6)}"
        about.append(("gender__other", other))
        answers["gender:other"] = other
    if gender == "female" and rng.random() < 0.8:
        answers["carer"] = rng.choice(["yes", "no"])
        about.append(("carer", answers["carer"]))
    age = rng.randint(16, 110)
    answers["age"] = age
    about.append(("age", str(age)))
    if rng.random() < 0.7:
        answers["station"] = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 4)))
        about.append(("station", answers["station"]))
    else:
        about.append(("station", ""))  # a blank text box is posted too

    opinions: list[tuple[str, str]] = []
    choices = ["web", "tv", "radio", "press"]
    if rng.random() < 0.1:
        answers["channels"] = ["none"]
    elif rng.random() < 0.85:
        answers["channels"] = [choice for choice in choices if rng.random() < 0.5] or ["web"]
    opinions += [("channels", choice) for choice in answers.get("channels", [])]  # in page order, as checked boxes
    if rng.random() < 0.8:
        answers["rating"] = rng.randint(1, 5)
        opinions.append(("rating", str(answers["rating"])))
    answers["grid"] = {row: rng.choice(["good", "fair", "bad"]) for row in ("roads", "schools", "clinics")}
    opinions += [(f"grid.{row}", cell) for row, cell in answers["grid"].items()]
    if rng.random() < 0.6:
        order = rng.sample(["x", "y", "z"], 3)
        answers["rank"] = order
        opinions += [(f"rank.{choice}", str(order.index(choice) + 1)) for choice in ("x", "y", "z")]
    else:
        opinions += [(f"rank.{choice}", "") for choice in ("x", "y", "z")]
    if rng.random() < 0.7:
        whole, tenth = rng.randint(0, 99), rng.randint(0, 9)
        if tenth:
            answers["share"] = whole + tenth / 10
            opinions.append(("share", f"{whole}{rng.choice(',.')}{tenth}"))
        else:
            answers["share"] = whole
            opinions.append(("share", str(whole)))
    if rng.random() < 0.5:
        day = datetime.date(2020, 1, 1) + datetime.timedelta(days=rng.randrange(2000))
        answers["visited"] = day.isoformat()
        opinions.append(("visited", answers["visited"]))
    if rng.random() < 0.5:
        answers["mail"] = f"person{rng.randrange(10**6)}@example.org"
        opinions.append(("mail", answers["mail"]))
    if rng.random() < 0.8:
        answers["comment"] = f"#{rng.randrange(10**9)} {_text(rng, rng.randint(1, 25))} end"
        opinions.append(("comment", answers["comment"]))
    answers["double_age"] = age * 2

    third: list[tuple[str, str]] = []
    if rng.random() < 0.8:
        answers["candidates"] = rng.randint(0, 50)
        third.append(("candidates", str(answers["candidates"])))
        if rng.random() < 0.8:
            answers["winners"] = rng.randint(0, answers["candidates"])
            third.append(("winners", str(answers["winners"])))
    entries = []
    for number in range(rng.choice([0, 0, 1, 2, 3])):
        kind = rng.choice(["fraud", "pressure"])
        entry = {"kind": kind}
        third.append((f"incidents.{number}.kind", kind))
        if kind == "fraud" and rng.random() < 0.7:
            entry["details"] = f"{_text(rng, 2)} {rng.randrange(1000)}"
            third.append((f"incidents.{number}.details", entry["details"]))
        entries.append(entry)
    if entries:
        answers["incidents"] = entries
    return Plan(answers, {"about": about, "opinions": opinions, "incidents_page": third})


# ------------------------------------------------------------------ what happened


@dataclass
class Record:
    """What one simulated respondent did and saw."""

    index: int
    mode: str
    answers: dict[str, Any]
    submission_id: str | None = None
    submit_ok: bool = False  # some submit got a 302 to /done?receipt=<this submission id>
    submit_sends: int = 0  # final submits sent (double clicks and retries included)
    submit_statuses: list[int] = field(default_factory=list)
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    transport_errors: list[str] = field(default_factory=list)  # connection refused/reset, timeouts
    try_again_pages: int = 0  # 503 with the friendly text
    server_errors: list[str] = field(default_factory=list)  # any other 5xx, or a 503 without the friendly text
    unexpected: list[str] = field(default_factory=list)  # a wrong redirect, a 4xx, a traceback in a page...
    gave_up: str | None = None  # the step whose retries ran out
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        """Nothing a respondent should never see: no 5xx but the friendly 503, nothing unexpected."""
        return not self.server_errors and not self.unexpected and self.gave_up is None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and after how long a respondent sends a failed request again."""

    attempts: int = 10
    first_pause: float = 0.2
    longest_pause: float = 2.0
    timeout: float = 30.0  # seconds to wait for an answer before treating it as a connection error

    def pause(self, attempt: int) -> float:
        return min(self.longest_pause, self.first_pause * 2 ** attempt)


class GaveUp(Exception):
    """A request failed ``RetryPolicy.attempts`` times."""


@dataclass
class _Reply:
    status: int
    location: str
    text: str


# ------------------------------------------------------------------ one respondent


class Browser(Client):
    """``bench.common.Client`` without its silent second attempt.

    bench's client sends a request once more by itself when the connection drops
    (for keep-alive connections the server closed). Here a dropped connection
    (a killed worker) must reach the respondent, which counts it and retries the
    same request itself, so this ``request`` makes exactly one attempt. The cookie
    handling is bench's, copied.
    """

    def request(self, method: str, path: str, body=None, headers: Mapping[str, str] | None = None) -> Reply:
        sent = {**self.headers, **(headers or {})}
        if body is not None and not isinstance(body, (bytes, str)):
            body = urlencode(list(body.items()) if isinstance(body, Mapping) else body, doseq=True)
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        try:
            self.connection.request(method, path, body=body, headers=sent)
            response = self.connection.getresponse()
            data = response.read()
        except BaseException:
            self.connection.close()
            raise
        for cookie in response.headers.get_all("Set-Cookie") or ():
            name, _, rest = cookie.partition("=")
            value = rest.split(";", 1)[0]
            if value and "max-age=0" not in cookie.lower():
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        return Reply(response.status, response.headers, data)


class SimulatedRespondent:
    """One browser answering the questionnaire once, through the real pages."""

    def __init__(self, address: tuple[str, int], record: Record, plan: Plan, *, slug: str = SLUG,
                 policy: RetryPolicy = RetryPolicy(), rng: random.Random | None = None, follow_done: bool = False):
        self.address, self.record, self.plan, self.slug, self.policy = address, record, plan, slug, policy
        self.rng = rng or random.Random(record.index)
        self.follow_done = follow_done
        self.client = Browser(address, headers={"Accept-Language": "en", "User-Agent": "simulated-respondent/1"},
                             timeout=policy.timeout)

    # --- the walk through the pages

    def run(self) -> Record:
        began = time.perf_counter()
        try:
            self._answer()
        except GaveUp as error:
            self.record.gave_up = str(error)
        finally:
            self.client.close()
            self.record.seconds = time.perf_counter() - began
        return self.record

    def _answer(self) -> None:
        base = f"/s/{self.slug}"
        for number, page_id in enumerate(PAGES):
            path = f"{base}/p/{page_id}"
            page = self._send("GET", path, expect=(200,), step=f"GET {page_id}")
            token, submission_id = self._form(page, f"GET {page_id}")
            if self.record.submission_id is None:
                self.record.submission_id = submission_id
            elif submission_id != self.record.submission_id:
                self._unexpected(f"GET {page_id}: submission id changed from {self.record.submission_id} to {submission_id}")
            body = [("csrf_token", token), ("submission_id", self.record.submission_id), ("action", "next"),
                    *self.plan.forms[page_id]]
            following = f"{base}/p/{PAGES[number + 1]}" if number + 1 < len(PAGES) else f"{base}/review"
            self._send("POST", path, body, expect=(302,), step=f"POST {page_id}", location=following)
        review = self._send("GET", f"{base}/review", expect=(200,), step="GET review")
        token, submission_id = self._form(review, "GET review")
        if submission_id != self.record.submission_id:
            self._unexpected(f"GET review: submission id {submission_id}, the pages had {self.record.submission_id}")
        body = [("csrf_token", token), ("submission_id", self.record.submission_id)]
        done = f"{base}/done?receipt={self.record.submission_id}"
        if self.record.mode == "double_click":
            self._double_click(f"{base}/submit", body, done)
        elif self.record.mode == "timeout_retry":
            self._abandoned_send(f"{base}/submit", body)
        if not self.record.submit_ok:  # the only send, the retry after a timeout, or a double click that failed
            reply = self._send("POST", f"{base}/submit", body, expect=(302,), step="POST submit", location=done)
            if reply.location == done:
                self.record.submit_ok = True
        if self.follow_done:
            thanks = self._send("GET", done, expect=(200,), step="GET done")
            if "Thank you!" not in thanks.text:
                self._unexpected("GET done: no thank-you text")

    def _form(self, reply: _Reply, step: str) -> tuple[str, str]:
        token, submission = _CSRF.search(reply.text), _SUBMISSION.search(reply.text)
        if not token or not submission:
            self._unexpected(f"{step}: no csrf_token or submission_id in the page")
            raise GaveUp(f"{step}: the page has no form")
        return token.group(1), submission.group(1)

    def _unexpected(self, what: str) -> None:
        self.record.unexpected.append(what)

    # --- sending, with retries

    def _send(self, method: str, path: str, body=None, *, expect: tuple[int, ...], step: str,
              location: str | None = None) -> _Reply:
        """Send until an answer that is not a 5xx or a connection error arrives (bounded)."""
        for attempt in range(self.policy.attempts):
            if attempt:
                time.sleep(self.policy.pause(attempt - 1) * (0.5 + self.rng.random()))
            try:
                reply = self._request(method, path, body)
            except (OSError, http.client.HTTPException) as error:
                self.record.transport_errors.append(f"{step}: {type(error).__name__}: {error}")
                self.client.close()
                continue
            if step == "POST submit":
                self.record.submit_sends += 1
                self.record.submit_statuses.append(reply.status)
            if reply.status >= 500:
                self._judge_5xx(step, reply)
                continue  # the same request again, friendly page or not
            if reply.status not in expect:
                self._unexpected(f"{step}: status {reply.status} (expected {expect}), location {reply.location!r}: "
                                 f"{_excerpt(reply.text)}")
            elif location is not None and reply.location != location:
                self._unexpected(f"{step}: redirected to {reply.location!r}, expected {location!r}")
            return reply
        raise GaveUp(f"{step}: no answer after {self.policy.attempts} attempts")

    def _judge_5xx(self, step: str, reply: _Reply) -> bool:
        """Record a 5xx; True when it is the friendly "try again" page."""
        friendly = (reply.status == 503 and TRY_AGAIN in reply.text and "Traceback" not in reply.text)
        if friendly:
            self.record.try_again_pages += 1
        else:
            self.record.server_errors.append(f"{step}: {reply.status}: {_excerpt(reply.text)}")
        return friendly

    def _request(self, method: str, path: str, body=None) -> _Reply:
        self.record.requests += 1
        reply = self.client.request(method, path, body=body)
        self.record.statuses[reply.status] += 1
        text = reply.text
        for poison in ("Traceback (most recent call last)", "database is locked"):
            if poison in text:
                self._unexpected(f"{method} {path}: {poison!r} in the answer ({reply.status})")
        return _Reply(reply.status, _path_of(reply.location), text)

    def _raw_request(self, method: str, path: str, body: list[tuple[str, str]]) -> bytes:
        encoded = urlencode(body).encode()
        headers = {"Host": f"{self.address[0]}:{self.address[1]}", "Content-Type": "application/x-www-form-urlencoded",
                   "Content-Length": str(len(encoded)), "Accept-Language": "en", "Connection": "close"}
        if self.client.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.client.cookies.items())
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        return head.encode("latin-1") + encoded

    def _double_click(self, path: str, body: list[tuple[str, str]], done: str) -> None:
        """Send the final submit on two connections at once, then read both answers."""
        request = self._raw_request("POST", path, body)
        sockets = []
        for _ in range(2):
            try:
                sockets.append(socket.create_connection(self.address, timeout=self.policy.timeout))
            except OSError as error:
                self.record.transport_errors.append(f"double click: {type(error).__name__}: {error}")
        try:
            for sock in sockets:
                sock.sendall(request)
                self.record.submit_sends += 1
                self.record.requests += 1
            for sock in sockets:
                status, location, text = _read_reply(sock)
                self.record.submit_statuses.append(status)
                self.record.statuses[status] += 1
                if status >= 500:
                    self._judge_5xx("double click", _Reply(status, location, text))
                elif status != 302 or _path_of(location) != done:
                    self._unexpected(f"double click: status {status}, location {location!r}: {_excerpt(text)}")
                else:
                    self.record.submit_ok = True
        except (OSError, http.client.HTTPException, ValueError) as error:
            self.record.transport_errors.append(f"double click: {type(error).__name__}: {error}")
        finally:
            for sock in sockets:
                sock.close()

    def _abandoned_send(self, path: str, body: list[tuple[str, str]]) -> None:
        """Send the final submit and stop waiting after a few milliseconds (a browser's
        timeout, a user who reloads): the answer, if any, is never read."""
        request = self._raw_request("POST", path, body)
        try:
            with socket.create_connection(self.address, timeout=self.policy.timeout) as sock:
                sock.sendall(request)
                self.record.submit_sends += 1
                self.record.requests += 1
                sock.settimeout(self.rng.choice([0.0005, 0.005, 0.05]))
                try:
                    sock.recv(1)
                except TimeoutError:
                    pass
        except OSError as error:
            self.record.transport_errors.append(f"abandoned submit: {type(error).__name__}: {error}")


def _read_reply(sock: socket.socket) -> tuple[int, str, str]:
    """The status, Location and body of one HTTP/1.1 answer on ``sock`` (which the server closes)."""
    response = http.client.HTTPResponse(sock)
    response.begin()
    body = response.read()
    return response.status, response.getheader("Location", ""), body.decode("utf-8", errors="replace")


def _path_of(location: str) -> str:
    """A Location header without scheme and host (Flask sends relative ones, but be lenient)."""
    if not location:
        return ""
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _excerpt(text: str, size: int = 300) -> str:
    found = re.search(r"<h1>(.*?)</h1>", text, re.S)
    core = found.group(1).strip() if found else text
    return " ".join(core.split())[:size]


# ------------------------------------------------------------------ many respondents


@dataclass
class CrowdSettings:
    """How many respondents, how many at once, and how they submit."""

    respondents: int
    concurrency: int
    seed: int = 20240501
    double_click_share: float = 0.05
    timeout_retry_share: float = 0.05
    follow_done_share: float = 0.0
    time_limit: float = 300.0  # no new respondent starts after this many seconds
    policy: RetryPolicy = RetryPolicy()


class Crowd:
    """``settings.respondents`` simulated respondents, ``settings.concurrency`` at a time.

    ``run()`` blocks; ``start()`` / ``join()`` run it in a background thread so a
    test can cause a fault in the middle (watch :attr:`finished`).
    """

    def __init__(self, address: tuple[str, int], settings: CrowdSettings, *, slug: str = SLUG):
        self.address, self.settings, self.slug = address, settings, slug
        self.records: list[Record] = []
        self.elapsed = 0.0
        self._lock = threading.Lock()
        self._next = 0
        self._finished = 0
        self._thread: threading.Thread | None = None
        self._deadline = 0.0

    @property
    def finished(self) -> int:
        return self._finished

    def _mode(self, rng: random.Random) -> str:
        draw = rng.random()
        if draw < self.settings.double_click_share:
            return "double_click"
        if draw < self.settings.double_click_share + self.settings.timeout_retry_share:
            return "timeout_retry"
        return "once"

    def _take(self) -> int | None:
        with self._lock:
            if self._next >= self.settings.respondents or time.perf_counter() > self._deadline:
                return None
            self._next += 1
            return self._next - 1

    def _worker(self) -> None:
        while (index := self._take()) is not None:
            rng = random.Random(f"{self.settings.seed}:{index}")
            plan = random_plan(rng)
            record = Record(index=index, mode=self._mode(rng), answers=plan.answers)
            respondent = SimulatedRespondent(self.address, record, plan, slug=self.slug, policy=self.settings.policy,
                                             rng=rng, follow_done=rng.random() < self.settings.follow_done_share)
            try:
                respondent.run()
            except Exception as error:  # a bug in the simulation itself: keep it visible
                record.unexpected.append(f"simulated respondent crashed: {type(error).__name__}: {error}")
            with self._lock:
                self.records.append(record)
                self._finished += 1

    def start(self) -> Crowd:
        began = time.perf_counter()
        self._deadline = began + self.settings.time_limit

        def run_all() -> None:
            threads = [threading.Thread(target=self._worker, name=f"respondent-{n}", daemon=True)
                       for n in range(self.settings.concurrency)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            self.elapsed = time.perf_counter() - began

        self._thread = threading.Thread(target=run_all, name="crowd", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> list[Record]:
        assert self._thread is not None
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"the simulated respondents did not finish within {timeout} s")
        self.records.sort(key=lambda record: record.index)
        return self.records

    def run(self) -> list[Record]:
        return self.start().join(self.settings.time_limit + 120)

    def wait_until(self, finished: int, timeout: float) -> bool:
        """Block until ``finished`` respondents are done (True) or ``timeout`` passed (False)."""
        deadline = time.perf_counter() + timeout
        while self._finished < finished:
            if time.perf_counter() > deadline or (self._thread is not None and not self._thread.is_alive()):
                return False
            time.sleep(0.02)
        return True


def summary(records: list[Record], elapsed: float) -> str:
    """One line for humans: how many respondents completed, how fast, what they saw."""
    statuses: Counter = Counter()
    for record in records:
        statuses.update(record.statuses)
    requests = sum(record.requests for record in records)
    done = sum(record.submit_ok for record in records)
    transport = sum(len(record.transport_errors) for record in records)
    return (f"{done}/{len(records)} respondents submitted in {elapsed:.1f} s "
            f"({done / elapsed if elapsed else 0:.1f} responses/s, {requests / elapsed if elapsed else 0:.0f} requests/s); "
            f"statuses {dict(sorted(statuses.items()))}; connection errors {transport}; "
            f"try-again pages {sum(record.try_again_pages for record in records)}")
