"""Build the frozen model from a schema-valid document, checking what a schema cannot:
ids, choice lists, translations, expressions and their order, patterns, bounds,
defaults and piping."""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from typing import Any

from survey_app.questionnaire.errors import Problem, pointer
from survey_app.questionnaire.expressions import Expression, ExpressionError, parse_expression
from survey_app.questionnaire.logic_checks import check_logic
from survey_app.questionnaire.model import (
    OTHER_VALUE,
    Choice,
    Constraint,
    Page,
    Question,
    Questionnaire,
)
from survey_app.questionnaire.patterns import compile_pattern
from survey_app.questionnaire.plugin_types import BUILT_IN_ONLY, QuestionTypeFailed, QuestionTypes
from survey_app.questionnaire.values import check_answer, describe, parse_date

#: Keys whose values are texts (a string or language -> string) wherever they appear.
TEXT_KEYS = frozenset({
    "title", "description", "thank_you", "label", "hint", "required_message", "pattern_message",
    "message", "min_label", "max_label", "entry_label", "other", "unit",
})
#: All expressions of a questionnaire together: enough for thousands of rules, and a
#: bound on the time checking them takes.
MAX_EXPRESSION_CHARACTERS = 100_000
# "__" is kept out of ids: form fields use it (``q__other``) and expressions refuse it.
_IDENTIFIER = re.compile(r"(?!.*__)[a-z][a-z0-9_]{0,62}")
_SURVEY_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_CHOICE_VALUE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
#: Keys of a question that are not type-specific options (plugin types cannot define them).
COMMON_KEYS = frozenset({
    "id", "type", "label", "hint", "required", "required_message", "show_if", "default", "choices",
    "rows", "other", "constraints", "expression", "questions",
})


def translation_problems(document: Any, languages: tuple[str, ...], path: tuple = ()) -> Iterator[Problem]:
    """Texts (under :data:`TEXT_KEYS`) that miss a declared language or name an undeclared one.

    Plugins call this for their own sections so that their messages read the same.
    """
    stack = [(document, path)]
    while stack:
        value, where = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                if key in TEXT_KEYS and isinstance(item, dict):
                    yield from _text_problems(item, languages, (*where, key))
                elif key != "default" and (key != "plugins" or where):  # a default is an answer, not a text
                    stack.append((item, (*where, key)))
        elif isinstance(value, list):
            stack.extend((item, (*where, index)) for index, item in enumerate(value))


def _text_problems(text: Mapping[str, str], languages: tuple[str, ...], where: tuple) -> Iterator[Problem]:
    for language in languages:
        wording = text.get(language)
        if not isinstance(wording, str) or not wording.strip():
            yield Problem(pointer(*where), f"missing translation for '{language}'")
    for language in text:
        if language not in languages:
            yield Problem(pointer(*where, language), f"'{language}' is not one of the questionnaire's languages {list(languages)}")


def build_questionnaire(document: dict[str, Any],
                        types: QuestionTypes = BUILT_IN_ONLY) -> tuple[Questionnaire | None, list[Problem]]:
    """Build the model (questions of plugin ``types`` carry their type); return it with no
    problems, or None with every problem found."""
    builder = _Builder(document, types)
    questionnaire = builder.build()
    return (None, sorted(builder.problems)) if builder.problems else (questionnaire, [])


class _Builder:
    """Walks the document once, collecting problems as it builds each object."""

    def __init__(self, document: dict[str, Any], types: QuestionTypes):
        self.document = document
        self.types = types
        self.problems: list[Problem] = []
        self.languages = tuple(document["languages"])
        self.ids: dict[str, str] = {}  # id -> path where first defined
        self.duplicate_ids = False
        self.expression_characters = 0
        self.shared_lists: dict[str, tuple[Choice, ...]] = {}
        self.expressions_too_long = False

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def build(self) -> Questionnaire:
        document = self.document
        if not _SURVEY_ID.fullmatch(document["id"]):
            self.problem("/id", f"{document['id']!r} is not a survey id: lowercase letters, digits and -")
        for index, language in enumerate(self.languages):
            if not _LANGUAGE.fullmatch(language):
                self.problem(f"/languages/{index}", f"{language!r} is not a language code such as 'kk' or 'uz-Latn'")
        default_language = document.get("default_language", self.languages[0])
        if default_language not in self.languages:
            self.problem("/default_language", f"'{default_language}' is not one of the languages {list(self.languages)}")
        self.problems.extend(translation_problems(document, self.languages))
        pages = tuple(self._page(page, index) for index, page in enumerate(document["pages"]))
        questionnaire = Questionnaire(
            id=document["id"], version=document["version"], languages=self.languages,
            default_language=default_language, title=document["title"],
            description=document.get("description"), thank_you=document.get("thank_you"),
            pages=pages, settings=document.get("settings", {}), plugins=document.get("plugins", {}),
            document=document,
        )
        if not self.duplicate_ids:  # the logic checks need each id to name one question
            self.problems.extend(check_logic(questionnaire))
        return questionnaire

    def _claim_id(self, identifier: str, path: str) -> None:
        if not _IDENTIFIER.fullmatch(identifier):  # the schema's "$" also lets a final newline through
            self.problem(path + "/id", f"{identifier!r} is not an id: a lowercase letter, then lowercase letters, "
                                       "digits or single underscores")
        if identifier in self.ids:
            self.problem(path + "/id", f"the id '{identifier}' is already used at {self.ids[identifier]}")
            self.duplicate_ids = True
        else:
            self.ids[identifier] = path

    def _expression(self, source: str | None, path: str) -> Expression | None:
        if source is None:
            return None
        self.expression_characters += len(source)
        if self.expression_characters > MAX_EXPRESSION_CHARACTERS:
            if not self.expressions_too_long:
                self.problem(path, f"the questionnaire's expressions are longer than {MAX_EXPRESSION_CHARACTERS:,} "
                                   "characters in all; simplify them (e.g. with calculated values)")
                self.expressions_too_long = True
            return None
        try:
            return parse_expression(source)
        except ExpressionError as error:
            self.problem(path, str(error))
            return None

    def _page(self, page: dict[str, Any], index: int) -> Page:
        path = pointer("pages", index)
        self._claim_id(page["id"], path)
        questions = tuple(
            self._question(question, f"{path}/questions/{number}", page["id"], None)
            for number, question in enumerate(page["questions"])
        )
        return Page(
            id=page["id"], path=path, title=page.get("title"), description=page.get("description"),
            show_if=self._expression(page.get("show_if"), path + "/show_if"), questions=questions,
        )

    def _question(self, raw: dict[str, Any], path: str, page_id: str, repeat_id: str | None) -> Question:
        self._claim_id(raw["id"], path)
        children = tuple(
            self._question(child, f"{path}/questions/{number}", page_id, raw["id"])
            for number, child in enumerate(raw.get("questions", ()))
        )
        question = Question(
            id=raw["id"], type=raw["type"], path=path, page_id=page_id, label=raw.get("label"),
            hint=raw.get("hint"), required=raw.get("required", False),
            required_message=raw.get("required_message"),
            show_if=self._expression(raw.get("show_if"), path + "/show_if"),
            default=raw.get("default"),
            choices=self._choices(raw, path), rows=self._rows(raw, path), other=raw.get("other"),
            constraints=tuple(
                Constraint(self._expression(c["expression"], f"{path}/constraints/{n}/expression"), c.get("message"))
                for n, c in enumerate(raw.get("constraints", ()))
            ),
            expression=self._expression(raw.get("expression"), path + "/expression"),
            questions=children, repeat_id=repeat_id,
            options={key: value for key, value in raw.items() if key not in COMMON_KEYS},
            plugin_type=self.types.get(raw["type"]),
        )
        if raw["type"] != "calculated" and "label" not in raw:
            self.problem(path, f"a {raw['type']} question needs a 'label'")
        if question.plugin_type is None:  # a plugin's keys mean what the plugin says, not what min/max mean here
            self._check_options(question, path)
        self._check_default(question, path)
        return question

    def _choices(self, raw: dict[str, Any], path: str) -> tuple[Choice, ...]:
        choices = raw.get("choices")
        if choices is None:
            return ()
        if isinstance(choices, str):
            lists = self.document.get("choice_lists", {})
            if choices not in lists:
                self.problem(path + "/choices", f"there is no choice list named '{choices}'" + _did_you_mean(choices, lists))
                return ()
            if choices not in self.shared_lists:
                self.shared_lists[choices] = self._choice_tuple(lists[choices], pointer("choice_lists", choices))
            result = self.shared_lists[choices]
        else:
            result = self._choice_tuple(choices, path + "/choices")
        if raw["type"] != "multiple_choice" and any(choice.exclusive for choice in result):
            self.problem(path + "/choices", "'exclusive' choices only make sense in a multiple_choice question")
        if raw.get("other") is not None and any(choice.value == OTHER_VALUE for choice in result):
            self.problem(path + "/choices", "'other' is reserved for the 'other' option; rename that choice")
        return result

    def _rows(self, raw: dict[str, Any], path: str) -> tuple[Choice, ...]:
        return self._choice_tuple(raw.get("rows", ()), path + "/rows")

    def _choice_tuple(self, raw_choices: list[dict[str, Any]], path: str) -> tuple[Choice, ...]:
        seen: set[str] = set()
        for index, choice in enumerate(raw_choices):
            if not _CHOICE_VALUE.fullmatch(choice["value"]):
                self.problem(f"{path}/{index}/value", f"{choice['value']!r} is not a choice value: letters, digits, _ . or -")
            if choice["value"] in seen:
                self.problem(f"{path}/{index}/value", f"duplicate choice value '{choice['value']}'")
            seen.add(choice["value"])
        return tuple(Choice(c["value"], c["label"], c.get("exclusive", False)) for c in raw_choices)

    def _check_options(self, question: Question, path: str) -> None:
        options = question.options
        for low, high in (("min", "max"), ("min_length", "max_length"), ("min_selected", "max_selected"), ("min_count", "max_count")):
            low_value, high_value = options.get(low), options.get(high)
            if question.type == "date":
                for key in (low, high):
                    if key in options and parse_date(options[key]) is None:
                        self.problem(f"{path}/{key}", "must be a date written YYYY-MM-DD")
                low_value, high_value = parse_date(options.get(low)), parse_date(options.get(high))
            if low_value is not None and high_value is not None and low_value > high_value:
                self.problem(f"{path}/{low}", f"'{low}' ({options[low]}) is greater than '{high}' ({options[high]})")
        if question.type == "rating" and options.get("min", 1) >= options.get("max", 5):
            self.problem(path + "/max", "a rating scale needs 'max' greater than 'min'")
        offered = len(question.choice_values())
        for key in ("min_selected", "max_selected"):
            if options.get(key, 0) > offered:
                self.problem(f"{path}/{key}", f"'{key}' is {options[key]} but the question offers only {offered} choices")
        if "pattern" in options:
            try:
                compile_pattern(options["pattern"])
            except ValueError as error:
                self.problem(path + "/pattern", str(error))

    def _check_default(self, question: Question, path: str) -> None:
        if question.default is None:
            return
        if not question.takes_answer or question.type == "repeat":
            self.problem(path + "/default", f"a {question.type} question cannot have a default")
            return
        if "pattern" in question.options and not _compiles(question.options["pattern"]):
            return  # the pattern's own problem is reported; the default cannot be checked against it
        try:
            issue = check_answer(question, question.default)
        except QuestionTypeFailed as error:
            self.problem(path + "/default", f"the default could not be checked: {error} ({error.__cause__!r})")
            return
        if issue is not None:
            self.problem(path + "/default", f"the default is not a valid answer: {describe(issue, question)}")


def _compiles(pattern: str) -> bool:
    try:
        compile_pattern(pattern)
    except ValueError:
        return False
    return True


def _did_you_mean(name: str, known: Mapping[str, Any]) -> str:
    guess = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{guess[0]}'?)" if guess else ""
