"""Read untrusted JSON without surprises.

Python's ``json`` keeps the last of duplicate keys, accepts ``NaN``, raises
``RecursionError`` on deep nesting and lets lone surrogates and NUL characters
through (PostgreSQL cannot store those). This module turns every such case into
a :class:`Problem` naming where it is.
"""
from __future__ import annotations

import codecs
import json
import re
from typing import Any

from survey_app.questionnaire.errors import Problem, pointer

MAX_DEPTH = 40
MAX_INTEGER_DIGITS = 16

_FOREIGN_BOMS = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}


class _DuplicateKeys(dict):
    """A JSON object in which some keys appeared more than once."""

    duplicates: list[str]


class _Rejected(ValueError):
    """A literal that JSON for questionnaires does not allow (``token`` as written)."""

    def __init__(self, message: str, token: str):
        super().__init__(message)
        self.token = token


def _object(pairs: list[tuple[str, Any]]) -> dict:
    result: dict = {}
    duplicates = []
    for key, value in pairs:
        if key in result:
            duplicates.append(key)
        result[key] = value
    if duplicates:
        result = _DuplicateKeys(result)
        result.duplicates = duplicates
    return result


def _constant(name: str) -> Any:
    raise _Rejected(f"{name} is not a number JSON allows; write a number or null", name)


def _float(text: str) -> float:
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise _Rejected(f"the number {text[:20]} is too large", text)
    return number


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Rejected(f"the number {digits[:20]}... has more than {MAX_INTEGER_DIGITS} digits", digits)
    return int(digits)


def too_large(size: int, max_bytes: int) -> Problem:
    """The problem of a file of ``size`` bytes over the limit."""
    shown = f"{size / 1_048_576:.1f} MB" if size >= 1_048_576 else f"{size:,} bytes"
    return Problem("", f"the file is {shown}; a questionnaire may have at most {max_bytes:,} bytes")


def decode_text(raw: bytes, max_bytes: int) -> tuple[str | None, list[Problem]]:
    """Decode a file's bytes as UTF-8 (a UTF-8 byte-order mark is dropped)."""
    if len(raw) > max_bytes:
        return None, [too_large(len(raw), max_bytes)]
    for bom, name in _FOREIGN_BOMS.items():
        if raw.startswith(bom):
            return None, [Problem("", f"the file is encoded as {name}; save it as UTF-8")]
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        return raw.decode("utf-8"), []
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        return None, [Problem("", f"the file is not valid UTF-8 (byte {error.start}, line {line}); save it as UTF-8")]


def parse_json(text: str) -> tuple[Any, list[Problem]]:
    """Parse JSON text, returning the document or the problems that stop it."""
    try:
        document = json.loads(
            text, object_pairs_hook=_object, parse_constant=_constant, parse_int=_integer, parse_float=_float
        )
    except json.JSONDecodeError as error:
        return None, [Problem("", f"not valid JSON: {error.msg.removesuffix(' at')} (line {error.lineno}, column {error.colno})")]
    except _Rejected as error:
        return None, [Problem("", f"not valid JSON: {error}{_where(text, error.token)}")]
    except RecursionError:
        return None, [Problem("", f"the JSON is nested too deeply (at most {MAX_DEPTH} levels)")]
    return document, check_values(document)


_STRING_OR_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[^"\s,:\[\]{}]+')


def _where(text: str, token: str) -> str:
    """" (line N, column M)" of the first ``token`` outside a string in ``text``."""
    for match in _STRING_OR_TOKEN.finditer(text):
        if match.group() == token:
            line = text.count("\n", 0, match.start()) + 1
            column = match.start() - (text.rfind("\n", 0, match.start()) + 1) + 1
            return f" (line {line}, column {column})"
    return ""


def check_values(document: Any) -> list[Problem]:
    """Find duplicate keys, over-deep nesting, NUL characters and lone surrogates."""
    problems: list[Problem] = []
    stack: list[tuple[Any, tuple]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return [Problem(pointer(*path[:MAX_DEPTH]), f"nested too deeply (at most {MAX_DEPTH} levels)")]
        if isinstance(value, _DuplicateKeys):
            problems.extend(Problem(pointer(*path, key), f"the key '{key}' appears more than once")
                            for key in dict.fromkeys(value.duplicates))
        if isinstance(value, dict):
            for key, item in value.items():
                problems.extend(_string_problems(key, path, "key"))
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(value))
        elif isinstance(value, str):
            problems.extend(_string_problems(value, path, "text"))
    return sorted(problems)


def _string_problems(value: str, path: tuple, what: str) -> list[Problem]:
    if "\x00" in value:
        return [Problem(pointer(*path), f"the {what} contains a NUL character (\\u0000)")]
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return [Problem(pointer(*path), f"the {what} contains an unpaired surrogate (\\ud800-\\udfff)")]
    return []
