"""A loaded questionnaire: frozen objects built from a validated JSON document.

Build these with :func:`survey_app.questionnaire.load_questionnaire`, which checks
the document first; the constructors here trust their input.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from survey_app.questionnaire.expressions import Expression
from survey_app.questionnaire.texts import Text

if TYPE_CHECKING:
    from survey_app.questionnaire.plugin_types import QuestionType

#: Question types whose answer is one choice value.
SINGLE_VALUE_CHOICE_TYPES = frozenset({"single_choice", "yes_no"})
#: Question types that offer a list of choices.
CHOICE_TYPES = frozenset({"single_choice", "multiple_choice", "ranking", "matrix"})
#: Question types that take no answer from the respondent.
DISPLAY_ONLY_TYPES = frozenset({"note", "calculated"})
YES_NO_VALUES = ("yes", "no")
OTHER_VALUE = "other"


@dataclass(frozen=True)
class Choice:
    """One choice (or matrix row): the stored ``value`` and the shown ``label``."""

    value: str
    label: Text
    exclusive: bool = False


@dataclass(frozen=True)
class Constraint:
    """A check that must hold when the question is answered."""

    expression: Expression
    message: Text | None


@dataclass(frozen=True)
class Question:
    """One question; ``options`` holds the type-specific keys (min, max, pattern...);
    ``plugin_type`` is the type's definition when a plugin added the type."""

    id: str
    type: str
    path: str
    page_id: str
    label: Text | None = None
    hint: Text | None = None
    required: bool = False
    required_message: Text | None = None
    show_if: Expression | None = None
    default: Any = None
    choices: tuple[Choice, ...] = ()
    rows: tuple[Choice, ...] = ()
    other: Text | None = None
    constraints: tuple[Constraint, ...] = ()
    expression: Expression | None = None
    questions: tuple[Question, ...] = ()
    repeat_id: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    plugin_type: QuestionType | None = None

    @property
    def takes_answer(self) -> bool:
        """Whether the respondent answers this question (notes and calculations are not answered)."""
        return self.type not in DISPLAY_ONLY_TYPES

    def choice(self, value: str) -> Choice | None:
        """The choice with ``value``, if this question offers it."""
        return next((choice for choice in self.choices if choice.value == value), None)

    def choice_values(self) -> tuple[str, ...]:
        """Every value a respondent may choose, "other" included when offered."""
        values = tuple(choice.value for choice in self.choices)
        return values + (OTHER_VALUE,) if self.other is not None else values


@dataclass(frozen=True)
class Page:
    """A page of questions, shown unless its ``show_if`` is false."""

    id: str
    path: str
    title: Text | None
    description: Text | None
    show_if: Expression | None
    questions: tuple[Question, ...]


@dataclass(frozen=True, eq=False)
class Questionnaire:
    """A whole questionnaire; ``document`` is the JSON it was built from.

    Compared and hashed by identity, so per-questionnaire caches can key on it.
    """

    id: str
    version: str
    languages: tuple[str, ...]
    default_language: str
    title: Text
    description: Text | None
    thank_you: Text | None
    pages: tuple[Page, ...]
    settings: Mapping[str, Any]
    plugins: Mapping[str, Any]
    document: Mapping[str, Any]
    questions: Mapping[str, Question] = field(init=False)

    def __post_init__(self) -> None:
        every = {question.id: question for question in self._walk()}
        object.__setattr__(self, "questions", MappingProxyType(every))

    def _walk(self) -> Iterator[Question]:
        for page in self.pages:
            for question in page.questions:
                yield question
                yield from question.questions

    def all_questions(self) -> Iterator[Question]:
        """Every question in order, repeat-group children right after their group."""
        return iter(self.questions.values())

    def page(self, page_id: str) -> Page | None:
        """The page with ``page_id``, if there is one."""
        return next((page for page in self.pages if page.id == page_id), None)

    def setting(self, name: str) -> Any:
        """A ``settings`` value, with the format's default when the file omits it."""
        return self.settings.get(name, DEFAULT_SETTINGS[name])


DEFAULT_SETTINGS: Mapping[str, Any] = MappingProxyType(
    {"allow_resume": True, "show_review": True, "record_ip": False, "record_user_agent": False}
)
