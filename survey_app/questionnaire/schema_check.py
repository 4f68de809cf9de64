"""Checking a document against the shipped JSON Schema, with plain messages.

A compiled validator (jsonschema-rs) answers "valid?" in milliseconds even for
two thousand questions. Only a document it refuses is checked again with the
Python jsonschema library, whose errors carry what a plain message needs. That
second check runs in two steps that together equal the whole schema: the
outline (questions as plain objects), then each question against its own type's
definition, which is several times faster than the schema's chain of types.
Question types from plugins are merged into the schema (:func:`schema_with`), so
their questions are checked, and their problems worded, exactly like the others.
"""
from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterator
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from survey_app.questionnaire.errors import Problem, pointer
from survey_app.questionnaire.plugin_types import BUILT_IN_ONLY, QuestionTypes

#: An object with more unknown keys than this gets one summary line, not one line per key.
MAX_LISTED_KEYS = 20


@lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The questionnaire JSON Schema shipped with the package (the built-in question types)."""
    return json.loads(resources.files("survey_app.questionnaire").joinpath("schema.json").read_text("utf-8"))


def schema_with(types: QuestionTypes) -> dict[str, Any]:
    """The schema with the question types of plugins added: each allows the keys every
    question has plus its own, exactly like a built-in type."""
    if not types:
        return schema()
    merged = copy.deepcopy(schema())
    definitions = merged["$defs"]
    definitions["question_type"]["enum"].extend(types)
    for name, kind in types.items():
        own = dict(kind.schema)
        definitions[_definition(name, types)] = {
            "title": f"{name} question (from a plugin)", "$ref": "#/$defs/question_base", **own,
            "required": ["label", *own.get("required", ())], "unevaluatedProperties": False,
        }
        definitions["question"]["allOf"].append({
            "if": {"properties": {"type": {"const": name}}, "required": ["type"]},
            "then": {"$ref": f"#/$defs/{_definition(name, types)}"},
        })
    return merged


def _definition(type_name: str, types: QuestionTypes) -> str:
    """The name of a question type's definition under ``$defs`` (plugins' apart from the core's)."""
    return f"plugin_type:{type_name}" if type_name in types else f"{type_name}_question"


def _validator(root: dict[str, Any]) -> Draft202012Validator:
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


class _Checker:
    """The validators of one schema, each compiled on first use."""

    def __init__(self, types: QuestionTypes):
        self.types = types
        self.schema = schema_with(types)
        self.fast = jsonschema_rs.Draft202012Validator(self.schema, validate_formats=True)
        self.type_names = frozenset(self.schema["$defs"]["question_type"]["enum"])
        self._questions: dict[str | None, Draft202012Validator] = {}

    @cached_property
    def outline(self) -> Draft202012Validator:
        outline = copy.deepcopy(self.schema)
        outline["$defs"]["page"]["properties"]["questions"]["items"] = {"type": "object"}
        return _validator(outline)

    @cached_property
    def whole(self) -> Draft202012Validator:
        return _validator(self.schema)

    @cached_property
    def keys(self) -> frozenset[str]:
        """Every property name the schema knows, for did-you-mean suggestions."""
        return frozenset(key for node in _walk(self.schema) if isinstance(node, dict)
                         for key in node.get("properties", {}))

    def question(self, type_name: str) -> Draft202012Validator:
        """What ``$defs/question`` checks, with only the branch of the question's own type
        (an unknown type gets the whole definition, which names the known ones)."""
        known = type_name if type_name in self.type_names else None
        validator = self._questions.get(known)
        if validator is None:
            definitions = self.schema["$defs"]
            if known is None:
                validator = _validator({"$ref": "#/$defs/question", "$defs": definitions})
            else:
                common = {key: value for key, value in definitions["question"].items() if key != "allOf"}
                validator = _validator({**common, "$ref": f"#/$defs/{_definition(known, self.types)}",
                                        "$defs": definitions})
            self._questions[known] = validator
        return validator


@lru_cache(maxsize=8)
def _checker(types: QuestionTypes) -> _Checker:
    return _Checker(types)


def compile_schema(types: QuestionTypes) -> None:
    """Compile the schema with ``types`` now (at start-up), so a plugin's broken schema
    stops the app instead of the first upload. Raises ValueError with the reason."""
    try:
        _checker(types)
    except Exception as error:  # jsonschema-rs reports a bad schema with its own exception types
        raise ValueError(str(error)) from None


def shape_problems(document: dict[str, Any], types: QuestionTypes = BUILT_IN_ONLY) -> list[Problem]:
    """Every place where ``document`` does not have the shape the schema (with ``types``) describes."""
    checker = _checker(types)
    if checker.fast.is_valid(document):
        return []
    errors = [(error, ()) for error in checker.outline.iter_errors(document)]
    pages = document.get("pages")
    for page_index, page in enumerate(pages if isinstance(pages, list) else ()):
        questions = page.get("questions") if isinstance(page, dict) else None
        for question_index, question in enumerate(questions if isinstance(questions, list) else ()):
            if isinstance(question, dict):
                validator = checker.question(str(question.get("type")))
                prefix = ("pages", page_index, "questions", question_index)
                errors.extend((error, prefix) for error in validator.iter_errors(question))
    if not errors:  # the two steps should find what the compiled validator found; if not, ask the whole schema
        errors = [(error, ()) for error in checker.whole.iter_errors(document)]
    errors.sort(key=lambda item: ([*map(str, item[1]), *map(str, item[0].absolute_path)], item[0].message))
    problems = [_problem(error, prefix, checker.keys) for error, prefix in errors]
    return list(dict.fromkeys(problems))


def _problem(error: ValidationError, prefix: tuple, keys: frozenset[str]) -> Problem:
    """A jsonschema error as a plain message at the right path (``keys``: the schema's property names)."""
    if error.context:  # anyOf: report the alternative that got furthest
        deepest = max(error.context, key=lambda e: (len(e.absolute_path), -len(e.context or ())))
        return _problem(deepest, prefix, keys)
    where = (*prefix, *error.absolute_path)
    path = pointer(*where)
    match error.validator:
        case "additionalProperties" | "unevaluatedProperties":
            return _unknown_keys(error, where, keys)
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
            listing = listing if len(listing) < 400 else listing[:400] + "..."
            if where and where[-1] == "type":  # a question type: perhaps one whose plugin is not installed
                return Problem(path, f"{_short(error.instance)} is not a question type installed here{hint}; "
                                     f"the installed types are: {listing}")
            return Problem(path, f"{_short(error.instance)} is not allowed here{hint}; choose one of: {listing}")
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


def _unknown_keys(error: ValidationError, where: tuple, keys: frozenset[str]) -> Problem:
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
        guess = difflib.get_close_matches(key, sorted(keys), n=1)
        messages.append(f"unknown key '{key}'" + (f" (did you mean '{guess[0]}'?)" if guess else ""))
    path = pointer(*where, extras[0]) if len(extras) == 1 else pointer(*where)
    return Problem(path, "; ".join(messages))


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
