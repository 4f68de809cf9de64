"""Which pages and questions a response shows, and its calculated values.

This is the server's reading of the questionnaire's logic, and the only one:
the respondent pages, the final submit, scoring and the demo-data generator
all call :func:`resolve`. Answers to hidden questions are dropped, so a later
expression that uses them sees null, exactly as the browser does.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from survey_app.questionnaire.expressions import evaluate, truthy
from survey_app.questionnaire.model import Page, Question, Questionnaire

#: A response's answers: question id -> value; "<id>:other" holds "please specify" text;
#: a repeat group's value is a list of entries, each a dict of its own answers.
Answers = Mapping[str, Any]


def other_key(question_id: str) -> str:
    """Where the "other, please specify" text of a question is kept in :data:`Answers`."""
    return f"{question_id}:other"


@dataclass(frozen=True)
class Resolution:
    """What a set of answers makes of a questionnaire."""

    visible_pages: tuple[str, ...]
    visible_questions: frozenset[str]  # top-level questions shown (repeat children: per entry, in entries)
    answers: dict[str, Any]  # only answers to shown questions, calculated values included

    def shows_page(self, page_id: str) -> bool:
        """Whether the page is shown."""
        return page_id in self.visible_pages


def expression_values(answers: Answers, questionnaire: Questionnaire) -> dict[str, Any]:
    """The names an expression sees: answers, with each matrix row as ``matrix.row``."""
    values = dict(answers)
    for question in questionnaire.all_questions():
        if question.type == "matrix" and isinstance(answers.get(question.id), dict):
            values.update({f"{question.id}.{row}": cell for row, cell in answers[question.id].items()})
    return values


def resolve(questionnaire: Questionnaire, answers: Answers) -> Resolution:
    """Walk the questionnaire in order, deciding visibility and computing calculations."""
    kept: dict[str, Any] = {}
    values: dict[str, Any] = {}
    pages: list[str] = []
    shown: set[str] = set()
    for page in questionnaire.pages:
        if not _passes(page.show_if, values):
            continue
        pages.append(page.id)
        for question in page.questions:
            if not _passes(question.show_if, values):
                continue
            shown.add(question.id)
            _keep(question, answers, kept, values)
    return Resolution(tuple(pages), frozenset(shown), kept)


def visible_on_page(page: Page, values: Mapping[str, Any]) -> list[Question]:
    """The questions of ``page`` shown given ``values`` (answers before and on the page)."""
    return [question for question in page.questions if _passes(question.show_if, values)]


def _passes(condition, values: Mapping[str, Any]) -> bool:
    return condition is None or truthy(evaluate(condition, values))


def _keep(question: Question, answers: Answers, kept: dict[str, Any], values: dict[str, Any]) -> None:
    """Record a shown question's answer (or computed value) in ``kept`` and ``values``."""
    if question.type == "calculated":
        value = evaluate(question.expression, values)
    elif question.type == "repeat":
        value = [_entry(question, entry, values) for entry in answers.get(question.id) or ()]
    else:
        value = answers.get(question.id)
    if value is None or value == [] or value == {}:
        values.pop(question.id, None)
        return
    kept[question.id] = values[question.id] = value
    if question.type == "matrix" and isinstance(value, dict):
        values.update({f"{question.id}.{row}": cell for row, cell in value.items()})
    other = answers.get(other_key(question.id))
    if other and _chose_other(value):
        kept[other_key(question.id)] = other


def _chose_other(value: Any) -> bool:
    return value == "other" or (isinstance(value, list) and "other" in value)


def _entry(group: Question, entry: Mapping[str, Any], outer: Mapping[str, Any]) -> dict[str, Any]:
    """One repeat entry with only its shown answers; siblings see each other first."""
    kept: dict[str, Any] = {}
    values = dict(outer)
    for child in group.questions:
        if _passes(child.show_if, values):
            _keep(child, entry, kept, values)
    return kept
