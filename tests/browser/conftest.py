"""Fixtures of the browser tests: a live server, Debian's Chromium, axe-core, and a respondent.

* ``live_server``: the app on a fresh SQLite file, with the five example
  questionnaires open, served by werkzeug in a thread (one per test session).
* ``browser``: Chromium at ``/usr/bin/chromium`` (``SURVEY_APP_CHROMIUM`` overrides),
  driven by Playwright; never a downloaded browser.
* ``tabs``: opens pages in fresh browser contexts (JavaScript on or off, a 360x740
  phone or a 1280x900 desktop) and fails the test on any JavaScript error, CSP
  violation, failed asset or server error seen in them.
* ``axe``: runs axe-core (installed with npm into tests/browser/node_modules the
  first time) on a page of a context made with ``bypass_csp=True``.
* ``respondent``: a :class:`BrowserRespondent`, who answers pages through the real
  forms: a generic "answer this page" plus per-test overrides.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from survey_app import create_app, db, migrate
from survey_app.auth.passwords import hash_password
from survey_app.models import Response, Role, Survey, SurveyStatus, User
from survey_app.questionnaire import load_questionnaire
from survey_app.questionnaire.model import Question, Questionnaire
from survey_app.questionnaire.texts import localize
from survey_app.responses.logic import resolve
from survey_app.surveys import import_survey
from tests.helpers import PASSWORD

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
QUESTIONNAIRES = ROOT / "questionnaires"
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("SURVEY_APP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]
VIEWPORTS = {"mobile": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 900}}
TIMEOUT_MS = 10_000
LIVE_MS = 3_000  # show/hide happens on the click itself: nothing should take long


# ---------------------------------------------------------------- the live server


@dataclass(frozen=True)
class StoredResponse:
    submission_id: str
    status: str
    language: str
    current_page: str | None
    answers: dict[str, Any]


@dataclass
class LiveServer:
    """The running app: its base ``url``, the app itself and the loaded questionnaires."""

    url: str
    app: Any
    questionnaires: dict[str, Questionnaire]

    def responses(self, slug: str) -> list[StoredResponse]:
        """Every response of the survey ``slug``, oldest first, as stored in the database."""
        with self.app.app_context():
            rows = db.session().execute(
                select(Response).join(Survey, Survey.id == Response.survey_id)
                .where(Survey.slug == slug).order_by(Response.id)).scalars().all()
            return [StoredResponse(row.submission_id, row.status.value, row.language, row.current_page,
                                   dict((row.data or {}).get("answers", {}))) for row in rows]

    def complete(self, slug: str) -> list[StoredResponse]:
        return [response for response in self.responses(slug) if response.status == "complete"]


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The app on a fresh SQLite file, the five example questionnaires open, served in a thread."""
    from werkzeug.serving import make_server

    path = tmp_path_factory.mktemp("browser") / "survey.sqlite3"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}",
                      "SECRET_KEY": "browser-" + uuid.uuid4().hex, "WTF_CSRF_ENABLED": True})
    migrate.upgrade(app)
    questionnaires = {}
    with app.app_context():
        session = db.session()
        owner = User(email="researcher@example.org", name="Researcher", role=Role("researcher"),
                     password_hash=hash_password(PASSWORD))
        session.add(owner)
        session.flush()
        for file in sorted(QUESTIONNAIRES.glob("*.json")):
            questionnaire = load_questionnaire(file.read_bytes())
            survey, _ = import_survey(session, questionnaire, owner, status=SurveyStatus.OPEN)
            questionnaires[survey.slug] = questionnaire
        session.commit()
    assert len(questionnaires) == 5, sorted(questionnaires)

    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)  # no line per request in the test output
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app, questionnaires)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        db.database(app).engine.dispose()
        werkzeug_log.setLevel(level)


# ---------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, through Playwright (no browser is ever downloaded)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or set SURVEY_APP_CHROMIUM)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Tabs:
    """Opens pages in new browser contexts and notes every problem they run into."""

    def __init__(self, browser, base_url: str):
        self.browser, self.base_url = browser, base_url
        self.contexts: list = []
        self.problems: list[str] = []

    def open(self, *, javascript: bool = True, viewport: str = "mobile", locale: str = "en-US",
             bypass_csp: bool = False):
        """A page in a new context: its own cookies, JavaScript on or off, a phone or a desktop."""
        mobile = viewport == "mobile"
        context = self.browser.new_context(
            base_url=self.base_url, java_script_enabled=javascript, viewport=VIEWPORTS[viewport],
            is_mobile=mobile, has_touch=mobile, locale=locale, bypass_csp=bypass_csp)
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        return self.watch(context.new_page())

    def another(self, page):
        """A second tab sharing ``page``'s cookies."""
        return self.watch(page.context.new_page())

    def watch(self, page):
        def console(message) -> None:
            # a failed load is reported by "response" below, with its address
            if message.type == "error" and not message.text.startswith("Failed to load resource"):
                self.problems.append(f"console error on {page.url}: {message.text}")

        def response(reply) -> None:
            kind = reply.request.resource_type
            if reply.status >= 500 or (reply.status >= 400 and kind != "document"
                                       and not reply.url.endswith("/favicon.ico")):
                self.problems.append(f"HTTP {reply.status} for {kind} {reply.url}")

        page.on("pageerror", lambda error: self.problems.append(f"JavaScript error on {page.url}: {error}"))
        page.on("console", console)
        page.on("response", response)
        return page

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()


@pytest.fixture
def tabs(browser, live_server) -> Iterator[Tabs]:
    """Open pages with ``tabs.open(javascript=..., viewport="mobile"|"desktop")``; the test
    fails if any of them hit a JavaScript error, a CSP violation or a failed request."""
    opened = Tabs(browser, live_server.url)
    yield opened
    opened.close()
    if opened.problems:
        pytest.fail("problems in the browser:\n  " + "\n  ".join(dict.fromkeys(opened.problems)), pytrace=False)


# ---------------------------------------------------------------- axe-core


def _install_axe() -> Path:
    if AXE_JS.exists():
        return AXE_JS
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail(f"{AXE_JS} is missing and npm is not on PATH: run `npm ci --prefix tests/browser`",
                    pytrace=False)
    command = "ci" if (HERE / "package-lock.json").exists() else "install"
    subprocess.run([npm, command, "--prefix", str(HERE), "--no-audit", "--no-fund"],
                   check=True, capture_output=True, timeout=300)
    assert AXE_JS.exists(), f"npm {command} did not install {AXE_JS}"
    return AXE_JS


_AXE_RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html, summary: n.failureSummary})),
  }));
}"""


class Axe:
    """axe-core, injected into pages whose context was made with ``bypass_csp=True``
    (the app's Content-Security-Policy blocks injected scripts)."""

    SEVERE = ("serious", "critical")

    def __init__(self, script: Path):
        self.script = script

    def violations(self, page) -> list[dict]:
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.add_script_tag(path=str(self.script))
        return page.evaluate(_AXE_RUN)

    @staticmethod
    def describe(where: str, violations: list[dict]) -> str:
        lines = []
        for violation in violations:
            lines.append(f"{where}: [{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
            for node in violation["nodes"][:5]:
                summary = " ".join((node["summary"] or "").split())
                lines.append(f"    at {node['target']}: {node['html'][:160]}\n      {summary[:400]}")
            if len(violation["nodes"]) > 5:
                lines.append(f"    ... and {len(violation['nodes']) - 5} more elements")
        return "\n".join(lines)


@pytest.fixture(scope="session")
def axe() -> Axe:
    return Axe(_install_axe())


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


# ---------------------------------------------------------------- answering pages

#: Answers to text questions with a pattern, by pattern (add one for a new pattern).
PATTERN_EXAMPLES = {
    r"^[A-Z]{2,4}-[0-9]{2,3}$": "ALA-07",
    r"^https?://\S+$": "https://www.gov.kz/memleket/entities/almaty",
    r"^[0-9]{1,4}$": "0417",
    r"^([01][0-9]|2[0-3]):[0-5][0-9]$": "07:40",
}
SAMPLE_TEXT = {"ru": "Проверочный ответ наблюдателя", "kk": "Бақылаушының тексеру жауабы",
               "en": "A test answer from the observer"}
SAMPLE_DATE = "2024-03-19"


def default_answer(question: Question, language: str) -> Any:
    """A valid answer to ``question``, read from its rules in the questionnaire JSON."""
    options = question.options
    match question.type:
        case "single_choice":
            return question.choices[0].value
        case "yes_no":
            return "yes"
        case "rating":
            return options.get("min", 1)
        case "multiple_choice":
            wanted = max(1, options.get("min_selected", 1))
            return [choice.value for choice in question.choices if not choice.exclusive][:wanted]
        case "matrix":
            return {row.value: question.choices[0].value for row in question.rows}
        case "ranking":
            return [choice.value for choice in question.choices]
        case "integer" | "decimal":
            return options.get("min", 0)
        case "date":
            return min(max(SAMPLE_DATE, options.get("min", SAMPLE_DATE)), options.get("max", SAMPLE_DATE))
        case "email":
            return "respondent@example.org"
        case "repeat":
            return [{} for _ in range(options.get("min_count", 0))]
        case "text" | "long_text":
            pattern = options.get("pattern")
            if pattern is None:
                return SAMPLE_TEXT[language][: options.get("max_length", 500)]
            assert pattern in PATTERN_EXAMPLES, f"add an example answer for the pattern {pattern!r}"
            example = PATTERN_EXAMPLES[pattern]
            assert re.fullmatch(pattern, example), (pattern, example)
            return example
    raise AssertionError(f"no default answer for a {question.type} question")


def _choice_order(question: Question, values: list[str]) -> list[str]:
    """A multiple choice answer as the form posts it: in the order of the choices."""
    return [value for value in question.choice_values() if value in values]


class BrowserRespondent:
    """A respondent answering one questionnaire in one browser page.

    ``given`` collects every answer entered, shaped as the database stores it
    (``"<id>:other"`` for "please specify" texts), so a test can compare it with
    the stored response.
    """

    def __init__(self, page, server: LiveServer, slug: str, language: str, javascript: bool):
        self.page, self.server, self.slug = page, server, slug
        self.questionnaire = server.questionnaires[slug]
        self.language, self.javascript = language, javascript
        self.given: dict[str, Any] = {}
        self.visited: list[str] = []

    # -- where we are

    @property
    def page_id(self) -> str | None:
        path = urlsplit(self.page.url).path
        return path.split("/p/", 1)[1] if "/p/" in path else None

    def text(self, text) -> str:
        """A text of the questionnaire in the respondent's language."""
        return localize(text, self.language, self.questionnaire.default_language)

    def block(self, question_id: str):
        """The element wrapping a question (``incidents.0.incident_time`` inside a repeat entry)."""
        return self.page.locator(f'[id="question-{question_id}"]')

    def shown(self, question_id: str) -> bool:
        return self.block(question_id).is_visible()

    # -- moving

    def welcome(self, *, lang_in_url: bool = True):
        """Open the welcome page, in the respondent's language (``?lang=`` or the browser's)."""
        self.page.goto(f"/s/{self.slug}" + (f"?lang={self.language}" if lang_in_url else ""))
        assert self.page.locator("html").get_attribute("lang") == self.language
        assert self.page.locator("h1").inner_text().strip() == self.text(self.questionnaire.title)
        return self.page

    def start(self, *, lang_in_url: bool = True) -> None:
        self.welcome(lang_in_url=lang_in_url)
        with self.page.expect_navigation():
            self.page.locator("main a.button").click()
        assert self.page_id == self.questionnaire.pages[0].id, self.page.url

    def press(self, action: str):
        """Click the page's button for ``action`` (next, back, save_later, add:<group>...)."""
        with self.page.expect_navigation() as navigation:
            self.page.locator(f'button[name="action"][value="{action}"]').click()
        return navigation.value

    def continue_(self) -> None:
        """Click Continue; the page must have been accepted."""
        page_id = self.page_id
        reply = self.press("next")
        errors = self.page.locator(".error-summary")
        if errors.count():
            raise AssertionError(f"page {page_id} was refused: {' | '.join(errors.locator('li').all_inner_texts())}")
        assert reply.status == 200 and self.page_id != page_id, (reply.status, self.page.url)

    def answer_all(self, overrides: Mapping[str, Mapping[str, Any]] = {},
                   live_checks: Mapping[str, Any] = {}) -> list[str]:
        """Answer every page up to the review page; ``live_checks[page_id](self)`` runs on
        a page before it is answered. Returns the pages seen."""
        while self.page_id is not None:
            if self.page_id in live_checks:
                live_checks[self.page_id](self)
            self.answer_page(overrides.get(self.page_id, {}))
            self.continue_()
        assert urlsplit(self.page.url).path == f"/s/{self.slug}/review", self.page.url
        return self.visited

    # -- answering

    def answer_page(self, overrides: Mapping[str, Any] = {}) -> None:
        """Give every shown question of this page a valid answer, or the one in ``overrides``
        (keys and values as stored; None leaves a question blank). With JavaScript on, the
        questions logic.js hides are skipped, and the page's visibility must then equal the
        server's."""
        page = self.questionnaire.page(self.page_id)
        assert page is not None, self.page.url
        self.visited.append(page.id)
        self._check_inputs(page)
        for question in page.questions:  # repeat entries first: adding one reloads the page
            if question.type == "repeat" and self.shown(question.id):
                self._set_entry_count(question, len(overrides.get(question.id, default_answer(question, self.language))))
        for question in page.questions:
            self._forget(question.id)
            if question.takes_answer and self.shown(question.id):
                value = overrides[question.id] if question.id in overrides else default_answer(question, self.language)
                self.given.update(self._enter(question, question.id, value, overrides.get(f"{question.id}:other")))
        if self.javascript:
            self.check_logic_matches_server()
        else:
            assert self.hidden_questions() == set(), "without JavaScript every question is shown"

    def fill(self, question_id: str, value: Any, other: str | None = None) -> None:
        """Enter one answer (shaped as stored) into its field on this page."""
        self._forget(question_id)
        self.given.update(self._enter(self.questionnaire.questions[question_id], question_id, value, other))

    def _forget(self, question_id: str) -> None:
        self.given.pop(question_id, None)
        self.given.pop(f"{question_id}:other", None)

    def _check_inputs(self, page) -> None:
        """Every field of the form belongs to a question of the page (``q``, ``q__other``,
        ``matrix.row``, ``ranking.choice``, ``group.0.child``)."""
        names = self.page.locator("form.survey-page").locator("input, select, textarea").evaluate_all(
            "fields => fields.map(field => field.name)")
        questions = {question.id for question in page.questions}
        strays = {name for name in names if name not in ("csrf_token", "submission_id", "action")
                  and re.split(r"\.|__other$", name)[0] not in questions}
        assert not strays, f"fields that belong to no question of page {page.id}: {strays}"

    def _enter(self, question: Question, name: str, value: Any, other: str | None) -> dict[str, Any]:
        """Enter ``value`` into the field ``name``; the answers this stores."""
        page = self.page
        if question.type in ("single_choice", "yes_no", "rating"):
            if question.options.get("display") == "dropdown":
                page.locator(f'select[name="{name}"]').select_option(value if value is not None else "")
            elif value is not None:
                page.locator(f'input[name="{name}"][value="{value}"]').check()
        elif question.type == "multiple_choice":
            value = _choice_order(question, value or [])
            boxes = page.locator(f'input[type="checkbox"][name="{name}"]')
            ticked = dict(boxes.evaluate_all("boxes => boxes.map(box => [box.value, box.checked])"))
            for choice, checked in ticked.items():
                if checked != (choice in value):  # click only what must change
                    boxes.and_(page.locator(f'[value="{choice}"]')).set_checked(choice in value)
            value = value or None
        elif question.type == "matrix":
            for row, cell in (value or {}).items():
                page.locator(f'input[name="{name}.{row}"][value="{cell}"]').check()
        elif question.type == "ranking":
            for place, choice in enumerate(value or [], start=1):
                page.locator(f'select[name="{name}.{choice}"]').select_option(str(place))
        elif question.type == "repeat":
            entries = []
            for number, entry in enumerate(value):
                kept: dict[str, Any] = {}
                for child in question.questions:
                    child_name = f"{name}.{number}.{child.id}"
                    if child.takes_answer and self.shown(child_name):
                        answer = entry[child.id] if child.id in entry else default_answer(child, self.language)
                        kept.update(self._enter(child, child_name, answer, entry.get(f"{child.id}:other")))
                entries.append(kept)
            return {question.id: entries} if entries else {}
        else:  # text, long_text, email, integer, decimal, date
            page.locator(f'[name="{name}"]').fill("" if value is None else str(value))
            if isinstance(value, str):
                value = value.strip() or None
        stored = {} if value is None else {question.id: value}
        if question.other is not None and other is not None:
            page.locator(f'input[name="{name}__other"]').fill(other)
            if value == "other" or (isinstance(value, list) and "other" in value):
                stored[f"{question.id}:other"] = other
        return stored

    def _set_entry_count(self, question: Question, wanted: int) -> None:
        entries = self.block(question.id).locator("fieldset.entry")
        while entries.count() < wanted:
            self.press(f"add:{question.id}")
        while entries.count() > wanted:
            self.press(f"remove:{question.id}:{entries.count() - 1}")

    def choose(self, question_id: str, value: str) -> None:
        """Click the label of a choice, as a person would: a radio button is then chosen,
        a checkbox ticked or unticked."""
        option = self.page.locator(f'input[name="{question_id}"][value="{value}"]')
        ticked = option.is_checked()
        self.page.locator(f'label[for="{option.get_attribute("id")}"]').click()
        assert option.is_checked() == (True if option.get_attribute("type") == "radio" else not ticked)

    # -- the page's logic

    def expect_shown(self, *question_ids: str) -> None:
        from playwright.sync_api import expect

        for question_id in question_ids:
            expect(self.block(question_id), f"{question_id} should be shown").to_be_visible(timeout=LIVE_MS)

    def expect_hidden(self, *question_ids: str) -> None:
        from playwright.sync_api import expect

        for question_id in question_ids:
            expect(self.block(question_id), f"{question_id} should be hidden").to_be_hidden(timeout=LIVE_MS)

    def hidden_questions(self) -> set[str]:
        """The questions of this page the browser hides right now."""
        page = self.questionnaire.page(self.page_id)
        shown = set(self.page.locator(".question").evaluate_all(
            "blocks => blocks.filter(block => block.checkVisibility()).map(block => block.id)"))
        return {question.id for question in page.questions if question.takes_answer and f"question-{question.id}" not in shown}

    def check_logic_matches_server(self) -> None:
        """What logic.js shows on this page is what the server's rules show for the answers given."""
        page = self.questionnaire.page(self.page_id)
        visible = resolve(self.questionnaire, self.given).visible_questions
        expected = {question.id for question in page.questions if question.takes_answer and question.id not in visible}
        assert self.hidden_questions() == expected, f"page {page.id}: browser hides {self.hidden_questions()}, server {expected}"

    @contextlib.contextmanager
    def no_reload(self):
        """Whatever happens inside must happen on this page, without loading another."""
        loads: list[str] = []
        listener = lambda frame: loads.append(frame.url) if frame == self.page.main_frame else None  # noqa: E731
        marker = uuid.uuid4().hex
        self.page.evaluate("marker => { window.__noReload = marker; }", marker)
        self.page.on("framenavigated", listener)
        try:
            yield
        finally:
            self.page.remove_listener("framenavigated", listener)
        assert loads == [], f"the page was reloaded: {loads}"
        assert self.page.evaluate("() => window.__noReload") == marker, "the page was reloaded"

    # -- the end

    @property
    def submission_id(self) -> str:
        return self.page.locator('input[name="submission_id"]').first.input_value()

    def submit(self) -> str:
        """Send the answers from the review page; the receipt shown on the thank-you page."""
        assert urlsplit(self.page.url).path == f"/s/{self.slug}/review", self.page.url
        with self.page.expect_navigation():
            self.page.locator(f'form[action="/s/{self.slug}/submit"] button[type="submit"]').click()
        return self.check_thank_you()

    def check_thank_you(self) -> str:
        assert urlsplit(self.page.url).path == f"/s/{self.slug}/done", self.page.url
        assert self.page.locator("html").get_attribute("lang") == self.language
        if self.questionnaire.thank_you:
            assert self.text(self.questionnaire.thank_you) in self.page.locator("main").inner_text()
        return self.page.locator(".receipt").inner_text().strip()

    def expected_answers(self, *, dropped=(), calculated: Mapping[str, Any] = {}) -> dict[str, Any]:
        """The answers the database should hold: those given, less ``dropped`` (hidden by
        the rules), plus ``calculated`` values."""
        return {**{key: value for key, value in self.given.items() if key.split(":")[0] not in dropped},
                **calculated}


@pytest.fixture
def respondent(live_server, tabs):
    """``respondent(slug, language, javascript=True, viewport="mobile")``: a new browser
    context with a :class:`BrowserRespondent` in it."""

    def make(slug: str, language: str, *, javascript: bool = True, viewport: str = "mobile",
             locale: str = "en-US", page=None) -> BrowserRespondent:
        page = page or tabs.open(javascript=javascript, viewport=viewport, locale=locale)
        return BrowserRespondent(page, live_server, slug, language, javascript)

    return make


@dataclass
class Count:
    """Complete responses of a survey before a test, to check that it added exactly one."""

    server: LiveServer
    slug: str
    before: set[str] = field(default_factory=set)

    def __post_init__(self):
        self.before = {response.submission_id for response in self.server.complete(self.slug)}

    def new(self) -> list[StoredResponse]:
        return [response for response in self.server.complete(self.slug) if response.submission_id not in self.before]


@pytest.fixture
def completed(live_server):
    """``count = completed(slug)`` before a test; ``count.new()`` the complete responses it added."""
    return lambda slug: Count(live_server, slug)
