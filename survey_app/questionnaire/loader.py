"""Load a questionnaire: bytes -> JSON -> schema -> checked, frozen model.

Each stage reports every problem it finds; a stage runs only when the one before
it found none (a semantic check of a document of the wrong shape would only
produce noise). :func:`find_problems` gives the list; :func:`load_questionnaire`
raises :class:`QuestionnaireInvalid` with it.
"""
from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from survey_app.questionnaire.builder import build_questionnaire
from survey_app.questionnaire.errors import Problem, QuestionnaireInvalid, pointer
from survey_app.questionnaire.jsonsafe import decode_text, parse_json
from survey_app.questionnaire.model import Questionnaire

DEFAULT_MAX_BYTES = 2 * 1024 * 1024
#: More questions than this is a mistake (or an attack), not a questionnaire.
MAX_QUESTIONS = 2_000

PluginCheck = Callable[[Questionnaire], Iterable[Problem]]


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The questionnaire JSON Schema shipped with the package."""
    return json.loads(resources.files("survey_app.questionnaire").joinpath("schema.json").read_text("utf-8"))


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def load_questionnaire(
    source: bytes | str | Mapping[str, Any],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    check_plugins: PluginCheck | None = None,
) -> Questionnaire:
    """Check ``source`` (file bytes, JSON text or a parsed document) and build the model.

    ``check_plugins`` validates the ``plugins`` sections (the app passes its
    plugin hook). Raises :class:`QuestionnaireInvalid` listing every problem.
    """
    questionnaire, problems = _load(source, max_bytes, check_plugins)
    if problems:
        raise QuestionnaireInvalid(problems)
    return questionnaire


def find_problems(
    source: bytes | str | Mapping[str, Any],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    check_plugins: PluginCheck | None = None,
) -> list[Problem]:
    """Every problem in ``source``; an empty list means it loads."""
    return _load(source, max_bytes, check_plugins)[1]


def _load(source, max_bytes: int, check_plugins: PluginCheck | None) -> tuple[Questionnaire | None, list[Problem]]:
    document, problems = _parse(source, max_bytes)
    if problems:
        return None, problems
    problems = _shape_problems(document)
    if problems:
        return None, problems
    questionnaire, problems = build_questionnaire(document)
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
        return source, []
    if isinstance(source, bytes):
        text, problems = decode_text(source, max_bytes)
        if problems:
            return None, problems
    else:
        text = source
        if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
            return None, [Problem("", f"the file is larger than {max_bytes:,} bytes")]
    return parse_json(text)


def _shape_problems(document: Any) -> list[Problem]:
    if not isinstance(document, dict):
        return [Problem("", "a questionnaire must be a JSON object, starting with {")]
    count = _count_questions(document)
    if count > MAX_QUESTIONS:
        return [Problem("/pages", f"the questionnaire has {count:,} questions; at most {MAX_QUESTIONS:,} are allowed")]
    errors = sorted(_validator().iter_errors(document), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return _unique([_problem_from(error) for error in errors])


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


def _problem_from(error: ValidationError) -> Problem:
    """Turn a jsonschema error into a plain message at the right path."""
    if error.context:  # oneOf/anyOf: report the alternative that got furthest
        deepest = max(error.context, key=lambda e: (len(e.absolute_path), -len(e.context or ())))
        return _problem_from(deepest)
    path = pointer(*error.absolute_path)
    if error.validator in ("additionalProperties", "unevaluatedProperties"):
        extras = _unexpected_keys(error)
        messages = []
        for key in extras:
            guess = difflib.get_close_matches(key, sorted(_schema_keys()), n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            messages.append(f"unknown key '{key}'{hint}")
        return Problem(pointer(*error.absolute_path, extras[0]) if len(extras) == 1 else path, "; ".join(messages))
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return Problem(path, f"'{missing}' is required here")
    if error.validator == "pattern":
        description = error.schema.get("description")
        return Problem(path, f"{_short(error.instance)} is not allowed here" + (f": {description}" if description else ""))
    if error.validator == "type":
        return Problem(path, f"must be {_type_names(error.validator_value)}, not {_json_type(error.instance)}")
    return Problem(path, error.message if len(error.message) < 300 else error.message[:300] + "...")


def _unexpected_keys(error: ValidationError) -> list[str]:
    """The keys an (additional|unevaluated)Properties error complains about."""
    quoted = error.message.split("(", 1)[-1]
    return sorted(key for key in error.instance if f"'{key}'" in quoted) or sorted(error.instance)


@lru_cache(maxsize=1)
def _schema_keys() -> frozenset[str]:
    """Every property name the schema knows, for did-you-mean suggestions."""
    keys: set[str] = set()
    stack: list[Any] = [schema()]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            keys.update(node.get("properties", {}))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return frozenset(keys)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


_TYPE_NAMES = {"object": "an object", "array": "a list", "string": "a string", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "null"}


def _type_names(expected: str | list[str]) -> str:
    names = [expected] if isinstance(expected, str) else expected
    return " or ".join(_TYPE_NAMES.get(name, name) for name in names)


def _json_type(value: Any) -> str:
    for python_type, name in ((bool, "true/false"), (dict, "an object"), (list, "a list"), (str, "a string"),
                              (int, "a number"), (float, "a number"), (type(None), "null")):
        if isinstance(value, python_type):
            return name
    return type(value).__name__


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    return [p for p in problems if not (p in seen or seen.add(p))]
