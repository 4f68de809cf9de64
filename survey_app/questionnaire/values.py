"""What a valid answer to each question type looks like.

The respondent pages, the loader (for ``default`` values) and the demo-data
generator all check answers here, so they can never disagree. Problems come
back as an :class:`Issue` (a code and its parameters); the interface turns the
code into a message in the respondent's language.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from survey_app.questionnaire.model import YES_NO_VALUES, Question
from survey_app.questionnaire.patterns import matches
from survey_app.questionnaire.plugin_types import guarded

# A practical e-mail check (the HTML standard's), not RFC 5322's full grammar.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Largest magnitude of a stored number: beyond it doubles lose whole units.
MAX_NUMBER = 10**15

DEFAULT_MAX_LENGTH = {"text": 500, "long_text": 10_000, "email": 254}


@dataclass(frozen=True)
class Issue:
    """Why an answer is not acceptable: a code such as ``too_small`` and its parameters."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)


def parse_date(text: str) -> date | None:
    """A ``YYYY-MM-DD`` date, or None when ``text`` is not one."""
    if not isinstance(text, str) or not _ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def check_answer(question: Question, value: Any) -> Issue | None:
    """Check a non-empty answer ``value`` against ``question``'s type and limits."""
    if question.plugin_type is not None:
        return _check_plugin_type(question, value)
    checker = _CHECKERS.get(question.type)
    if checker is None:
        return Issue("not_answerable")
    return checker(question, value)


def _check_plugin_type(question: Question, value: Any) -> Issue | None:
    """A plugin type's answer: first of its kind (text, number or date), then the plugin's own check."""
    kind = question.plugin_type.value_kind
    if kind == "number" and not _is_number(value):
        return Issue("not_a_number")
    if kind == "date" and parse_date(value) is None:
        return Issue("invalid_date")
    if kind == "text" and not isinstance(value, str):
        return Issue("not_text")
    check = question.plugin_type.check
    return guarded(question.plugin_type, "check", check, question, value) if check is not None else None


def _bounds(question: Question, number: float, low_key: str = "min", high_key: str = "max") -> Issue | None:
    low, high = question.options.get(low_key), question.options.get(high_key)
    if low is not None and number < low:
        return Issue("too_small", {"min": low})
    if high is not None and number > high:
        return Issue("too_large", {"max": high})
    return None


def _check_single(question: Question, value: Any) -> Issue | None:
    allowed = YES_NO_VALUES if question.type == "yes_no" else question.choice_values()
    return None if isinstance(value, str) and value in allowed else Issue("not_a_choice")


def _check_multiple(question: Question, value: Any) -> Issue | None:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        return Issue("not_a_choice")
    if len(set(value)) != len(value) or not set(value) <= set(question.choice_values()):
        return Issue("not_a_choice")
    exclusive = [choice for choice in question.choices if choice.exclusive and choice.value in value]
    if exclusive and len(value) > 1:
        return Issue("exclusive", {"choice": exclusive[0].label})
    low, high = question.options.get("min_selected"), question.options.get("max_selected")
    if low is not None and len(value) < low and not exclusive:
        return Issue("too_few_selected", {"min": low})
    if high is not None and len(value) > high:
        return Issue("too_many_selected", {"max": high})
    return None


def _check_text(question: Question, value: Any) -> Issue | None:
    if not isinstance(value, str):
        return Issue("not_text")
    low = question.options.get("min_length")
    high = question.options.get("max_length", DEFAULT_MAX_LENGTH.get(question.type))
    if low is not None and len(value) < low:
        return Issue("too_short", {"min": low})
    if high is not None and len(value) > high:
        return Issue("too_long", {"max": high})
    if question.type == "email" and not _EMAIL.match(value):
        return Issue("invalid_email")
    pattern = question.options.get("pattern")
    if pattern is not None and not matches(pattern, value):
        return Issue("pattern", {"message": question.options.get("pattern_message")})
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and abs(value) <= MAX_NUMBER


def _check_integer(question: Question, value: Any) -> Issue | None:
    if not _is_number(value) or value != int(value):
        return Issue("not_an_integer")
    return _bounds(question, value)


def _check_decimal(question: Question, value: Any) -> Issue | None:
    if not _is_number(value):
        return Issue("not_a_number")
    decimals = question.options.get("decimals")
    if decimals is not None and round(value, decimals) != value:
        return Issue("too_many_decimals", {"decimals": decimals})
    return _bounds(question, value)


def _check_rating(question: Question, value: Any) -> Issue | None:
    low, high = question.options.get("min", 1), question.options.get("max", 5)
    if not _is_number(value) or value != int(value) or not low <= value <= high:
        return Issue("not_a_choice")
    return None


def _check_date(question: Question, value: Any) -> Issue | None:
    day = parse_date(value)
    if day is None:
        return Issue("invalid_date")
    low, high = parse_date(question.options.get("min")), parse_date(question.options.get("max"))
    if low is not None and day < low:
        return Issue("too_early", {"min": low.isoformat()})
    if high is not None and day > high:
        return Issue("too_late", {"max": high.isoformat()})
    return None


def _check_matrix(question: Question, value: Any) -> Issue | None:
    rows = {row.value for row in question.rows}
    if not isinstance(value, dict) or not value or not set(value) <= rows:
        return Issue("not_a_choice")
    allowed = set(question.choice_values())
    if not all(isinstance(cell, str) and cell in allowed for cell in value.values()):
        return Issue("not_a_choice")
    if question.required and set(value) != rows:
        return Issue("incomplete_matrix", {"missing": len(rows - set(value))})
    return None


def _check_ranking(question: Question, value: Any) -> Issue | None:
    expected = sorted(choice.value for choice in question.choices)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or sorted(value) != expected:
        return Issue("invalid_ranking")
    return None


def _check_repeat(question: Question, value: Any) -> Issue | None:
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        return Issue("invalid")
    low, high = question.options.get("min_count", 0), question.options.get("max_count", 20)
    if len(value) < low:
        return Issue("too_few_entries", {"min": low})
    if len(value) > high:
        return Issue("too_many_entries", {"max": high})
    return None


_CHECKERS = {
    "single_choice": _check_single,
    "yes_no": _check_single,
    "multiple_choice": _check_multiple,
    "text": _check_text,
    "long_text": _check_text,
    "email": _check_text,
    "integer": _check_integer,
    "decimal": _check_decimal,
    "rating": _check_rating,
    "date": _check_date,
    "matrix": _check_matrix,
    "ranking": _check_ranking,
    "repeat": _check_repeat,
}

#: Plain-English wording of each issue, for authors (respondents get translated text).
ISSUE_MESSAGES = {
    "required": "an answer is required",
    "not_answerable": "this question type takes no answer",
    "not_a_choice": "not one of the question's choices",
    "exclusive": "an exclusive choice cannot be combined with others",
    "too_few_selected": "choose at least {min}",
    "too_many_selected": "choose at most {max}",
    "not_text": "must be text",
    "too_short": "must have at least {min} characters",
    "too_long": "must have at most {max} characters",
    "invalid_email": "not an e-mail address",
    "pattern": "does not match the pattern",
    "not_an_integer": "must be a whole number",
    "not_a_number": "must be a number",
    "too_many_decimals": "at most {decimals} decimal places",
    "too_small": "must be at least {min}",
    "too_large": "must be at most {max}",
    "invalid_date": "must be a date written YYYY-MM-DD",
    "too_early": "must be on or after {min}",
    "too_late": "must be on or before {max}",
    "incomplete_matrix": "every row needs an answer",
    "invalid_ranking": "must rank every choice exactly once",
    "too_few_entries": "needs at least {min} entries",
    "too_many_entries": "may have at most {max} entries",
    "other_missing": "please specify the other answer",
    "constraint": "does not satisfy a constraint",
    "invalid": "not a valid answer",
}


def describe(issue: Issue, question: Question | None = None) -> str:
    """The issue in plain English (for authors and logs); a plugin type's own codes in its words."""
    if question is not None and question.plugin_type is not None:
        own = question.plugin_type.message(issue.code, issue.params, "en", "en")
        if own is not None:
            return own
    params = {key: value for key, value in issue.params.items() if not isinstance(value, dict)}
    return ISSUE_MESSAGES.get(issue.code, ISSUE_MESSAGES["invalid"]).format(**params)


