"""WTForms forms built from a page's questions, and the answers they parse into.

Each question becomes a WTForms field (a matrix or a ranking a sub-form, a repeat
group a list of sub-forms) that only parses what was posted; whether the answer
is acceptable is decided by :mod:`survey_app.responses.validation`, the same
rules the final submit and the loader use.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    Field, FieldList, Form, FormField, HiddenField, RadioField, SelectChoice, SelectField, SelectMultipleField,
    StringField, TextAreaField,
)
from wtforms.widgets import CheckboxInput

from survey_app.questionnaire.model import YES_NO_VALUES, Question
from survey_app.respondent.wording import Wording
from survey_app.responses.logic import other_key
from survey_app.responses.validation import Unparsable

OTHER_SUFFIX = "__other"


class _Lenient:
    """Choice fields that leave checking the value to the questionnaire's rules."""

    def pre_validate(self, form) -> None:  # the value is checked by check_answer
        pass


class ChoiceField(_Lenient, RadioField):
    """One choice, as radio buttons."""


class DropdownField(_Lenient, SelectField):
    """One choice, as a drop-down list."""


class ChoicesField(_Lenient, SelectMultipleField):
    """Several choices, as checkboxes."""

    option_widget = CheckboxInput()


class CodeForm(FlaskForm):
    """The one-time access code of a closed survey."""

    code = StringField(_l("Access code"), render_kw={"autocomplete": "one-time-code", "autocapitalize": "characters",
                                                     "spellcheck": "false", "maxlength": 40})


class PageForm(FlaskForm):
    """The form of one page; ``submission_id`` ties every post to one response."""

    submission_id = HiddenField()


def _choices(question: Question, wording: Wording) -> list[SelectChoice]:
    if question.type == "yes_no":
        return [SelectChoice("yes", _("Yes")), SelectChoice("no", _("No"))]
    if question.type == "rating":
        low, high = question.options.get("min", 1), question.options.get("max", 5)
        return [SelectChoice(str(point), str(point)) for point in range(low, high + 1)]
    choices = [SelectChoice(choice.value, wording(choice.label)) for choice in question.choices]
    if question.other is not None:
        choices.append(SelectChoice("other", wording(question.other)))
    return choices


def _field(question: Question, wording: Wording):
    """The unbound WTForms field for one question."""
    label = wording(question.label)
    kind = question.type
    if kind in ("single_choice", "yes_no", "rating"):
        choices = _choices(question, wording)
        if kind == "single_choice" and question.options.get("display") == "dropdown":
            return DropdownField(label, choices=[SelectChoice("", _("Choose…")), *choices])
        return ChoiceField(label, choices=choices)
    if kind == "multiple_choice":
        return ChoicesField(label, choices=_choices(question, wording))
    if kind == "long_text":
        return TextAreaField(label)
    if kind == "matrix":
        rows = {row.value: ChoiceField(wording(row.label), choices=_choices(question, wording))
                for row in question.rows}
        return FormField(type("MatrixForm", (Form,), rows), label=label, separator=".")
    if kind == "ranking":
        places = [SelectChoice("", "–")] + [SelectChoice(str(n), str(n)) for n in range(1, len(question.choices) + 1)]
        ranks = {choice.value: DropdownField(wording(choice.label), choices=places)
                 for choice in question.choices}
        return FormField(type("RankingForm", (Form,), ranks), label=label, separator=".")
    if kind == "repeat":
        entry = type("EntryForm", (Form,), _fields(question.questions, wording))
        return FieldList(FormField(entry, separator="."), label=label, separator=".")
    return StringField(label)  # text, email, integer, decimal, date: parsed in answers_from()


def _fields(questions: tuple[Question, ...], wording: Wording) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for question in questions:
        if not question.takes_answer:
            continue
        fields[question.id] = _field(question, wording)
        if question.other is not None:
            fields[question.id + OTHER_SUFFIX] = StringField(_("Please specify"))
    return fields


def page_form(questions: tuple[Question, ...], wording: Wording, formdata=None, **kwargs) -> PageForm:
    """A bound form for ``questions``, from ``formdata`` (a POST) or initial data."""
    form_class = type("QuestionsForm", (PageForm,), _fields(questions, wording))
    return form_class(formdata=formdata, **kwargs)


def form_data(questions: tuple[Question, ...], answers: Mapping[str, Any]) -> dict[str, Any]:
    """The initial field data that shows stored ``answers`` in a form."""
    data: dict[str, Any] = {}
    for question in questions:
        value = answers.get(question.id, question.default)
        if value is None or not question.takes_answer:
            continue
        if question.type == "ranking":
            data[question.id] = {choice: str(rank) for rank, choice in enumerate(value, start=1)}
        elif question.type == "repeat":
            data[question.id] = [form_data(question.questions, entry) for entry in value]
        elif question.type in ("integer", "decimal", "rating"):
            data[question.id] = _number_text(value)
        else:
            data[question.id] = value
        if answers.get(other_key(question.id)):
            data[question.id + OTHER_SUFFIX] = answers[other_key(question.id)]
    return data


def _number_text(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def anchor(field: Field) -> str:
    """The id of the input an error summary should link to: a group's first option."""
    if isinstance(field, FormField):
        return anchor(next(iter(field.form)))
    if isinstance(field, FieldList):
        return field.entries[0].id if field.entries else field.id
    if isinstance(field, (ChoiceField, ChoicesField)):
        return f"{field.id}-0"
    return field.id


def answers_from(form: Form, questions: tuple[Question, ...]) -> dict[str, Any]:
    """The answers a submitted form holds (None for blank); text that does not
    parse as the question's type becomes an :class:`Unparsable`."""
    answers: dict[str, Any] = {}
    for question in questions:
        if not question.takes_answer:
            continue
        answers[question.id] = _value(question, form[question.id])
        if question.other is not None:
            other = (form[question.id + OTHER_SUFFIX].data or "").strip()
            answers[other_key(question.id)] = other or None
    return answers


def _value(question: Question, field: Field) -> Any:
    data = field.data
    match question.type:
        case "multiple_choice":
            return list(dict.fromkeys(data or [])) or None
        case "matrix":
            cells = {row: cell for row, cell in (data or {}).items() if cell not in (None, "", "None")}
            return cells or None
        case "ranking":
            return _ranking(data or {})
        case "repeat":
            return [answers_from(entry, question.questions) for entry in field.entries]
        case "integer" | "rating":
            return _number(data, integer=True)
        case "decimal":
            return _number(data, integer=False)
        case _:
            text = (data or "").strip() if isinstance(data, str) else data
            return text if text not in ("", "None") else None


def _number(text: str | None, integer: bool) -> int | float | Unparsable | None:
    text = (text or "").strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
    if not text or text == "None":
        return None
    try:
        number = float(text)
    except ValueError:
        return Unparsable(text, "not_an_integer" if integer else "not_a_number")
    if number != number or number in (float("inf"), float("-inf")):
        return Unparsable(text, "not_a_number")
    if integer:
        return int(number) if number.is_integer() else Unparsable(text, "not_an_integer")
    return int(number) if number.is_integer() and "." not in text else number


def _ranking(ranks: Mapping[str, str]) -> list[str] | Unparsable | None:
    chosen = {choice: rank for choice, rank in ranks.items() if rank not in (None, "", "None")}
    if not chosen:
        return None
    if len(chosen) != len(ranks) or len(set(chosen.values())) != len(chosen):
        return Unparsable("", "invalid_ranking")
    return sorted(chosen, key=lambda choice: int(chosen[choice]))
