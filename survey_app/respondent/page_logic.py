"""The show/hide rules of one page, as JSON for the browser's interpreter (logic.js).

The browser gets the parsed expression trees, never the source text, so there is
one parser (on the server) and two interpreters that share a test table.
"""
from __future__ import annotations

from typing import Any

from survey_app.questionnaire.model import Page, Question, Questionnaire
from survey_app.responses.logic import expression_values


def logic_payload(questionnaire: Questionnaire, page: Page, answers: dict[str, Any]) -> dict[str, Any] | None:
    """Rules and types of the page's questions plus the earlier answers they may use;
    None when nothing on the page depends on anything."""
    # A list, in page order: later rules must see earlier questions hidden first,
    # exactly as the server walks the page (a JSON object's keys would be sorted).
    rules = [[question.id, question.show_if.to_json()] for question in page.questions if question.show_if is not None]
    if not rules:
        return None
    on_page = {question.id for question in page.questions}
    earlier = {name: value for name, value in expression_values(answers, questionnaire).items()
               if name.split(".")[0] not in on_page}
    types = {question.id: _browser_type(question) for question in page.questions if question.takes_answer}
    return {"rules": rules, "types": types, "values": earlier}


def _browser_type(question: Question) -> str:
    """How respondent.js reads the question's input: a plugin type's by its value kind."""
    if question.plugin_type is None:
        return question.type
    return {"number": "decimal", "date": "date"}.get(question.plugin_type.value_kind, "text")
