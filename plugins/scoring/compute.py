"""Scoring a response: pure functions, no database.

How a score is computed from a response's answers (after
``survey_app.responses.logic.resolve``, which drops answers to hidden questions):

* Each item scores one question. Its **factor** is its ``weight`` (default 1)
  times the weight of its ``section`` in ``section_weights`` (default 1).
* An item's **max** is the best points any answer can get, times the factor:

  - ``points`` on a single choice or yes/no question: the highest points given;
  - ``points`` on a multiple choice question: the selected choices' points add
    up, so the max is the sum of the best ``max_selected`` (all, if unset)
    positive points, or the points of the best exclusive choice if higher;
  - ``points`` on a matrix: each scored row (``rows``, default all) is a cell
    scored with ``points``; the max is scored rows x the best points;
  - ``correct``: 1 point (x factor); a multiple choice answer must be exactly
    the listed set;
  - ``ranges`` (integer, decimal, rating or calculated questions): the points
    of the range containing the number (both ends included), 0 outside every
    range; the max is the best range's points.

* An item is **excluded** (counts for neither points nor max) when its question
  was not shown (not in ``visible_questions``: its own ``show_if`` or its
  page's was false) or its answer is listed in ``exclude`` ("not applicable";
  for multiple choice: any selected value listed; for a matrix: per cell, and
  the whole item when every scored cell is excluded).
* A shown but **unanswered** question scores 0 of its max; so does an answer
  that no rule gives points (or that is not valid for the question at all).
  An item never scores above its max.
* **points** and **max** add up over the applicable items (rounded to 6
  decimals); **percent** is ``100 * points / max`` rounded to 2 decimals, or
  ``None`` when max is 0 (nothing applicable).
* **band** is the index of the band whose ``[min, max]`` contains the percent
  (bands cover 0-100 with gaps of at most 0.01; a percent that falls in such a
  gap takes the nearest band), ``None`` without a percent or without bands.
* **critical_failures** counts the applicable items marked ``critical`` that
  scored 0.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from survey_app.questionnaire import Questionnaire
from survey_app.responses.logic import Resolution, resolve

from .config import Band, Item, Score, ScoringConfig


@dataclass(frozen=True)
class ItemResult:
    """One item's contribution; ``applicable`` is false when it was excluded."""

    question: str
    applicable: bool
    points: float = 0.0
    max: float = 0.0


@dataclass(frozen=True)
class ScoreResult:
    """One score of one response."""

    score: Score
    points: float
    max: float
    percent: float | None
    band: int | None
    critical_failures: int
    items: tuple[ItemResult, ...]

    @property
    def band_label(self):
        """The band's label (a text), or None."""
        return self.score.bands[self.band].label if self.band is not None else None


def answers_of(response: Any) -> Mapping[str, Any]:
    """A response's answers (``response.data["answers"]``), or none if the data is malformed."""
    data = getattr(response, "data", None)
    answers = data.get("answers") if isinstance(data, Mapping) else None
    return answers if isinstance(answers, Mapping) else {}


def score_answers(config: ScoringConfig, questionnaire: Questionnaire, answers: Mapping[str, Any]) -> list[ScoreResult]:
    """Every score of ``config`` for a response's raw answers."""
    if not config.scores:
        return []
    resolution = resolve(questionnaire, answers if isinstance(answers, Mapping) else {})
    return [score_resolution(score, resolution) for score in config.scores]


def score_resolution(score: Score, resolution: Resolution) -> ScoreResult:
    """One score of resolved answers."""
    items = tuple(score_item(item, resolution) for item in score.items)
    points = sum(result.points for result in items if result.applicable)
    maximum = sum(result.max for result in items if result.applicable)
    percent = round(100 * points / maximum, 2) if maximum > 0 else None
    failures = sum(1 for item, result in zip(score.items, items)
                   if item.critical and result.applicable and result.points == 0)
    return ScoreResult(score, round(points, 6), round(maximum, 6), percent, band_of(score.bands, percent),
                       failures, items)


def band_of(bands: tuple[Band, ...], percent: float | None) -> int | None:
    """The index of the band containing ``percent`` (the nearest one if it falls in a gap)."""
    if percent is None or not bands:
        return None
    for index, band in enumerate(bands):
        if band.contains(percent):
            return index
    return min(range(len(bands)), key=lambda i: min(abs(bands[i].min - percent), abs(bands[i].max - percent)))


def score_item(item: Item, resolution: Resolution) -> ItemResult:
    """Points and max of one item, or not applicable."""
    if item.question not in resolution.visible_questions:
        return ItemResult(item.question, applicable=False)
    answer = resolution.answers.get(item.question)
    if item.question_type == "matrix":
        return _matrix(item, answer)
    if _excluded(item, answer):
        return ItemResult(item.question, applicable=False)
    got = min(max(_points(item, answer), 0.0), item.best)
    return ItemResult(item.question, True, got * item.factor, item.best * item.factor)


def _excluded(item: Item, answer: Any) -> bool:
    if isinstance(answer, str):
        return answer in item.exclude
    if isinstance(answer, list):
        return any(isinstance(value, str) and value in item.exclude for value in answer)
    return False


def _points(item: Item, answer: Any) -> float:
    """Unweighted points of a (non-matrix) answer; 0 for no or an unexpected answer."""
    if item.kind == "ranges":
        if not _is_number(answer):
            return 0.0
        return next((entry.points for entry in item.ranges if entry.contains(answer)), 0.0)
    if item.question_type == "multiple_choice":
        if not isinstance(answer, list):
            return 0.0
        chosen = {value for value in answer if isinstance(value, str)}
        if item.kind == "correct":
            return 1.0 if chosen == item.correct else 0.0
        return sum(item.points.get(value, 0.0) for value in chosen)
    if not isinstance(answer, str):
        return 0.0
    if item.kind == "correct":
        return 1.0 if answer == item.correct else 0.0
    return item.points.get(answer, 0.0)


def _matrix(item: Item, answer: Any) -> ItemResult:
    cells = answer if isinstance(answer, Mapping) else {}
    got = maximum = 0.0
    for row in item.rows:
        cell = cells.get(row)
        if isinstance(cell, str) and cell in item.exclude:
            continue
        maximum += item.best
        got += item.points.get(cell, 0.0) if isinstance(cell, str) else 0.0
    if maximum == 0:
        return ItemResult(item.question, applicable=False)
    return ItemResult(item.question, True, min(got, maximum) * item.factor, maximum * item.factor)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
