"""Is a response's answer to a question acceptable? One set of rules for every page,
the final submit and generated demo data."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from survey_app.questionnaire.expressions import evaluate, truthy
from survey_app.questionnaire.model import OTHER_VALUE, Question, Questionnaire
from survey_app.questionnaire.values import Issue, check_answer
from survey_app.responses.logic import Answers, Resolution, expression_values, other_key, resolve


class Unparsable:
    """What a respondent typed where a number, a date or a ranking was expected,
    kept so the page can show it again with the reason (an issue ``code``)."""

    def __init__(self, text: str, code: str):
        self.text, self.code = text, code


def without_unparsable(answers: Mapping[str, Any]) -> dict[str, Any]:
    """``answers`` without what could not be read (inside repeat entries too), for saving."""
    kept = {}
    for name, value in answers.items():
        if isinstance(value, Unparsable):
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict):
            value = [without_unparsable(entry) for entry in value]
        kept[name] = value
    return kept


def is_empty(value: Any) -> bool:
    """Whether ``value`` counts as no answer."""
    return value is None or value == "" or value == [] or value == {}


def question_issue(question: Question, answers: Answers, values: Mapping[str, Any]) -> Issue | None:
    """The first problem with the answer to a shown ``question``, or None.

    ``answers`` holds the question's answer (and its "other" text); ``values``
    is what its constraints see (see :func:`~survey_app.responses.logic.expression_values`).
    """
    if not question.takes_answer:
        return None
    value = answers.get(question.id)
    if isinstance(value, Unparsable):
        return Issue(value.code)
    if is_empty(value):
        if question.required or (question.type == "repeat" and question.options.get("min_count", 0) > 0):
            return Issue("required") if question.type != "repeat" else Issue("too_few_entries", {"min": question.options["min_count"]})
        return None
    issue = check_answer(question, value)
    if issue is not None:
        return issue
    chose_other = value == OTHER_VALUE or (isinstance(value, list) and OTHER_VALUE in value)
    if question.other is not None and chose_other and is_empty(answers.get(other_key(question.id))):
        return Issue("other_missing")
    for constraint in question.constraints:
        if not truthy(evaluate(constraint.expression, values)):
            return Issue("constraint", {"message": constraint.message})
    return None


@dataclass(frozen=True)
class AnswerProblem:
    """A problem with one answer: where it is (page, question, repeat entry) and what."""

    page_id: str
    question_id: str
    entry: int  # 0 outside repeat groups; 1, 2, ... for a repeat entry
    issue: Issue


def response_problems(questionnaire: Questionnaire, answers: Answers,
                      resolution: Resolution | None = None) -> list[AnswerProblem]:
    """Every problem with a whole response, checked as the final submit does
    (``resolution``: what :func:`resolve` already made of these answers)."""
    resolution = resolution or resolve(questionnaire, answers)
    values = expression_values(resolution.answers, questionnaire)
    return list(_problems(questionnaire, resolution.answers, resolution.visible_questions, values))


def _problems(questionnaire: Questionnaire, answers: Answers, shown: frozenset[str],
              values: Mapping[str, Any]) -> Iterator[AnswerProblem]:
    for page in questionnaire.pages:
        for question in page.questions:
            if question.id not in shown:
                continue
            issue = question_issue(question, answers, values)
            if issue is not None:
                yield AnswerProblem(page.id, question.id, 0, issue)
            if question.type == "repeat":
                yield from _entry_problems(question, answers.get(question.id) or [], values)


def _entry_problems(group: Question, entries: list[dict[str, Any]], outer: Mapping[str, Any]) -> Iterator[AnswerProblem]:
    for number, entry in enumerate(entries, start=1):
        for child, issue in entry_issues(group, entry, outer):
            yield AnswerProblem(group.page_id, child.id, number, issue)


def entry_issues(group: Question, entry: Mapping[str, Any], outer: Mapping[str, Any]) -> Iterator[tuple[Question, Issue]]:
    """The problems of one repeat entry: each shown child question with its issue."""
    values = {**outer, **{name: value for name, value in entry.items() if not isinstance(value, Unparsable)}}
    for child in group.questions:
        if child.show_if is not None and not truthy(evaluate(child.show_if, values)):
            continue
        issue = question_issue(child, entry, values)
        if issue is not None:
            yield child, issue
