"""The ``plugins.breakdowns`` section: which questions results can be broken down by.

    "breakdowns": {"gender": "gender", "variables": ["group", "district", "age_group"]}

``gender`` (optional) names the respondent's gender question and ``variables``
(optional) lists further questions; together they name at least one. Each must
be a single_choice or yes_no question outside repeat groups, named once.
:func:`find_problems` reports every problem as a ``Problem`` whose path is a
JSON pointer under ``/plugins/breakdowns``; it never raises, whatever the shape.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Any

from survey_app.questionnaire import Problem, Questionnaire
from survey_app.questionnaire.errors import pointer as json_pointer
from survey_app.questionnaire.model import SINGLE_VALUE_CHOICE_TYPES

SECTION = "breakdowns"
KEYS = ("gender", "variables")


def pointer(*parts: str | int) -> str:
    """A JSON pointer under ``/plugins/breakdowns``."""
    return json_pointer("plugins", SECTION, *parts)


def variables(questionnaire: Questionnaire) -> tuple[str, ...]:
    """The questions results can be broken down by, gender first; ids that are not usable are left out."""
    offered: list[str] = []
    for _, question_id in _named(questionnaire.plugins.get(SECTION)):
        if question_id not in offered and not _question_problem(questionnaire, question_id):
            offered.append(question_id)
    return tuple(offered)


def find_problems(questionnaire: Questionnaire) -> list[Problem]:
    """Every problem of the section (none when the questionnaire has no such section)."""
    section = questionnaire.plugins.get(SECTION)
    if section is None:
        return []
    if not isinstance(section, dict):
        return [Problem(pointer(), f"must be an object, not {_json_type(section)}")]
    problems = [Problem(pointer(key), f"unknown key '{_short(key)}'{_did_you_mean(key, KEYS)}")
                for key in section if key not in KEYS]
    if "gender" in section and not isinstance(section["gender"], str):
        problems.append(Problem(pointer("gender"), f"must be a question id, not {_json_type(section['gender'])}"))
    listed = section.get("variables", [])
    if not isinstance(listed, list):
        problems.append(Problem(pointer("variables"), f"must be a list of question ids, not {_json_type(listed)}"))
    else:
        problems.extend(Problem(pointer("variables", index), f"must be a question id, not {_json_type(value)}")
                        for index, value in enumerate(listed) if not isinstance(value, str))
    first: dict[str, str] = {}
    for where, question_id in _named(section):
        if question_id in first:
            problems.append(Problem(where, f"'{_short(question_id)}' is already named at {first[question_id]}"))
            continue
        first[question_id] = where
        message = _question_problem(questionnaire, question_id)
        if message:
            problems.append(Problem(where, message))
    if not first and "gender" not in section and isinstance(listed, list):
        problems.append(Problem(pointer(), "name at least one question to break results down by, "
                                           "in 'gender' or 'variables'"))
    return problems


def _named(section: Any) -> Iterator[tuple[str, str]]:
    """(pointer, question id) of every id the section names, in order; values of the wrong type are skipped."""
    if not isinstance(section, dict):
        return
    if isinstance(section.get("gender"), str):
        yield pointer("gender"), section["gender"]
    listed = section.get("variables")
    if isinstance(listed, list):
        for index, value in enumerate(listed):
            if isinstance(value, str):
                yield pointer("variables", index), value


def _question_problem(questionnaire: Questionnaire, question_id: str) -> str | None:
    """Why ``question_id`` cannot be a breakdown variable, or None if it can."""
    question = questionnaire.questions.get(question_id)
    if question is None:
        return f"unknown question '{_short(question_id)}'{_did_you_mean(question_id, questionnaire.questions)}"
    if question.type not in SINGLE_VALUE_CHOICE_TYPES:
        return (f"'{question_id}' is of type {question.type}; results can be broken down only by "
                "a single_choice or yes_no question")
    if question.repeat_id is not None:
        return (f"'{question_id}' is inside the repeat group '{question.repeat_id}'; results can be broken down "
                "only by a question outside repeat groups")
    return None


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    guess = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{guess[0]}'?)" if guess else ""


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _json_type(value: Any) -> str:
    for python_type, name in ((bool, "true/false"), (dict, "an object"), (list, "a list"), (str, "a string"),
                              (int, "a number"), (float, "a number"), (type(None), "null")):
        if isinstance(value, python_type):
            return name
    return type(value).__name__
