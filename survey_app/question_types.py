"""The question types plugins add: collected and checked once, when the app is built.

Everything else reads them from the loaded questionnaire (each question of a
plugin type carries its type); only loading and the designer's menu need the
registry itself, :func:`registry`.
"""
from __future__ import annotations

import re

from flask import Flask, current_app
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from survey_app import plugins
from survey_app.plugins import StartupError
from survey_app.questionnaire.builder import COMMON_KEYS
from survey_app.questionnaire.plugin_types import SCHEMA_KEYS, VALUE_KINDS, QuestionType, QuestionTypes
from survey_app.questionnaire.schema_check import compile_schema, schema

_KEY = "survey_app.question_types"
_NAME = re.compile(r"(?!.*__)[a-z][a-z0-9_]{0,62}")
_SUFFIX = re.compile(r"[a-z0-9_]{0,64}")


def init_app(app: Flask) -> QuestionTypes:
    """Collect every plugin's ``register_question_types`` into ``app``'s registry.

    Raises :class:`~survey_app.plugins.StartupError` when a type is malformed, takes
    a built-in type's name, or has the name of another plugin's type (naming both).
    """
    built_in = frozenset(schema()["$defs"]["question_type"]["enum"])
    owners: dict[str, str] = {}
    found: dict[str, QuestionType] = {}
    for implementation in plugins.hook(app).register_question_types.get_hookimpls():
        owner = implementation.plugin_name
        for kind in implementation.function() or ():
            _check(kind, owner)
            if kind.name in built_in:
                raise StartupError(f"plugin '{owner}' registers the question type '{kind.name}', "
                                   "which is a built-in type")
            if kind.name in found:
                raise StartupError(f"plugins '{owners[kind.name]}' and '{owner}' both register "
                                   f"the question type '{kind.name}'")
            owners[kind.name], found[kind.name] = owner, kind
    types = QuestionTypes(found)
    try:
        compile_schema(types)
    except ValueError as error:
        raise StartupError(f"the JSON Schemas of the question types {', '.join(types)} do not compile: "
                           f"{error}") from None
    app.extensions[_KEY] = types
    return types


def registry(app: Flask | None = None) -> QuestionTypes:
    """The question types the plugins of ``app`` (default: the current app) added."""
    return (app or current_app).extensions[_KEY]


def _check(kind: object, owner: str) -> None:
    """Refuse, naming the plugin, a question type that the core could not use."""
    if not isinstance(kind, QuestionType):
        raise StartupError(f"plugin '{owner}' returned {kind!r} from register_question_types, not a QuestionType")
    where = f"the question type '{kind.name}' of plugin '{owner}'"
    if not isinstance(kind.name, str) or not _NAME.fullmatch(kind.name):
        raise StartupError(f"{where}: a name is a lowercase letter, then lowercase letters, digits or single "
                           "underscores")
    if kind.value_kind not in VALUE_KINDS:
        raise StartupError(f"{where}: value_kind must be one of {', '.join(VALUE_KINDS)}")
    unknown = set(kind.schema) - SCHEMA_KEYS
    if unknown:
        raise StartupError(f"{where}: its schema may only have {', '.join(sorted(SCHEMA_KEYS))}, "
                           f"not {', '.join(sorted(unknown))}")
    reserved = COMMON_KEYS & set(kind.schema.get("properties", {}))
    if reserved:
        raise StartupError(f"{where}: the core defines the keys {', '.join(sorted(reserved))} of every question")
    try:
        Draft202012Validator.check_schema({"type": "object", **kind.schema})
    except SchemaError as error:
        raise StartupError(f"{where}: its schema is not a valid JSON Schema: {error.message}") from None
    suffixes = [column.suffix for column in kind.export_columns]
    if len(set(suffixes)) < len(suffixes) or not all(_SUFFIX.fullmatch(suffix) for suffix in suffixes):
        raise StartupError(f"{where}: export column suffixes must differ and use lowercase letters, digits or _")
    if any(column.kind not in VALUE_KINDS for column in kind.export_columns):
        raise StartupError(f"{where}: an export column's kind must be one of {', '.join(VALUE_KINDS)}")
