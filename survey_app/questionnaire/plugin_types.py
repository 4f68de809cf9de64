"""Question types added by plugins: what one brings, and the set a questionnaire is loaded with.

A plugin returns :class:`QuestionType` objects from its ``register_question_types``
hook; the app collects them once at start-up into a :class:`QuestionTypes`,
which the loader receives. Each question of a plugin type then carries its
type object (``Question.plugin_type``), so every place that handles answers
(checks, forms, storage, exports, demo data) asks the question, never a global.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from survey_app.questionnaire.texts import Text, localize

if TYPE_CHECKING:
    from survey_app.questionnaire.model import Question
    from survey_app.questionnaire.values import Issue

#: What an answer is, for expressions, storage, results and exports: a string, a number
#: (int or float), or an ISO date string ``YYYY-MM-DD``.
VALUE_KINDS = ("text", "number", "date")
#: Keys of a plugin type's JSON Schema: the type-specific properties and which of them are required.
SCHEMA_KEYS = frozenset({"properties", "required"})


@dataclass(frozen=True)
class FieldInput:
    """The input a plugin type draws: its ``name`` and ``id``, the text it shows and the
    accessibility attributes the core computed (hint and error descriptions)."""

    name: str
    id: str
    value: str  # what the respondent typed (posted again after an error), or the stored answer as text
    invalid: bool  # the answer has an error, shown by the core above the input
    language: str
    described_by: str  # ids for aria-describedby ("" when there is no hint and no error)

    @property
    def attributes(self) -> Markup:
        """`` id="..." name="..."`` plus ``aria-describedby`` and ``aria-invalid`` when they apply, escaped."""
        html = Markup(' id="{}" name="{}"').format(self.id, self.name)
        if self.described_by:
            html += Markup(' aria-describedby="{}"').format(self.described_by)
        if self.invalid:
            html += Markup(' aria-invalid="true"')
        return html


@dataclass(frozen=True)
class ExportColumn:
    """One column the exports write for a question of a plugin type.

    The column's key is ``<question id>.<suffix>`` (the question id alone when
    ``suffix`` is empty); ``kind`` is "text", "number" or "date"; ``cell`` turns
    the answer value into what the cell holds (a string, a number or a
    ``datetime.date``; None for a blank).
    """

    suffix: str
    header: Text
    kind: str
    cell: Callable[[Any], Any]


@dataclass(frozen=True, eq=False)
class QuestionType:
    """Everything a question type from a plugin needs (see ``register_question_types``).

    * ``name``: the ``type`` questionnaires write; ``label``: its name in the designer's menu.
    * ``schema``: JSON Schema of the type's own keys, ``{"properties": {...}, "required": [...]}``;
      properties may refer to the core's definitions, e.g. ``{"$ref": "#/$defs/text"}``.
    * ``value_kind``: "text", "number" or "date" (see :data:`VALUE_KINDS`).
    * ``parse(question, text)``: the posted text (stripped, never empty) as an answer value, or an
      :class:`~survey_app.responses.validation.Unparsable` with an issue code.
    * ``check(question, value)``: an :class:`~survey_app.questionnaire.values.Issue`, or None when
      the answer is acceptable; called only with values of the right kind.
    * ``messages``: issue code -> message (a text, ``%(name)s`` filled from the issue's parameters);
      codes without one get the core's message.
    * ``render(question, field)``: the ``Markup`` of the input, drawn inside the core's label and errors.
    * ``export_columns``: the columns exports write (default: one, of the value's kind).
    * ``example(question, rng)``: a random acceptable answer for demo data (None: optional questions
      are left unanswered).
    """

    name: str
    label: Text
    parse: Callable[[Question, str], Any]
    render: Callable[[Question, FieldInput], Markup]
    value_kind: str = "text"
    schema: Mapping[str, Any] = field(default_factory=dict)
    check: Callable[[Question, Any], Issue | None] | None = None
    messages: Mapping[str, Text] = field(default_factory=dict)
    export_columns: tuple[ExportColumn, ...] = ()
    example: Callable[[Question, random.Random], Any] | None = None

    @property
    def column(self) -> str:
        """The ``Answer`` column that stores the value: "number" or "text"."""
        return "number" if self.value_kind == "number" else "text"

    def columns(self) -> tuple[ExportColumn, ...]:
        """The export columns: the type's own, else one column holding the value."""
        return self.export_columns or (ExportColumn("", "", self.value_kind, _as_cell(self.value_kind)),)

    def input_text(self, value: Any) -> str:
        """A stored answer as the text its input shows (whole numbers without ``.0``)."""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def message(self, code: str, params: Mapping[str, Any], language: str, fallback: str) -> str | None:
        """The type's own message for issue ``code`` in ``language`` (else ``fallback``), or None."""
        text = self.messages.get(code)
        if text is None:
            return None
        wording = localize(text, language, fallback)
        scalars = {key: value for key, value in params.items() if isinstance(value, (int, float, str))}
        try:
            return wording % scalars
        except (KeyError, TypeError, ValueError):  # a message with a stray % or a missing parameter
            return wording


class QuestionTypeFailed(Exception):
    """A plugin's question type raised while parsing, checking or drawing an answer.

    The respondent sees the friendly "not available" page (their earlier pages are
    saved); the admins find the plugin's traceback in the log.
    """

    def __init__(self, kind: QuestionType, step: str):
        super().__init__(f"the question type '{kind.name}' failed to {step} an answer")


def guarded(kind: QuestionType, step: str, function: Callable[..., Any], *arguments: Any) -> Any:
    """``function(*arguments)``, with any exception it raises turned into :class:`QuestionTypeFailed`."""
    try:
        return function(*arguments)
    except Exception as error:
        raise QuestionTypeFailed(kind, step) from error


def _as_cell(kind: str) -> Callable[[Any], Any]:
    if kind == "date":
        return lambda value: date.fromisoformat(value)
    return lambda value: value


class QuestionTypes(Mapping[str, QuestionType]):
    """The question types plugins added, by name; empty when only the built-in ones exist.

    Equal (and hashed alike) when they hold the very same type objects, so caches of
    schemas and loaded questionnaires are shared by apps with the same plugins.
    """

    def __init__(self, types: Mapping[str, QuestionType] | None = None):
        self._types = dict(types or {})
        self._key = tuple(sorted((name, id(kind)) for name, kind in self._types.items()))

    def __getitem__(self, name: str) -> QuestionType:
        return self._types[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._types)

    def __len__(self) -> int:
        return len(self._types)

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QuestionTypes) and self._key == other._key

    def __repr__(self) -> str:
        return f"QuestionTypes({', '.join(self._types) or 'built-in only'})"


#: No question types from plugins.
BUILT_IN_ONLY = QuestionTypes()
