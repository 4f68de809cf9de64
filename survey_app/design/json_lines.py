"""Where a JSON pointer is in JSON text: its line, and the span of its value.

The editor lists each problem with the line it is on, in the researcher's own
text (never a re-formatted copy). :func:`locate` scans the text once and maps
every pointer to a :class:`Span`; a member of an object is placed on the line
of its key, an element of a list on the line where it starts. The scanner is
forgiving: on a syntax error it keeps what it mapped before the error.
"""
from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass
from json.decoder import scanstring

from survey_app.questionnaire.errors import Problem, pointer

#: Deeper than any questionnaire may be (the loader stops at 40); the scan stops here.
MAX_DEPTH = 64
_NUMBER_OR_LITERAL = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|NaN|-?Infinity")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NEWLINE = re.compile("\n")
_PARSE_POSITION = re.compile(r"\bline (\d+), column \d+")


@dataclass(frozen=True)
class Span:
    """Where one value is: ``line`` (1-based) to show, ``start``/``end`` offsets of the value."""

    line: int
    start: int
    end: int


class _Stop(Exception):
    """The text is not (or no longer) JSON here: keep what was found so far."""


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.newlines = [match.start() for match in _NEWLINE.finditer(text)]
        self.found: dict[str, Span] = {}

    def line(self, offset: int) -> int:
        return bisect.bisect_right(self.newlines, offset - 1) + 1

    def skip(self, index: int) -> int:
        return _WHITESPACE.match(self.text, index).end()

    def value(self, index: int, path: tuple, shown_at: int, depth: int) -> int:
        """Scan the value starting at ``index``; record it under ``path``; return its end."""
        if depth > MAX_DEPTH:
            raise _Stop
        text = self.text
        if index >= len(text):
            raise _Stop
        char = text[index]
        if char == "{":
            end = self._object(index, path, depth)
        elif char == "[":
            end = self._array(index, path, depth)
        elif char == '"':
            end = self._string(index)[1]
        else:
            match = _NUMBER_OR_LITERAL.match(text, index)
            if not match:
                raise _Stop
            end = match.end()
        self.found[pointer(*path)] = Span(self.line(shown_at), index, end)
        return end

    def _string(self, index: int) -> tuple[str, int]:
        try:
            return scanstring(self.text, index + 1, False)
        except (ValueError, IndexError):
            raise _Stop from None

    def _object(self, index: int, path: tuple, depth: int) -> int:
        text = self.text
        index = self.skip(index + 1)
        if text.startswith("}", index):
            return index + 1
        while True:
            if not text.startswith('"', index):
                raise _Stop
            key_start = index
            key, index = self._string(index)
            index = self.skip(index)
            if not text.startswith(":", index):
                raise _Stop
            index = self.skip(index + 1)
            index = self.skip(self.value(index, (*path, key), key_start, depth + 1))
            if text.startswith(",", index):
                index = self.skip(index + 1)
            elif text.startswith("}", index):
                return index + 1
            else:
                raise _Stop

    def _array(self, index: int, path: tuple, depth: int) -> int:
        text = self.text
        index = self.skip(index + 1)
        if text.startswith("]", index):
            return index + 1
        number = 0
        while True:
            index = self.skip(self.value(index, (*path, number), index, depth + 1))
            number += 1
            if text.startswith(",", index):
                index = self.skip(index + 1)
            elif text.startswith("]", index):
                return index + 1
            else:
                raise _Stop


def locate(text: str) -> dict[str, Span]:
    """Every JSON pointer in ``text`` with where its value is (as far as the text is JSON)."""
    scanner = _Scanner(text)
    start = scanner.skip(1 if text.startswith("\ufeff") else 0)
    try:
        scanner.value(start, (), start, 0)
    except _Stop:
        pass
    return scanner.found


def line_of(path: str, spans: dict[str, Span]) -> int | None:
    """The line of ``path``, or of its nearest ancestor that is in the text."""
    while True:
        if path in spans:
            return spans[path].line
        if not path:
            return None
        path = path.rsplit("/", 1)[0]


def problem_line(problem: Problem, spans: dict[str, Span]) -> int | None:
    """The line a problem is about: a syntax error names it, otherwise its pointer does."""
    if not problem.path:
        match = _PARSE_POSITION.search(problem.message)
        if match:
            return int(match.group(1))
        return None
    return line_of(problem.path, spans)


def line_text(text: str, line: int | None, limit: int = 160) -> str:
    """Line ``line`` of ``text`` without its indentation, shortened to ``limit`` characters."""
    if line is None:
        return ""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return ""
    shown = lines[line - 1].strip()
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def replace_value(text: str, path: str, value) -> str | None:
    """``text`` with the value at ``path`` replaced by ``value`` (as JSON), everything else
    untouched; None when ``path`` is not in the text."""
    span = locate(text).get(path)
    if span is None:
        return None
    return text[: span.start] + json.dumps(value, ensure_ascii=False) + text[span.end:]
