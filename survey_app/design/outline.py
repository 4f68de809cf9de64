"""The questionnaire as an outline of pages and questions, and the small edits made on it.

Pure functions on the parsed JSON document (a dict), so that moving, adding or
deleting a question needs no JSON editing at all. They never change their
argument: each edit returns a new document. They accept a document that does
not load yet (the draft may be half-written) and only need its ``pages`` to be a
list of objects with ``questions`` lists; anything else raises
:class:`OutlineError` with a message for the researcher.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

#: Every built-in question type, in the order the "add a question" menu offers them (plugins' types follow).
QUESTION_TYPES = ("single_choice", "multiple_choice", "yes_no", "text", "long_text", "email", "integer", "decimal",
                  "date", "rating", "matrix", "ranking", "note", "calculated", "repeat")
CHOICE_COUNT = {"single_choice": 3, "multiple_choice": 3, "ranking": 3, "matrix": 3}

#: Placeholder texts of new questions in the languages the platform speaks (others get English).
_PLACEHOLDERS = {
    "question": {"kk": "Жаңа сұрақ", "ru": "Новый вопрос", "en": "New question"},
    "note": {"kk": "Респондентке арналған мәтін", "ru": "Текст для респондента", "en": "Text for the respondent"},
    "calculated": {"kk": "Есептелетін мән", "ru": "Вычисляемое значение", "en": "Calculated value"},
    "group": {"kk": "Қайталанатын топ", "ru": "Повторяющаяся группа", "en": "Repeated group"},
    "entry": {"kk": "{n}-жазба", "ru": "Запись {n}", "en": "Entry {n}"},
    "option": {"kk": "{n}-нұсқа", "ru": "Вариант {n}", "en": "Option {n}"},
    "row": {"kk": "{n}-жол", "ru": "Строка {n}", "en": "Row {n}"},
    "page": {"kk": "Жаңа бет", "ru": "Новая страница", "en": "New page"},
}
_QUESTION_PATH = re.compile(r"^/pages/(\d{1,6})/questions/(\d{1,6})(?:/questions/(\d{1,6}))?$")


class OutlineError(ValueError):
    """An edit that cannot be made; ``code`` says why (the view words it for the researcher)."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


@dataclass
class OutlineQuestion:
    """A question as the outline lists it."""

    path: str  # its JSON pointer
    id: str
    type: str
    label: str
    first: bool  # can it move up / down?
    last: bool
    children: list[OutlineQuestion] = field(default_factory=list)


@dataclass
class OutlinePage:
    """A page as the outline lists it."""

    path: str
    index: int
    id: str
    title: str
    questions: list[OutlineQuestion]


def languages(document: Any) -> list[str]:
    """The document's declared language codes (strings only; may be empty)."""
    declared = document.get("languages") if isinstance(document, dict) else None
    return [code for code in declared if isinstance(code, str)] if isinstance(declared, list) else []


def default_language(document: Any) -> str | None:
    """The document's default language, as the loader would choose it."""
    chosen = document.get("default_language") if isinstance(document, dict) else None
    declared = languages(document)
    return chosen if isinstance(chosen, str) else (declared[0] if declared else None)


def text_of(document: Any, text: Any, language: str | None = None) -> str:
    """A text field of a (possibly invalid) document in ``language``, else the default, else any."""
    if isinstance(text, str):
        return text
    if not isinstance(text, dict):
        return ""
    for code in (language, default_language(document)):
        if isinstance(text.get(code), str):
            return text[code]
    return next((value for value in text.values() if isinstance(value, str)), "")


def _pages(document: Any) -> list:
    pages = document.get("pages") if isinstance(document, dict) else None
    if not isinstance(pages, list):
        raise OutlineError("no_pages")
    return pages


def _questions(container: Any) -> list:
    questions = container.get("questions") if isinstance(container, dict) else None
    if not isinstance(questions, list):
        raise OutlineError("no_questions")
    return questions


def outline(document: Any, language: str | None = None) -> list[OutlinePage]:
    """The pages and questions of ``document``; raises OutlineError if it has no page list."""
    pages = []
    for index, page in enumerate(_pages(document)):
        if not isinstance(page, dict):
            continue
        path = f"/pages/{index}"
        questions = page.get("questions") if isinstance(page.get("questions"), list) else []
        pages.append(OutlinePage(path, index, _string(page.get("id")), text_of(document, page.get("title"), language),
                                 list(_outline_questions(document, questions, path, language))))
    return pages


def _outline_questions(document: Any, questions: list, parent: str, language: str | None) -> Iterator[OutlineQuestion]:
    for index, question in enumerate(questions):
        if not isinstance(question, dict):
            continue
        path = f"{parent}/questions/{index}"
        item = OutlineQuestion(path, _string(question.get("id")), _string(question.get("type")),
                               text_of(document, question.get("label"), language),
                               first=index == 0, last=index == len(questions) - 1)
        if isinstance(question.get("questions"), list) and parent.count("/questions/") == 0:
            item.children = list(_outline_questions(document, question["questions"], path, language))
        yield item


def _string(value: Any) -> str:
    return value if isinstance(value, str) else ""


# ---------------------------------------------------------------- new questions


def all_ids(document: Any) -> set[str]:
    """Every page and question id in use (the loader wants them unique together)."""
    ids: set[str] = set()
    pages = document.get("pages") if isinstance(document, dict) else None
    for page in pages if isinstance(pages, list) else ():
        if not isinstance(page, dict):
            continue
        ids.add(_string(page.get("id")))
        stack = list(page.get("questions") or []) if isinstance(page.get("questions"), list) else []
        while stack:
            question = stack.pop()
            if isinstance(question, dict):
                ids.add(_string(question.get("id")))
                if isinstance(question.get("questions"), list):
                    stack.extend(question["questions"])
    return ids


def new_id(document: Any, prefix: str, taken: set[str] | None = None) -> str:
    """The first ``prefix_N`` id not used in ``document`` (nor in ``taken``)."""
    used = all_ids(document) | (taken or set())
    number = 1
    while f"{prefix}_{number}" in used:
        number += 1
    return f"{prefix}_{number}"


def placeholder(document: Any, name: str, number: int | None = None) -> str | dict[str, str]:
    """A placeholder text in every declared language (a plain string if none is declared)."""
    texts = _PLACEHOLDERS[name]

    def one(code: str) -> str:
        text = texts.get(code.split("-")[0], texts["en"])
        return text.replace("{n}", str(number)) if number is not None else text

    declared = languages(document)
    if not declared:
        return one("en")
    return {code: one(code) for code in dict.fromkeys(declared)}


def _choices(document: Any, count: int, name: str = "option", prefix: str = "option") -> list[dict[str, Any]]:
    return [{"value": f"{prefix}_{n}", "label": placeholder(document, name, n)} for n in range(1, count + 1)]


def skeleton(kind: str, document: Any, taken: set[str] | None = None,
             plugin_types: Collection[str] = ()) -> dict[str, Any]:
    """A new question of type ``kind`` (built-in, or one of the installed ``plugin_types``,
    which starts with an id and a label only) that loads as it is, with an id not yet used."""
    if kind not in QUESTION_TYPES and kind not in plugin_types:
        raise OutlineError("unknown_type")
    question: dict[str, Any] = {"id": new_id(document, "question", taken), "type": kind}
    if kind == "calculated":
        question["label"] = placeholder(document, "calculated")
        question["expression"] = "0"
        return question
    question["label"] = placeholder(document, "note" if kind == "note" else "group" if kind == "repeat" else "question")
    if kind in ("single_choice", "multiple_choice", "ranking"):
        question["choices"] = _choices(document, CHOICE_COUNT[kind])
    elif kind == "matrix":
        question["rows"] = _choices(document, 2, "row", "row")
        question["choices"] = _choices(document, CHOICE_COUNT[kind])
    elif kind == "rating":
        question.update({"min": 1, "max": 5})
    elif kind == "repeat":
        child_taken = {question["id"], *(taken or set())}
        question["entry_label"] = placeholder(document, "entry")
        question["questions"] = [{"id": new_id(document, "question", child_taken), "type": "text",
                                  "label": placeholder(document, "question")}]
    return question


# ---------------------------------------------------------------- edits


def question_path(path: str) -> tuple[int, int, int | None]:
    """(page, question, child) indexes of a question's pointer; OutlineError if it is not one."""
    match = _QUESTION_PATH.match(path or "")
    if not match:
        raise OutlineError("not_a_question")
    page, question, child = match.groups()
    return int(page), int(question), int(child) if child is not None else None


def _locate(document: dict, path: str) -> tuple[list, int, list]:
    """The list holding the question at ``path``, its index there, and the page list."""
    page_index, question_index, child_index = question_path(path)
    pages = _pages(document)
    if page_index >= len(pages):
        raise OutlineError("not_a_question")
    questions = _questions(pages[page_index])
    if question_index >= len(questions):
        raise OutlineError("not_a_question")
    if child_index is None:
        return questions, question_index, pages
    children = _questions(questions[question_index])
    if child_index >= len(children):
        raise OutlineError("not_a_question")
    return children, child_index, pages


def insert_question(document: Any, kind: str, page_index: int, position: int,
                    plugin_types: Collection[str] = ()) -> tuple[dict, str]:
    """A copy of ``document`` with a new ``kind`` question at ``position`` of page ``page_index``
    (clamped to the page), and the new question's pointer (see :func:`skeleton`)."""
    result = copy.deepcopy(document)
    pages = _pages(result)
    if not 0 <= page_index < len(pages):
        raise OutlineError("no_such_page")
    questions = _questions(pages[page_index])
    position = max(0, min(position, len(questions)))
    questions.insert(position, skeleton(kind, result, plugin_types=plugin_types))
    return result, f"/pages/{page_index}/questions/{position}"


def add_page(document: Any, kind: str, plugin_types: Collection[str] = ()) -> tuple[dict, str]:
    """A copy of ``document`` with a new last page holding one new ``kind`` question (see :func:`skeleton`)."""
    result = copy.deepcopy(document)
    pages = _pages(result)
    question = skeleton(kind, result, plugin_types=plugin_types)
    page_id = new_id(result, "page", {question["id"], *(child["id"] for child in question.get("questions", []))})
    pages.append({"id": page_id, "title": placeholder(result, "page"), "questions": [question]})
    return result, f"/pages/{len(pages) - 1}/questions/0"


def move_question(document: Any, path: str, direction: str) -> tuple[dict, str]:
    """A copy of ``document`` with the question at ``path`` one place up or down, and its new
    pointer. A page's first question moves up to the end of the page before (a last
    question down to the start of the next page), if its own page keeps a question;
    questions in a repeat group move within the group."""
    if direction not in ("up", "down"):
        raise OutlineError("bad_direction")
    result = copy.deepcopy(document)
    siblings, index, pages = _locate(result, path)
    page_index, _, child_index = question_path(path)
    step = -1 if direction == "up" else 1
    target = index + step
    if 0 <= target < len(siblings):
        siblings[index], siblings[target] = siblings[target], siblings[index]
        return result, path.rsplit("/", 1)[0] + f"/{target}"
    if child_index is not None:
        raise OutlineError("edge_of_group")
    other_page = page_index + step
    if not 0 <= other_page < len(pages):
        raise OutlineError("edge_of_questionnaire")
    if len(siblings) == 1:
        raise OutlineError("page_needs_a_question")
    destination = _questions(pages[other_page])
    question = siblings.pop(index)
    if direction == "up":
        destination.append(question)
        return result, f"/pages/{other_page}/questions/{len(destination) - 1}"
    destination.insert(0, question)
    return result, f"/pages/{other_page}/questions/0"


def delete_question(document: Any, path: str) -> dict:
    """A copy of ``document`` without the question at ``path``. Deleting the last question
    of a page deletes the page; the last question of a repeat group or of the whole
    questionnaire cannot be deleted."""
    result = copy.deepcopy(document)
    siblings, index, pages = _locate(result, path)
    page_index, _, child_index = question_path(path)
    if len(siblings) > 1:
        siblings.pop(index)
    elif child_index is not None:
        raise OutlineError("group_needs_a_question")
    elif len(pages) > 1:
        pages.pop(page_index)
    else:
        raise OutlineError("questionnaire_needs_a_question")
    return result
