"""Checking the ``plugins.scoring`` section: a small JSON Schema for its shape, then the rest.

The section is untrusted JSON. :func:`find_problems` reports wrong types and
unknown keys from the schema, then checks what a schema cannot (question ids,
choice values, ranges, bands, translations, weights) on every part whose shape
is right, and returns **every** problem at once, each a ``Problem`` whose path
is a JSON pointer under ``/plugins/scoring``. It never raises, whatever the input.
"""
from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable, Iterator
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from survey_app.questionnaire import Problem, Question, Questionnaire
from survey_app.questionnaire.builder import translation_problems
from survey_app.questionnaire.model import YES_NO_VALUES

SECTION = "scoring"
ROOT = ("plugins", SECTION)
#: A score id: it becomes part of metric names (at most 64 characters with ".critical_failures").
SCORE_ID = re.compile(r"[a-z][a-z0-9_]{0,45}")
MAX_SCORES = 50
MAX_ITEMS = 2_000
MAX_RANGES = 100
MAX_BANDS = 20
#: Adjacent bands may leave at most this gap (percentages are rounded to 2 decimals).
BAND_GAP = 0.01
_EPSILON = 1e-9

#: Question types each way of scoring applies to.
POINTS_TYPES = ("single_choice", "yes_no", "multiple_choice", "matrix")
CORRECT_TYPES = ("single_choice", "yes_no", "multiple_choice")
RANGES_TYPES = ("integer", "decimal", "rating", "calculated")
SCORABLE_TYPES = frozenset(POINTS_TYPES + RANGES_TYPES)
KINDS = {"points": POINTS_TYPES, "correct": CORRECT_TYPES, "ranges": RANGES_TYPES}


# --- The shape: a small JSON Schema ------------------------------------------

_NUMBER = {"type": "number"}
_TEXT = {
    "description": "a text: a string, or an object of language code to string",
    "anyOf": [{"type": "string", "minLength": 1},
              {"type": "object", "minProperties": 1, "additionalProperties": {"type": "string"}}],
}
_STRINGS = {"type": "array", "items": {"type": "string"}}
_RANGE = {
    "type": "object", "required": ["min", "max", "points"], "additionalProperties": False,
    "properties": {"min": _NUMBER, "max": _NUMBER, "points": _NUMBER},
}
ITEM_SCHEMA = {
    "type": "object", "required": ["question"], "additionalProperties": False,
    "properties": {
        "question": {"type": "string"},
        "points": {"type": "object", "minProperties": 1, "additionalProperties": _NUMBER},
        "correct": {"description": "a choice value or a list of choice values",
                    "anyOf": [{"type": "string"}, {**_STRINGS, "minItems": 1}]},
        "ranges": {"type": "array", "minItems": 1, "maxItems": MAX_RANGES, "items": _RANGE},
        "exclude": _STRINGS,
        "rows": {**_STRINGS, "minItems": 1},
        "weight": _NUMBER,
        "section": {"type": "string", "minLength": 1},
        "critical": {"type": "boolean"},
    },
}
BAND_SCHEMA = {
    "type": "object", "required": ["min", "max", "label"], "additionalProperties": False,
    "properties": {"min": _NUMBER, "max": _NUMBER, "label": _TEXT},
}
SCORE_SCHEMA = {
    "type": "object", "required": ["id", "items"], "additionalProperties": False,
    "properties": {
        "id": {"type": "string"},
        "label": _TEXT,
        "items": {"type": "array", "minItems": 1, "maxItems": MAX_ITEMS, "items": ITEM_SCHEMA},
        "section_weights": {"type": "object", "additionalProperties": _NUMBER},
        "bands": {"type": "array", "minItems": 1, "maxItems": MAX_BANDS, "items": BAND_SCHEMA},
        "show_respondent": {"type": "boolean"},
    },
}
SECTION_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object", "required": ["scores"], "additionalProperties": False,
    "properties": {"scores": {"type": "array", "minItems": 1, "maxItems": MAX_SCORES, "items": SCORE_SCHEMA}},
}
_SECTION = Draft202012Validator(SECTION_SCHEMA)
_ITEM = Draft202012Validator(ITEM_SCHEMA)
_BAND = Draft202012Validator(BAND_SCHEMA)
_LABEL = Draft202012Validator(_TEXT)


# --- Checking -----------------------------------------------------------------


def find_problems(questionnaire: Questionnaire) -> list[Problem]:
    """Every problem of the questionnaire's scoring section (none when it has no such section)."""
    section = questionnaire.plugins.get(SECTION)
    if section is None:
        return []
    problems = list(_shape_problems(section))
    scores = section.get("scores") if isinstance(section, dict) else None
    if isinstance(scores, list):
        seen: dict[str, int] = {}
        for index, score in enumerate(scores):
            if isinstance(score, dict):
                problems.extend(_ScoreCheck(questionnaire, score, ("scores", index), seen).problems())
    return sorted(set(problems))


def pointer(*parts: str | int) -> str:
    """A JSON pointer under ``/plugins/scoring`` (RFC 6901 escaping)."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in (*ROOT, *parts))


def _shape_problems(section: Any) -> Iterator[Problem]:
    for error in sorted(_SECTION.iter_errors(section), key=lambda e: ([str(p) for p in e.absolute_path], e.message)):
        yield from _from_schema_error(error)


def _from_schema_error(error: ValidationError) -> Iterator[Problem]:
    where = tuple(error.absolute_path)
    kind = error.validator
    if kind == "anyOf":
        deeper = [e for e in error.context or () if len(e.absolute_path) > len(where)]
        if deeper:  # the value has the right type but something inside it is wrong
            yield from _from_schema_error(max(deeper, key=lambda e: len(e.absolute_path)))
        else:
            yield Problem(pointer(*where), f"must be {error.schema.get('description')}, not {_json_type(error.instance)}")
    elif kind == "type":
        yield Problem(pointer(*where), f"must be {_TYPE_NAMES[error.validator_value]}, not {_json_type(error.instance)}")
    elif kind == "required":
        for name in error.validator_value:
            if name not in error.instance:
                yield Problem(pointer(*where), f"'{name}' is required here")
    elif kind == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        for key in sorted(set(error.instance) - set(known)):
            yield Problem(pointer(*where, key), f"unknown key '{key}'{_did_you_mean(key, known)}")
    elif kind in ("minItems", "minProperties", "minLength"):
        yield Problem(pointer(*where), "must not be empty")
    elif kind == "maxItems":
        yield Problem(pointer(*where), f"has {len(error.instance)} entries; at most {error.validator_value} are allowed")
    else:  # not reached with this schema; kept readable all the same
        yield Problem(pointer(*where), error.message[:300])


class _ScoreCheck:
    """The checks of one score whose top level is an object; each part is checked if its shape is right."""

    def __init__(self, questionnaire: Questionnaire, score: dict, where: tuple, seen: dict[str, int]):
        self.questionnaire = questionnaire
        self.score = score
        self.where = where
        self.seen = seen
        self.found: list[Problem] = []

    def problem(self, parts: tuple, message: str) -> None:
        self.found.append(Problem(pointer(*self.where, *parts), message))

    def problems(self) -> list[Problem]:
        self._id()
        if _LABEL.is_valid(self.score.get("label", "x")):
            self._translations(self.score.get("label"))
        weights = self.score.get("section_weights")
        if isinstance(weights, dict):
            for name, weight in weights.items():
                self._positive(("section_weights", name), weight, "a section weight")
        items = self.score.get("items")
        if isinstance(items, list):
            for index, item in enumerate(items):
                if _ITEM.is_valid(item):
                    _ItemCheck(self, item, ("items", index)).run()
            self._sections(items, weights if isinstance(weights, dict) else None)
        bands = self.score.get("bands")
        if isinstance(bands, list) and bands and all(_BAND.is_valid(band) for band in bands):
            self._bands(bands)
        return self.found

    def _id(self) -> None:
        identifier = self.score.get("id")
        if not isinstance(identifier, str):
            return
        if not SCORE_ID.fullmatch(identifier):
            self.problem(("id",), f"'{identifier[:60]}' is not a valid score id: use lowercase letters, digits and "
                                  "underscores, starting with a letter, at most 46 characters")
        elif identifier in self.seen:
            self.problem(("id",), f"duplicate score id '{identifier}' (already used by /plugins/scoring/scores/{self.seen[identifier]})")
        else:
            self.seen[identifier] = self.where[-1]

    def _translations(self, text: Any, parts: tuple = ()) -> None:
        if isinstance(text, dict):
            self.found.extend(translation_problems({"label": text}, self.questionnaire.languages,
                                                   (*ROOT, *self.where, *parts)))

    def _positive(self, parts: tuple, value: Any, what: str) -> None:
        if _is_number(value) and not (math.isfinite(value) and value > 0):
            self.problem(parts, f"{what} must be a positive number, not {_short(value)}")

    def _sections(self, items: list, weights: dict | None) -> None:
        used = set()
        for index, item in enumerate(items):
            section = item.get("section") if isinstance(item, dict) else None
            if not isinstance(section, str) or not section:
                continue
            used.add(section)
            if weights is None:
                self.problem(("items", index, "section"),
                             f"the section '{section}' has no weight: add 'section_weights' to the score")
            elif section not in weights:
                self.problem(("items", index, "section"), f"the section '{section}' has no weight in 'section_weights'"
                                                          + _did_you_mean(section, weights))
        if weights is not None and all(isinstance(item, dict) for item in items):
            for name in weights:
                if name not in used:
                    self.problem(("section_weights", name), f"no item is in the section '{name}'")

    def _bands(self, bands: list[dict]) -> None:
        for index, band in enumerate(bands):
            self._translations(band["label"], ("bands", index))
            for key in ("min", "max"):
                value = band[key]
                if not (math.isfinite(value) and 0 <= value <= 100):
                    self.problem(("bands", index, key), f"a band's limits are percentages from 0 to 100, not {_short(value)}")
            if band["min"] > band["max"]:
                self.problem(("bands", index), f"'min' ({_short(band['min'])}) is greater than 'max' ({_short(band['max'])})")
        order = sorted(range(len(bands)), key=lambda i: (bands[i]["min"], bands[i]["max"]))
        if order != list(range(len(bands))):
            self.problem(("bands",), "list the bands from the lowest percentages to the highest")
        first, last = bands[order[0]], bands[order[-1]]
        if first["min"] > 0:
            self.problem(("bands", order[0], "min"), f"the bands must start at 0, but the lowest starts at {_short(first['min'])}")
        if last["max"] < 100:
            self.problem(("bands", order[-1], "max"), f"the bands must reach 100, but the highest ends at {_short(last['max'])}")
        for before, after in zip(order, order[1:]):
            low, high = bands[before], bands[after]
            if high["min"] <= low["max"]:
                self.problem(("bands", after), f"overlaps the band at {pointer(*self.where, 'bands', before)} "
                                               f"({_short(low['min'])} to {_short(low['max'])})")
            elif high["min"] - low["max"] > BAND_GAP + _EPSILON:
                self.problem(("bands", after, "min"), f"leaves a gap after the band ending at {_short(low['max'])}: start "
                                                      f"at most {BAND_GAP} above it")


class _ItemCheck:
    """The checks of one item of the right shape."""

    def __init__(self, score: _ScoreCheck, item: dict, where: tuple):
        self.score = score
        self.item = item
        self.where = where

    def problem(self, parts: tuple, message: str) -> None:
        self.score.problem((*self.where, *parts), message)

    def run(self) -> None:
        item = self.item
        self.score._positive((*self.where, "weight"), item.get("weight", 1), "a weight")
        kinds = [kind for kind in KINDS if kind in item]
        if len(kinds) != 1:
            named = " and ".join(f"'{kind}'" for kind in kinds)
            self.problem((), "an item needs one of 'points', 'correct' or 'ranges'" if not kinds
                         else f"an item takes only one of 'points', 'correct' or 'ranges', not {named}")
        self._numbers()
        question = self.score.questionnaire.questions.get(item["question"])
        if question is None:
            scorable = [q.id for q in self.score.questionnaire.all_questions() if q.type in SCORABLE_TYPES]
            self.problem(("question",), f"unknown question '{item['question'][:60]}'"
                         + _did_you_mean(item["question"], scorable or self.score.questionnaire.questions))
            return
        if not self._scorable(question, kinds):
            return
        values = YES_NO_VALUES if question.type == "yes_no" else question.choice_values()
        if "points" in item:
            self._values(("points",), item["points"], question, values)
        if "correct" in item:
            self._correct(question, values)
        self._exclude(question, values)
        self._rows(question)

    def _numbers(self) -> None:
        for value, number in self.item.get("points", {}).items():
            if not (math.isfinite(number) and number >= 0):
                self.problem(("points", value), f"points must be zero or more, not {_short(number)}")
        if self.item.get("points") and max(self.item["points"].values()) <= 0:
            self.problem(("points",), "every answer scores 0 points, so this item can never count")
        ranges = self.item.get("ranges", ())
        for index, entry in enumerate(ranges):
            for key in ("min", "max", "points"):
                if not math.isfinite(entry[key]):
                    self.problem(("ranges", index, key), f"must be a finite number, not {_short(entry[key])}")
            if entry["points"] < 0:
                self.problem(("ranges", index, "points"), f"points must be zero or more, not {_short(entry['points'])}")
            if entry["min"] > entry["max"]:
                self.problem(("ranges", index), f"'min' ({_short(entry['min'])}) is greater than 'max' ({_short(entry['max'])})")
        for later, entry in enumerate(ranges):
            for earlier in range(later):
                other = ranges[earlier]
                if entry["min"] <= entry["max"] and other["min"] <= other["max"] \
                        and entry["min"] <= other["max"] and other["min"] <= entry["max"]:
                    self.problem(("ranges", later), f"overlaps the range at index {earlier} "
                                                    f"({_short(other['min'])} to {_short(other['max'])})")
                    break
        if ranges and max(entry["points"] for entry in ranges) <= 0:
            self.problem(("ranges",), "every answer scores 0 points, so this item can never count")

    def _scorable(self, question: Question, kinds: list[str]) -> bool:
        if question.repeat_id is not None:
            self.problem(("question",), f"'{question.id}' is inside the repeat group '{question.repeat_id}'; "
                                        "questions in repeat groups cannot be scored")
            return False
        if question.type not in SCORABLE_TYPES:
            self.problem(("question",), f"'{question.id}' is a {question.type} question, which cannot be scored "
                                        f"(scored types: {', '.join(sorted(SCORABLE_TYPES))})")
            return False
        for kind in kinds:
            if question.type not in KINDS[kind]:
                fitting = " or ".join(f"'{k}'" for k, types in KINDS.items() if question.type in types)
                self.problem((kind,), f"'{kind}' cannot score the {question.type} question '{question.id}'; use {fitting}")
                return False
        return True

    def _values(self, parts: tuple, given: Iterable[str], question: Question, values: tuple[str, ...],
                listed: bool = False) -> None:
        for index, value in enumerate(given):
            if value not in values:
                self.problem((*parts, index if listed else value),
                             f"'{value[:60]}' is not a choice of the question '{question.id}'" + _choices_hint(value, values))

    def _correct(self, question: Question, values: tuple[str, ...]) -> None:
        correct = self.item["correct"]
        if question.type == "multiple_choice":
            if isinstance(correct, str):
                self.problem(("correct",), "for a multiple_choice question give 'correct' as a list: "
                                           "the exact set of choices that is right")
                return
            self._values(("correct",), correct, question, values, listed=True)
        elif isinstance(correct, list):
            self.problem(("correct",), f"a {question.type} question has one answer: give 'correct' as one choice value")
        else:
            if correct not in values:
                self.problem(("correct",), f"'{correct[:60]}' is not a choice of the question '{question.id}'"
                             + _choices_hint(correct, values))

    def _exclude(self, question: Question, values: tuple[str, ...]) -> None:
        exclude = self.item.get("exclude")
        if exclude is None:
            return
        if question.type in RANGES_TYPES:
            self.problem(("exclude",), f"'exclude' lists choice values; the {question.type} question "
                                       f"'{question.id}' has none")
            return
        self._values(("exclude",), exclude, question, values, listed=True)
        correct = self.item.get("correct")
        scored = set(self.item.get("points", {})) | ({correct} if isinstance(correct, str) else set(correct or ()))
        for index, value in enumerate(exclude):
            if value in scored and value in values:
                self.problem(("exclude", index), f"'{value}' is both scored and excluded")

    def _rows(self, question: Question) -> None:
        rows = self.item.get("rows")
        if rows is None:
            return
        if question.type != "matrix":
            self.problem(("rows",), f"'rows' applies only to matrix questions, and '{question.id}' is a {question.type} question")
            return
        known = tuple(row.value for row in question.rows)
        for index, row in enumerate(rows):
            if row not in known:
                self.problem(("rows", index), f"'{row[:60]}' is not a row of the matrix '{question.id}'" + _choices_hint(row, known))


# --- Small helpers -------------------------------------------------------------

_TYPE_NAMES = {"object": "an object", "array": "a list", "string": "a string", "number": "a number",
               "boolean": "true or false"}


def _json_type(value: Any) -> str:
    for python_type, name in ((bool, "true/false"), (dict, "an object"), (list, "a list"), (str, "a string"),
                              (int, "a number"), (float, "a number"), (type(None), "null")):
        if isinstance(value, python_type):
            return name
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _short(value: Any) -> str:
    if _is_number(value) and math.isfinite(value) and value == int(value):
        return str(int(value))
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    guess = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{guess[0]}'?)" if guess else ""


def _choices_hint(value: str, values: tuple[str, ...]) -> str:
    hint = _did_you_mean(value, values)
    if hint:
        return hint
    shown = ", ".join(values[:12]) + (", ..." if len(values) > 12 else "")
    return f" (its values: {shown})" if values else ""
