"""What changed between two questionnaire versions, and which changes orphan collected answers."""
from __future__ import annotations

from dataclasses import dataclass

from survey_app.questionnaire.model import Question, Questionnaire
from survey_app.questionnaire.texts import localize


@dataclass(frozen=True)
class Change:
    """One difference: ``kind`` is added, removed or changed; ``orphans`` says collected
    answers would no longer fit (a removed question or choice, a changed type)."""

    kind: str
    question_id: str
    detail: str
    orphans: bool = False


def _label(question: Question, questionnaire: Questionnaire) -> str:
    return localize(question.label, questionnaire.default_language, questionnaire.default_language)


def diff(old: Questionnaire, new: Questionnaire) -> list[Change]:
    """The changes from ``old`` to ``new``, question by question, in the new order."""
    changes: list[Change] = []
    for question in new.all_questions():
        before = old.questions.get(question.id)
        if before is None:
            changes.append(Change("added", question.id, f"new {question.type} question “{_label(question, new)}”"))
        else:
            changes.extend(_question_changes(before, question, old, new))
    for question in old.all_questions():
        if question.id not in new.questions:
            changes.append(Change("removed", question.id, f"question “{_label(question, old)}” removed", orphans=True))
    return changes


def _question_changes(before: Question, after: Question, old: Questionnaire, new: Questionnaire) -> list[Change]:
    if before.type != after.type:
        return [Change("changed", after.id, f"type changed from {before.type} to {after.type}", orphans=True)]
    changes = []
    if _label(before, old) != _label(after, new):
        changes.append(Change("changed", after.id, f"label changed to “{_label(after, new)}”"))
    for kind, old_values, new_values in (("choice", before.choice_values(), after.choice_values()),
                                         ("row", [row.value for row in before.rows], [row.value for row in after.rows])):
        for value in new_values:
            if value not in old_values:
                changes.append(Change("changed", after.id, f"{kind} '{value}' added"))
        for value in old_values:
            if value not in new_values:
                changes.append(Change("changed", after.id, f"{kind} '{value}' removed", orphans=True))
    if (before.show_if and before.show_if.source) != (after.show_if and after.show_if.source):
        changes.append(Change("changed", after.id, "show_if changed"))
    if before.required != after.required:
        changes.append(Change("changed", after.id, "now required" if after.required else "now optional"))
    return changes
