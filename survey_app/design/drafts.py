"""The researcher's working copy of a questionnaire: read, check, save, name.

The draft is JSON text kept in ``Survey.draft_definition``, exactly as the
researcher wrote it (only line endings are normalised); it may be invalid.
Respondents never see it: they answer published versions.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app import db, plugins, question_types
from survey_app.design.json_lines import line_text, locate, problem_line, replace_value
from survey_app.models import Survey
from survey_app.questionnaire import Problem, Questionnaire, QuestionnaireInvalid, load_questionnaire
from survey_app.questionnaire.jsonsafe import parse_json
from survey_app.questionnaire.texts import localize

_SLUG_CHARACTERS = re.compile(r"[^a-z0-9-]+")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


@dataclass(frozen=True)
class ShownProblem:
    """A problem as the editor lists it: pointer, message, line and that line's text."""

    path: str
    message: str
    line: int | None
    excerpt: str


@dataclass
class Checked:
    """A draft and what the loader makes of it."""

    text: str
    questionnaire: Questionnaire | None = None
    problems: list[ShownProblem] = field(default_factory=list)
    document: Any = None  # the parsed JSON, when the text is clean JSON (possibly not a valid questionnaire)

    @property
    def valid(self) -> bool:
        return self.questionnaire is not None


def lock(survey: Survey) -> str:
    """Start a write transaction holding the survey's row, and return its draft as stored now
    (two saves of the same page cannot both pass the fingerprint check)."""
    session = db.session()
    db.begin_write(session)
    session.refresh(survey, with_for_update=True)
    session.expire(survey, ["draft_definition", "versions"])  # read again under the lock
    return draft_text(survey)


def normalise(text: str) -> str:
    """Text as a textarea posts it, with the line endings a file has."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def pretty(document: Any) -> str:
    """A document as JSON text with 2-space indentation (how the platform writes drafts)."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def draft_text(survey: Survey) -> str:
    """The survey's draft; a survey made before drafts existed starts from its latest version."""
    if survey.draft_definition is not None:
        return survey.draft_definition
    if survey.latest_version is not None:
        return pretty(json.loads(survey.latest_version.definition))
    return ""


def digest(text: str) -> str:
    """A fingerprint of a draft text: a form made from one draft must not change another."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def published_digest(text: str) -> str | None:
    """The hash the draft would have as a published version (None if it is not JSON), to
    tell whether it differs from the latest version."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return hashlib.sha256(json.dumps(document, ensure_ascii=False, separators=(",", ":"))
                          .encode("utf-8", "surrogatepass")).hexdigest()


def _max_bytes() -> int:
    return current_app.config["MAX_QUESTIONNAIRE_BYTES"]


#: Checked drafts kept per app (the editor, the preview and publishing check the same
#: text again and again); the loaded questionnaire is then the same object each time.
CHECKED_CACHE_SIZE = 32
_CACHE_KEY = "survey_app.design.checked"


def check(text: str) -> Checked:
    """Load ``text`` with every core and plugin check; each problem with its line.
    The result is shared: do not change it."""
    app = current_app._get_current_object()
    lock_, cache = app.extensions.setdefault(_CACHE_KEY, (threading.Lock(), OrderedDict()))
    key = digest(text)
    with lock_:
        found = cache.get(key)
        if found is not None:
            cache.move_to_end(key)
            return found
    found = _check(text)
    with lock_:
        cache[key] = found
        while len(cache) > CHECKED_CACHE_SIZE:
            cache.popitem(last=False)
    return found


def _check(text: str) -> Checked:
    small_enough = len(text.encode("utf-8", "surrogatepass")) <= _max_bytes()
    document, json_problems = parse_json(text) if small_enough else (None, [])
    result = Checked(text, document=document if not json_problems else None)
    checker = plugins.questionnaire_checker(current_app)
    try:
        result.questionnaire = load_questionnaire(text, max_bytes=_max_bytes(), check_plugins=checker,
                                                  question_types=question_types.registry())
        return result
    except QuestionnaireInvalid as error:
        problems = error.problems
    spans = locate(text)
    result.problems = [_shown(problem, text, spans) for problem in problems]
    return result


def _shown(problem: Problem, text: str, spans) -> ShownProblem:
    line = problem_line(problem, spans)
    return ShownProblem(problem.path, problem.message, line, line_text(text, line))


def refusal(text: str) -> str | None:
    """Why ``text`` cannot even be stored as a draft (None: it can be)."""
    if len(text.encode("utf-8", "surrogatepass")) > _max_bytes():
        return "too_large"
    if "\x00" in text:
        return "nul"
    return None


def title_of(checked_or_document: Any) -> str:
    """The title a survey shows for a draft: the questionnaire's in its default language."""
    document = checked_or_document
    if isinstance(document, Checked):
        if document.questionnaire is not None:
            questionnaire = document.questionnaire
            return localize(questionnaire.title, questionnaire.default_language, questionnaire.default_language)[:500]
        document = document.document
    if not isinstance(document, dict):
        return ""
    from survey_app.design.outline import text_of

    return text_of(document, document.get("title"))[:500]


_LATIN = str.maketrans({
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "n", "о": "o", "ө": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u", "ф": "f", "х": "kh", "һ": "h", "ц": "ts", "ч": "ch",
    "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "і": "i", "ь": "", "э": "e", "ю": "yu", "я": "ya",
})


def slug_base(text: str) -> str:
    """``text`` made into the start of a survey address (Cyrillic letters in Latin)."""
    base = _SLUG_CHARACTERS.sub("-", (text or "").lower().translate(_LATIN)).strip("-")
    base = re.sub(r"-{2,}", "-", base)[:50].strip("-")
    return base if len(base) >= 2 else "survey"


def unique_slug(session: Session, wanted: str) -> str:
    """``wanted`` (made valid) if no survey has it yet, else ``wanted-2``, ``wanted-3``..."""
    base = wanted if SLUG.match(wanted or "") and len(wanted) <= 56 else slug_base(wanted)
    taken = set(session.execute(select(Survey.slug).where(Survey.slug.like(f"{base}%"))).scalars())
    if base not in taken:
        return base
    for number in range(2, 1000):
        if f"{base}-{number}" not in taken:
            return f"{base}-{number}"
    return f"{base}-{secrets.token_hex(3)}"


def with_id(text: str, slug: str) -> str:
    """The draft with its top-level ``id`` set to ``slug`` (the rest of the text untouched)."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return text
    if not isinstance(document, dict) or document.get("id") == slug:
        return text
    if "id" in document:
        replaced = replace_value(text, "/id", slug)
        if replaced is not None:
            return replaced
    return pretty({"id": slug, **document})


def new_survey(session: Session, text: str, owner, wanted_slug: str, fallback_title: str = "") -> Survey:
    """A new draft survey owned by ``owner`` holding ``text`` (its id set to the survey's address)."""
    slug = unique_slug(session, wanted_slug)
    text = with_id(text, slug)
    title = title_of(check(text)) or fallback_title or slug
    survey = Survey(slug=slug, title=title[:500], owner=owner, draft_definition=text)
    session.add(survey)
    return survey


def load_template(path) -> tuple[str, Any]:
    """The text of an example questionnaire file and its parsed document."""
    text = path.read_text("utf-8")
    return text, json.loads(text)
