"""The scoring rules of a questionnaire, parsed into frozen objects.

:func:`load_config` checks the ``plugins.scoring`` section (:mod:`.checks`)
and returns a :class:`ScoringConfig`, or raises :class:`ScoringConfigInvalid`
listing every problem. The format and its meaning are described in
``README.md`` beside this file.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from survey_app.questionnaire import Problem, Question, Questionnaire
from survey_app.questionnaire.texts import Text

from .checks import KINDS, SECTION, find_problems

__all__ = ["Band", "Item", "Range", "Score", "ScoringConfig", "ScoringConfigInvalid", "SECTION", "find_problems",
           "load_config", "parse", "rules_or_none"]

# --- The parsed rules ---------------------------------------------------------


@dataclass(frozen=True)
class Range:
    """``points`` for a number from ``min`` to ``max`` (both included)."""

    min: float
    max: float
    points: float

    def contains(self, value: float) -> bool:
        return self.min <= value <= self.max


@dataclass(frozen=True)
class Item:
    """One scored question. ``kind`` is "points", "correct" or "ranges".

    ``factor`` is the item's weight times its section's weight; ``rows`` are the
    matrix rows scored (all of them unless the item names some).
    """

    question: str
    question_type: str
    kind: str
    points: Mapping[str, float]
    correct: str | frozenset[str] | None
    ranges: tuple[Range, ...]
    exclude: frozenset[str]
    weight: float
    section: str | None
    section_weight: float
    critical: bool
    rows: tuple[str, ...]
    best: float  # best points of one answer (of one matrix cell), before weights

    @property
    def factor(self) -> float:
        return self.weight * self.section_weight


@dataclass(frozen=True)
class Band:
    """A named band of percentages from ``min`` to ``max`` (both included)."""

    min: float
    max: float
    label: Text

    def contains(self, percent: float) -> bool:
        return self.min <= percent <= self.max


@dataclass(frozen=True)
class Score:
    """One score of a questionnaire."""

    id: str
    label: Text
    items: tuple[Item, ...]
    bands: tuple[Band, ...]
    show_respondent: bool


@dataclass(frozen=True)
class ScoringConfig:
    """Every score of a questionnaire (none when it has no ``scoring`` section)."""

    scores: tuple[Score, ...] = ()


class ScoringConfigInvalid(ValueError):
    """The scoring section has problems; ``problems`` lists them all."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"the scoring section has {len(problems)} problem(s): " + "; ".join(map(str, problems[:3])))


@lru_cache(maxsize=256)
def load_config(questionnaire: Questionnaire) -> ScoringConfig:
    """The questionnaire's scoring rules, checked and parsed once per loaded questionnaire
    (questionnaires are immutable and hashed by identity); raises :class:`ScoringConfigInvalid`."""
    problems = find_problems(questionnaire)
    if problems:
        raise ScoringConfigInvalid(problems)
    return parse(questionnaire)


def rules_or_none(questionnaire: Questionnaire) -> ScoringConfig:
    """The rules, or no scores when the section is invalid (for hooks that only show things)."""
    try:
        return load_config(questionnaire)
    except ScoringConfigInvalid:
        return ScoringConfig()


def parse(questionnaire: Questionnaire) -> ScoringConfig:
    """Build the rules from a section that :func:`find_problems` found valid."""
    section = questionnaire.plugins.get(SECTION)
    if section is None:
        return ScoringConfig()
    return ScoringConfig(tuple(_score(raw, questionnaire) for raw in section["scores"]))


def _score(raw: Mapping[str, Any], questionnaire: Questionnaire) -> Score:
    section_weights = raw.get("section_weights", {})
    items = tuple(_item(item, questionnaire.questions[item["question"]], section_weights) for item in raw["items"])
    bands = tuple(Band(float(band["min"]), float(band["max"]), band["label"]) for band in raw.get("bands", ()))
    return Score(raw["id"], raw.get("label", raw["id"]), items, bands, raw.get("show_respondent", False))


def _item(raw: Mapping[str, Any], question: Question, section_weights: Mapping[str, float]) -> Item:
    kind = next(kind for kind in KINDS if kind in raw)
    points = MappingProxyType({value: float(number) for value, number in raw.get("points", {}).items()})
    correct = raw.get("correct")
    if isinstance(correct, list):
        correct = frozenset(correct)
    ranges = tuple(Range(float(r["min"]), float(r["max"]), float(r["points"])) for r in raw.get("ranges", ()))
    rows = tuple(raw.get("rows") or (row.value for row in question.rows))
    section = raw.get("section")
    return Item(
        question=question.id, question_type=question.type, kind=kind, points=points, correct=correct,
        ranges=ranges, exclude=frozenset(raw.get("exclude", ())), weight=float(raw.get("weight", 1)),
        section=section, section_weight=float(section_weights[section]) if section is not None else 1.0,
        critical=raw.get("critical", False), rows=rows, best=_best(kind, points, ranges, question),
    )


def _best(kind: str, points: Mapping[str, float], ranges: tuple[Range, ...], question: Question) -> float:
    """The most points one answer (one matrix cell) can get, before weights."""
    if kind == "correct":
        return 1.0
    if kind == "ranges":
        return max(r.points for r in ranges)
    if question.type != "multiple_choice":
        return max(points.values())
    # Several choices add up, at most max_selected of them; an exclusive choice stands alone.
    exclusive = {choice.value for choice in question.choices if choice.exclusive}
    combinable = sorted((p for value, p in points.items() if value not in exclusive and p > 0), reverse=True)
    limit = question.options.get("max_selected")
    together = sum(combinable[:limit] if isinstance(limit, int) else combinable)
    alone = max((p for value, p in points.items() if value in exclusive), default=0.0)
    return max(together, alone)
