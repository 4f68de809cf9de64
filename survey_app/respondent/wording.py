"""Texts as a respondent sees them: in their language, with earlier answers piped in,
and the messages for answers that need attention."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from survey_app.questionnaire.model import Question, Questionnaire
from survey_app.questionnaire.texts import Text, localize, pipe
from survey_app.questionnaire.values import Issue


class Wording:
    """Localises texts of one questionnaire into one language, piping in ``answers``."""

    def __init__(self, questionnaire: Questionnaire, language: str, answers: Mapping[str, Any], entry: int | None = None):
        self.questionnaire, self.language, self.answers, self.entry = questionnaire, language, answers, entry

    def __call__(self, text: Text | None) -> str:
        """The text in the respondent's language with ``{question}`` replaced by its answer."""
        wording = localize(text, self.language, self.questionnaire.default_language)
        return pipe(wording, self.answer_text) if "{" in wording else wording

    def for_entry(self, number: int) -> Wording:
        """The same wording inside repeat entry ``number`` (``{n}`` becomes the number)."""
        return Wording(self.questionnaire, self.language, self.answers, number)

    def answer_text(self, name: str) -> str:
        """An answer as the respondent would read it: a choice's label, a number, a text."""
        if name == "n" and self.entry is not None:
            return str(self.entry)
        question = self.questionnaire.questions.get(name)
        value = self.answers.get(name)
        if question is None or value is None:
            return ""
        if question.type == "yes_no":
            return _("Yes") if value == "yes" else _("No")
        if isinstance(value, list):
            return ", ".join(self.choice_label(question, item) for item in value if isinstance(item, str))
        if isinstance(value, str) and question.choices:
            return self.choice_label(question, value)
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def choice_label(self, question: Question, value: str) -> str:
        """The label of one of ``question``'s choices ("other" included)."""
        choice = question.choice(value)
        if choice is not None:
            return self(choice.label)
        if value == "other" and question.other is not None:
            return self(question.other)
        return value

    def issue(self, question: Question, issue: Issue) -> str:
        """What to tell the respondent about ``issue``: the questionnaire's own words first, then
        those of the question's plugin type (in this language, else the questionnaire's default
        one), then the platform's."""
        own = {"required": question.required_message, "pattern": issue.params.get("message"),
               "constraint": issue.params.get("message")}.get(issue.code)
        if own:
            return self(own)
        if question.plugin_type is not None:
            plugin_words = question.plugin_type.message(issue.code, issue.params, self.language,
                                                        self.questionnaire.default_language)
            if plugin_words is not None:
                return plugin_words
        return _message(issue)


def _message(issue: Issue) -> str:
    params = {key: value for key, value in issue.params.items() if isinstance(value, (int, float, str))}
    messages = {
        "required": lambda: _("Answer this question"),
        "not_a_choice": lambda: _("Choose one of the options"),
        "exclusive": lambda: _("This option cannot be combined with others"),
        "too_few_selected": lambda: _("Choose at least %(min)s options", **params),
        "too_many_selected": lambda: _("Choose at most %(max)s options", **params),
        "too_short": lambda: _("Write at least %(min)s characters", **params),
        "too_long": lambda: _("Write at most %(max)s characters", **params),
        "invalid_email": lambda: _("Enter an e-mail address like name@example.org"),
        "pattern": lambda: _("Check the format of this answer"),
        "not_an_integer": lambda: _("Enter a whole number"),
        "not_a_number": lambda: _("Enter a number"),
        "too_many_decimals": lambda: _("Use at most %(decimals)s decimal places", **params),
        "too_small": lambda: _("Enter a number of at least %(min)s", **params),
        "too_large": lambda: _("Enter a number of at most %(max)s", **params),
        "invalid_date": lambda: _("Enter a real date"),
        "too_early": lambda: _("Enter a date on or after %(min)s", **params),
        "too_late": lambda: _("Enter a date on or before %(max)s", **params),
        "incomplete_matrix": lambda: _("Answer every row"),
        "invalid_ranking": lambda: _("Give each option a different place"),
        "too_few_entries": lambda: _("Add at least %(min)s entries", **params),
        "too_many_entries": lambda: _("Add at most %(max)s entries", **params),
        "other_missing": lambda: _("Say what the other answer is"),
        "constraint": lambda: _("Check this answer against your earlier answers"),
    }
    return messages.get(issue.code, lambda: _("Check this answer"))()
