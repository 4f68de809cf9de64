"""WTForms forms built from a page's questions, and the answers they parse into.

Each question becomes a WTForms field (a matrix or a ranking a sub-form, a repeat
group a list of sub-forms) that only parses what was posted; whether the answer
is acceptable is decided by :mod:`survey_app.responses.validation`, the same
rules the final submit and the loader use.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, FieldList, Form, FormField, HiddenField, StringField

from survey_app.questionnaire.model import Page, Question, Questionnaire
from survey_app.questionnaire.plugin_types import guarded
from survey_app.respondent.wording import Wording
from survey_app.responses.logic import other_key
from survey_app.responses.validation import Unparsable

OTHER_SUFFIX = "__other"


class ValuesField(Field):
    """Several values under one name (checkboxes): the posted values, in order."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = list(valuelist)


class CodeForm(FlaskForm):
    """The one-time access code of a closed survey."""

    code = StringField(_l("Access code"), render_kw={"autocomplete": "one-time-code", "autocapitalize": "characters",
                                                     "spellcheck": "false", "maxlength": 40})


class PageForm(FlaskForm):
    """The form of one page; ``submission_id`` ties every post to one response."""

    submission_id = HiddenField()


def _field(question: Question):
    """The unbound WTForms field that reads one question's posted value(s)."""
    kind = question.type
    if kind == "multiple_choice":
        return ValuesField()
    if kind == "matrix":
        return FormField(type("MatrixForm", (Form,), {row.value: StringField() for row in question.rows}), separator=".")
    if kind == "ranking":
        return FormField(type("RankingForm", (Form,), {c.value: StringField() for c in question.choices}), separator=".")
    if kind == "repeat":
        return FieldList(FormField(type("EntryForm", (Form,), _fields(question.questions)), separator="."), separator=".")
    return StringField()  # one value: a choice, a text, a number or a date, read in answers_from()


def _fields(questions: tuple[Question, ...]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for question in questions:
        if not question.takes_answer:
            continue
        fields[question.id] = _field(question)
        if question.other is not None:
            fields[question.id + OTHER_SUFFIX] = StringField()
    return fields


@lru_cache(maxsize=1024)
def _form_class(questionnaire: Questionnaire, page_id: str) -> type[PageForm]:
    """The form class of one page, built once per loaded questionnaire."""
    page = questionnaire.page(page_id)
    return type("QuestionsForm", (PageForm,), _fields(page.questions))


def page_form(questionnaire: Questionnaire, page: Page, formdata=None, **kwargs) -> PageForm:
    """A bound form for the page's questions, from ``formdata`` (a POST) or initial data.

    The fields only read what was posted; labels and options are drawn by the
    templates in the respondent's language.
    """
    return _form_class(questionnaire, page.id)(formdata=formdata, **kwargs)


def options(question: Question, wording: Wording) -> list[tuple[str, str]]:
    """The (value, label) pairs a choice-like question offers, in the respondent's language."""
    if question.type == "yes_no":
        return [("yes", _("Yes")), ("no", _("No"))]
    if question.type == "rating":
        return [(str(point), str(point)) for point in range(question.options.get("min", 1), question.options.get("max", 5) + 1)]
    pairs = [(choice.value, wording(choice.label)) for choice in question.choices]
    if question.other is not None:
        pairs.append(("other", wording(question.other)))
    return pairs


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
        elif question.plugin_type is not None:
            data[question.id] = question.plugin_type.input_text(value)
        elif question.type in ("integer", "decimal", "rating"):
            data[question.id] = _number_text(value)
        else:
            data[question.id] = value
        if answers.get(other_key(question.id)):
            data[question.id + OTHER_SUFFIX] = answers[other_key(question.id)]
    return data


def _number_text(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def anchor(question: Question, field: Field) -> str:
    """The id of the input an error summary should link to: a group's first option."""
    if isinstance(field, FormField):
        return f"{next(iter(field.form)).id}-0" if question.type == "matrix" else next(iter(field.form)).id
    if isinstance(field, FieldList):
        return field.entries[0].id if field.entries else field.id
    if has_radio_buttons(question) or question.type == "multiple_choice":
        return f"{field.id}-0"
    return field.id


def has_radio_buttons(question: Question) -> bool:
    """Whether the question is drawn as radio buttons (a single choice may ask for a drop-down)."""
    if question.type == "single_choice":
        return question.options.get("display") != "dropdown"
    return question.type in ("yes_no", "rating")


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
    if question.plugin_type is not None:
        text = (data or "").strip() if isinstance(data, str) else ""
        return guarded(question.plugin_type, "parse", question.plugin_type.parse, question, text) if text else None
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
