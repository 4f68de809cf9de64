"""Checking a document against the shipped JSON Schema, with plain messages.

A compiled validator (jsonschema-rs) answers "valid?" in milliseconds even for
two thousand questions. Only a document it refuses is checked again with the
Python jsonschema library, whose errors carry what a plain message needs. That
second check runs in two steps that together equal the whole schema: the
outline (questions as plain objects), then each question against its own type's
definition, which is several times faster than the schema's chain of types.
"""
from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterator
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from survey_app.questionnaire.errors import Problem, pointer

#: An object with more unknown keys than this gets one summary line, not one line per key.
MAX_LISTED_KEYS = 20


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The questionnaire JSON Schema shipped with the package."""
    return json.loads(resources.files("survey_app.questionnaire").joinpath("schema.json").read_text("utf-8"))


def _validator(root: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


@lru_cache(maxsize=1)
def _outline_validator() -> Draft202012Validator:
    outline = copy.deepcopy(schema())
    outline["$defs"]["page"]["properties"]["questions"]["items"] = {"type": "object"}
    return _validator(outline)


@lru_cache(maxsize=64)
def _question_validator(type_name: str) -> Draft202012Validator:
    """What ``$defs/question`` checks, with only the branch of the question's own type."""
    definitions = schema()["$defs"]
    if type_name not in definitions["question_type"]["enum"]:
        return _validator({"$ref": "#/$defs/question", "$defs": definitions})
    common = {key: value for key, value in definitions["question"].items() if key != "allOf"}
    return _validator({**common, "$ref": f"#/$defs/{type_name}_question", "$defs": definitions})


@lru_cache(maxsize=1)
def _whole_validator() -> Draft202012Validator:
    return _validator(schema())


@lru_cache(maxsize=1)
def _fast_validator() -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(schema(), validate_formats=True)


def shape_problems(document: dict[str, Any]) -> list[Problem]:
    """Every place where ``document`` does not have the shape the schema describes."""
    if _fast_validator().is_valid(document):
        return []
    errors = [(error, ()) for error in _outline_validator().iter_errors(document)]
    pages = document.get("pages")
    for page_index, page in enumerate(pages if isinstance(pages, list) else ()):
        questions = page.get("questions") if isinstance(page, dict) else None
        for question_index, question in enumerate(questions if isinstance(questions, list) else ()):
            if isinstance(question, dict):
                validator = _question_validator(str(question.get("type")))
                prefix = ("pages", page_index, "questions", question_index)
                errors.extend((error, prefix) for error in validator.iter_errors(question))
    if not errors:  # the two steps should find what the compiled validator found; if not, ask the whole schema
        errors = [(error, ()) for error in _whole_validator().iter_errors(document)]
    errors.sort(key=lambda item: ([*map(str, item[1]), *map(str, item[0].absolute_path)], item[0].message))
    problems = [_problem(error, prefix) for error, prefix in errors]
    return list(dict.fromkeys(problems))


def _problem(error: ValidationError, prefix: tuple) -> Problem:
    """A jsonschema error as a plain message at the right path."""
    if error.context:  # anyOf: report the alternative that got furthest
        deepest = max(error.context, key=lambda e: (len(e.absolute_path), -len(e.context or ())))
        return _problem(deepest, prefix)
    where = (*prefix, *error.absolute_path)
    path = pointer(*where)
    match error.validator:
        case "additionalProperties" | "unevaluatedProperties":
            return _unknown_keys(error, where)
        case "required":
            missing = error.message.split("'")[1] if "'" in error.message else error.message
            return Problem(path, f"'{missing}' is required here")
        case "pattern":
            description = error.schema.get("description")
            return Problem(path, f"{_short(error.instance)} is not allowed here" + (f": {description}" if description else ""))
        case "type":
            return Problem(path, f"must be {_type_names(error.validator_value)}, not {_json_type(error.instance)}")
        case "not":
            return Problem(path, _forbidden(error.instance, where))
        case "maxLength" | "minLength" | "maxItems" | "minItems" | "maxProperties" | "minProperties":
            return Problem(path, _size_message(error.validator, error.validator_value))
        case "enum":
            allowed = [str(value) for value in error.validator_value]
            guess = difflib.get_close_matches(str(error.instance), allowed, n=1)
            hint = f" (did you mean '{guess[0]}'?)" if guess else ""
            listing = ", ".join(allowed)
            return Problem(path, f"{_short(error.instance)} is not allowed here{hint}; choose one of: "
                                 f"{listing if len(listing) < 400 else listing[:400] + '...'}")
    return Problem(path, error.message if len(error.message) < 300 else error.message[:300] + "...")


def _forbidden(value: Any, where: tuple) -> str:
    if value == "repeat" and where[-1] == "type":
        return "a repeat group cannot contain another repeat group"
    if value == "other":
        return "'other' is reserved for the \"other, please specify\" option: use the question's 'other' key instead"
    return f"{_short(value)} is not allowed here"


def _size_message(validator: str, limit: int) -> str:
    what = {"Length": "characters", "Items": "entries", "Properties": "keys"}[validator[3:]]
    if validator == "maxLength":
        return f"is longer than {limit:,} characters"
    if validator.startswith("max"):
        return f"has more than {limit:,} {what}"
    return "must not be empty" if limit == 1 else f"needs at least {limit:,} {what}"


def _unknown_keys(error: ValidationError, where: tuple) -> Problem:
    """One problem naming the keys an object may not have, with a did-you-mean each."""
    if len(error.instance) > 200:  # finding which ones would take quadratic time: say so in one line
        return Problem(pointer(*where), f"unknown keys: this object has {len(error.instance):,} keys; "
                                        "see the questionnaire format for the keys it takes")
    extras = [key for key in error.instance if repr(key) in error.message]
    if not extras or len(extras) > MAX_LISTED_KEYS:
        return Problem(pointer(*where), f"{len(extras) or 'some'} unknown keys; see the questionnaire format "
                                        "for the keys this object takes")
    messages = []
    for key in sorted(extras):
        guess = difflib.get_close_matches(key, sorted(_schema_keys()), n=1)
        messages.append(f"unknown key '{key}'" + (f" (did you mean '{guess[0]}'?)" if guess else ""))
    path = pointer(*where, extras[0]) if len(extras) == 1 else pointer(*where)
    return Problem(path, "; ".join(messages))


@lru_cache(maxsize=1)
def _schema_keys() -> frozenset[str]:
    """Every property name the schema knows, for did-you-mean suggestions."""
    return frozenset(key for node in _walk(schema()) if isinstance(node, dict) for key in node.get("properties", {}))


def _walk(node: Any) -> Iterator[Any]:
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def _short(value: Any) -> str:
    """A value as quoted in a message: strings in single quotes, others as JSON; at most 60 characters."""
    text = f"'{value}'" if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:56] + "...'"[: 4 if isinstance(value, str) else 3]


_TYPE_NAMES = {"object": "an object", "array": "a list", "string": "a string", "integer": "a whole number",
               "number": "a number", "boolean": "true or false", "null": "null"}


def _type_names(expected: str | list[str]) -> str:
    names = [expected] if isinstance(expected, str) else expected
    return " or ".join(_TYPE_NAMES.get(name, name) for name in names)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, float) and not value.is_integer():
        return str(value)
    for python_type, name in ((dict, "an object"), (list, "a list"), (str, "a string"), (int, "a number"),
                              (float, "a number"), (type(None), "null")):
        if isinstance(value, python_type):
            return name
    return type(value).__name__
