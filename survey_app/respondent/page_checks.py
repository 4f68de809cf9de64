"""Checking one posted page: each problem as a message next to its field and a line
in the error summary. The rules themselves are in :mod:`survey_app.responses.validation`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wtforms import Form

from survey_app.questionnaire.model import Page, Questionnaire
from survey_app.respondent.forms import anchor
from survey_app.respondent.wording import Wording
from survey_app.responses.logic import expression_values, resolve
from survey_app.responses.validation import entry_issues, question_issue


@dataclass(frozen=True)
class FieldError:
    """A message for one field: shown next to it and, linked to ``anchor``, in the summary."""

    field_id: str
    anchor: str
    message: str
    question_label: str

    @property
    def summary(self) -> str:
        """The line in the error summary: which question, and what is wrong."""
        return f"{self.question_label}: {self.message}"


def check_page(questionnaire: Questionnaire, language: str, page: Page, form: Form,
               stored: dict[str, Any], answers: dict[str, Any]) -> list[FieldError]:
    """Check every shown question of ``page`` (and each repeat entry) as answered in ``answers``."""
    merged = resolve(questionnaire, {**stored, **answers})
    values = expression_values(merged.answers, questionnaire)
    wording = Wording(questionnaire, language, merged.answers)
    errors = []
    for question in page.questions:
        if question.id not in merged.visible_questions or not question.takes_answer:
            continue
        issue = question_issue(question, answers, values)
        if issue is not None:
            field = form[question.id]
            errors.append(FieldError(field.id, anchor(question, field), wording.issue(question, issue), wording(question.label)))
        if question.type == "repeat":
            entry_forms = form[question.id].entries
            for number, (entry_form, entry) in enumerate(zip(entry_forms, answers.get(question.id) or []), start=1):
                entry_wording = wording.for_entry(number)
                entry_name = entry_wording(question.options.get("entry_label")) or str(number)
                for child, child_issue in entry_issues(question, entry, values):
                    field = entry_form.form[child.id]
                    errors.append(FieldError(field.id, anchor(child, field), entry_wording.issue(child, child_issue),
                                             f"{entry_name}, {entry_wording(child.label)}"))
    return errors
