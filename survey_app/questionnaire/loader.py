"""Load a questionnaire: bytes -> JSON -> schema -> checked, frozen model.

Each stage reports every problem it finds; a stage runs only when the one before
it found none (a semantic check of a document of the wrong shape would only
produce noise). :func:`find_problems` gives the list; :func:`load_questionnaire`
raises :class:`QuestionnaireInvalid` with it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from survey_app.questionnaire.builder import build_questionnaire
from survey_app.questionnaire.errors import Problem, QuestionnaireInvalid
from survey_app.questionnaire.jsonsafe import check_values, decode_text, parse_json
from survey_app.questionnaire.model import Questionnaire
from survey_app.questionnaire.plugin_types import BUILT_IN_ONLY, QuestionTypes
from survey_app.questionnaire.schema_check import shape_problems

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
#: More questions than this is a mistake (or an attack), not a questionnaire.
MAX_QUESTIONS = 2_000
#: At most this many problems are listed.
MAX_PROBLEMS = 500

PluginCheck = Callable[[Questionnaire], Iterable[Problem]]


def load_questionnaire(
    source: bytes | str | Mapping[str, Any],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    check_plugins: PluginCheck | None = None,
    question_types: QuestionTypes = BUILT_IN_ONLY,
) -> Questionnaire:
    """Check ``source`` (file bytes, JSON text or a parsed document) and build the model.

    ``check_plugins`` validates the ``plugins`` sections (the app passes its
    plugin hook); ``question_types`` are the types plugins added (a question of
    any other type is a problem). Raises :class:`QuestionnaireInvalid` listing
    every problem.
    """
    questionnaire, problems = _load(source, max_bytes, check_plugins, question_types)
    if problems:
        raise QuestionnaireInvalid(problems)
    return questionnaire


def find_problems(
    source: bytes | str | Mapping[str, Any],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    check_plugins: PluginCheck | None = None,
    question_types: QuestionTypes = BUILT_IN_ONLY,
) -> list[Problem]:
    """Every problem in ``source``; an empty list means it loads."""
    return _load(source, max_bytes, check_plugins, question_types)[1]


def _load(source, max_bytes: int, check_plugins: PluginCheck | None,
          types: QuestionTypes) -> tuple[Questionnaire | None, list[Problem]]:
    questionnaire, problems = _checked(source, max_bytes, check_plugins, types)
    if len(problems) > MAX_PROBLEMS:  # one mistake repeated 100,000 times is still one mistake to fix
        problems = [*problems[:MAX_PROBLEMS], Problem("", f"... and {len(problems) - MAX_PROBLEMS:,} more problems")]
    return questionnaire, problems


def _checked(source, max_bytes: int, check_plugins: PluginCheck | None,
             types: QuestionTypes) -> tuple[Questionnaire | None, list[Problem]]:
    document, problems = _parse(source, max_bytes)
    if problems:
        return None, problems
    problems = _shape_problems(document, types)
    if problems:
        return None, problems
    questionnaire, problems = build_questionnaire(document, types)
    if problems:
        return None, problems
    if check_plugins is not None:
        try:
            problems = sorted(check_plugins(questionnaire))
        except Exception as error:  # a broken plugin must not break loading
            problems = [Problem("/plugins", f"a plugin failed while checking its section: {type(error).__name__}: {error}")]
    return (None, problems) if problems else (questionnaire, [])


def _parse(source, max_bytes: int) -> tuple[Any, list[Problem]]:
    if isinstance(source, Mapping):
        return source, check_values(source)
    if isinstance(source, bytes):
        text, problems = decode_text(source, max_bytes)
        if problems:
            return None, problems
    else:
        text = source
        if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
            return None, [Problem("", f"the file is larger than {max_bytes:,} bytes")]
    return parse_json(text)


def _shape_problems(document: Any, types: QuestionTypes) -> list[Problem]:
    if not isinstance(document, dict):
        return [Problem("", "a questionnaire must be a JSON object, starting with {")]
    count = _count_questions(document)
    if count > MAX_QUESTIONS:
        return [Problem("/pages", f"the questionnaire has {count:,} questions; at most {MAX_QUESTIONS:,} are allowed")]
    return shape_problems(document, types)


def _count_questions(document: dict) -> int:
    """Count questions cheaply before the schema check, so a huge file fails fast."""
    total = 0
    pages = document.get("pages")
    for page in pages if isinstance(pages, list) else ():
        questions = page.get("questions") if isinstance(page, dict) else None
        for question in questions if isinstance(questions, list) else ():
            total += 1
            children = question.get("questions") if isinstance(question, dict) else None
            total += len(children) if isinstance(children, list) else 0
    return total
