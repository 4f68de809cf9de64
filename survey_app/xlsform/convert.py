"""Convert an XLSForm workbook into a questionnaire in our JSON format.

Every row of the ``survey`` and ``choices`` sheets either becomes part of the
questionnaire or yields a :class:`~survey_app.questionnaire.errors.Problem` whose
path names the sheet and spreadsheet row (``/xlsform/survey/row/12``) and whose
message names the column and what is not supported. Nothing is dropped quietly;
the few deliberate simplifications are listed here.

What becomes what:

* ``settings``: ``form_title`` -> ``title`` (the same text in every language),
  ``form_id`` -> ``id`` (made a slug), ``version``, ``default_language``;
  ``style`` is a web-form theme and is accepted without effect.
* Languages come from ``label::Kazakh (kk)``-style columns (the code in
  parentheses; a few language names without a code are known too). A column
  without a language (``label``) is in ``default_language``, else in the
  ``language`` argument, else in the language its texts are written in (Kazakh or
  Russian when Cyrillic, English otherwise).
* ``begin group`` at the top level -> a page (``label`` -> title, ``hint`` ->
  description, ``relevant`` -> ``show_if``). Questions outside groups get a page
  each (ODK shows them one per screen); a ``calculate`` outside groups joins the
  page before it when that page is always shown. A group inside a page with
  ``appearance`` ``table-list`` whose rows are ``select_one`` questions of one list
  -> a ``matrix`` (rows ``group_row`` -> ``group.row``); any other inner group is
  flattened into its page: its label becomes a note and its ``relevant`` is joined
  to each of its questions' ``show_if`` with ``and``.
* ``begin repeat`` -> a ``repeat`` question (``repeat_count`` -> ``max_count`` when a
  number); a repeat outside groups gets a page of its own.
* Types: ``select_one`` -> ``single_choice`` (or ``yes_no`` when its list is just
  yes/no), ``select_multiple`` -> ``multiple_choice``, ``rank`` -> ``ranking``,
  ``text`` -> ``text`` (``long_text`` with ``appearance`` ``multiline``), ``integer``,
  ``decimal``, ``date``, ``note``, ``calculate`` -> ``calculated``, ``range`` with a
  whole-number scale 0/1..2-11 -> ``rating``. ``or_other``, or a choice named
  ``other``, -> ``other``; a ``text`` question right after it asking "please specify"
  (``relevant`` ``selected(${q}, 'other')``) is folded into our built-in box.
* ``relevant`` -> ``show_if``; ``calculation`` -> ``expression``; ``required``
  (yes/true/true()) and ``required_message``; ``hint``; ``default``;
  ``appearance`` ``minimal``/``autocomplete`` -> ``display: dropdown``, and
  presentation-only ones (likert, horizontal, columns, quick, field-list,
  no-calendar, thousands-sep, numbers...) are accepted as they are.
* ``constraint`` (with ``.`` -> the question's id) and ``constraint_message`` ->
  ``constraints``; parts joined by ``and`` that our format has its own keys for
  become those keys: ``. >= 1`` -> ``min``, ``string-length(.) <= 80`` ->
  ``max_length``, ``regex(., '^..$')`` -> ``pattern`` (with the message as
  ``pattern_message``), ``count-selected(.) <= 3`` -> ``max_selected``,
  ``not(selected(., 'none') and count-selected(.) > 1)`` -> ``exclusive``.
* ``${q}`` in labels and hints -> ``{q}`` (piping).
* Not supported, each reported at its row: ``choice_filter`` (cascading choices),
  media columns, ``guidance_hint``, ``read_only``, dynamic defaults, conditional
  ``required``, expression ``repeat_count``, nested repeats, metadata and other
  question types (``start``, ``geopoint``, ``image``...), XPath beyond
  :mod:`survey_app.xlsform.expressions`, and the ``external_choices``,
  ``entities`` and ``osm`` sheets. Columns whose header starts with ``$``
  (KoboToolbox's ``$kuid``, ``$autoname``...) hold bookkeeping and are skipped.
"""
from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from survey_app.questionnaire.errors import Problem
from survey_app.questionnaire.expressions import Call, Lit, Node, Op, Ref
from survey_app.questionnaire.loader import DEFAULT_MAX_BYTES
from survey_app.xlsform.constraints import and_, conjuncts, join_and, pattern_from_xpath, same_tree, split_constraint
from survey_app.xlsform.expressions import Unsupported, render, xpath_to_tree
from survey_app.xlsform.reader import MAX_ROWS, TRANSLATABLE, Row, Sheet, Workbook, read_workbook, sheet_path
from survey_app.xlsform.vocabulary import (
    ALLOWED_FIELDS, APPEARANCES, BEGIN, COLUMN_OF_KEY, END, METADATA, NO_WORDS, OTHER_LABELS, SELECT, SELECT_TYPES, SIMPLE_TYPES, YES_WORDS, language_code,
)

#: Most problems reported for one workbook (a broken file should not produce thousands).
MAX_PROBLEMS = 200

_CHOICE_VALUE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_ROW_VALUE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_PIPED = re.compile(r"\$\{([^{}]*)\}")
_KAZAKH_LETTERS = re.compile(r"[әғқңөұүһіӘҒҚҢӨҰҮҺІ]")
_CYRILLIC = re.compile(r"[А-яЁё]")


@dataclass
class _Element:
    """A survey row, or a group or repeat with the rows between its begin and end."""

    row: Row
    kind: str  # "question", "group" or "repeat"
    type: str = ""  # our type (or "range") for questions
    name: str = ""
    list_name: str | None = None
    or_other: bool = False
    children: list[_Element] = field(default_factory=list)
    id: str | None = None
    matrix: bool = False


@dataclass
class _Choice:
    row: Row
    value: str
    label: Any


@dataclass
class Conversion:
    """The result of a conversion: the document (None if any problem), the problems, and
    where in the workbook each part of the document came from."""

    document: dict[str, Any] | None
    problems: list[Problem]
    sources: dict[str, tuple[str, int]] = field(default_factory=dict)  # JSON pointer -> (sheet, row)

    def locate(self, problem: Problem) -> Problem:
        """``problem`` (found in the document) moved to the workbook row it came from."""
        parts = problem.path.split("/")
        for end in range(len(parts), 0, -1):
            prefix = "/".join(parts[:end])
            if prefix in self.sources:
                sheet, row = self.sources[prefix]
                rest = [part for part in parts[end:] if not part.isdigit()]
                column = COLUMN_OF_KEY.get(rest[0], rest[0]) if rest else None
                if sheet == "settings" and parts[1:2] and parts[1] in ("id", "title", "version", "default_language"):
                    column = {"id": "form_id", "title": "form_title"}.get(parts[1], parts[1])
                read_as = self._read_as(problem.path)
                prefix_text = f"{column}: " if column else ""
                return Problem(sheet_path(sheet, row), f"{prefix_text}{problem.message}{read_as}")
        return problem

    def _read_as(self, path: str) -> str:
        if self.document is None or not path.endswith(("/show_if", "/expression")):
            return ""
        node: Any = self.document
        for part in path.split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            try:
                node = node[int(part)] if isinstance(node, list) else node[part]
            except (KeyError, IndexError, ValueError, TypeError):
                return ""
        return f" (translated as: {node})" if isinstance(node, str) else ""


def convert_workbook_bytes(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_rows: int = MAX_ROWS, language: str | None = None,
) -> Conversion:
    """Read and convert ``data``; see :func:`survey_app.xlsform.convert_xlsform`."""
    workbook, problems = read_workbook(data, max_bytes=max_bytes, max_rows=max_rows)
    if workbook is None:
        return Conversion(None, problems)
    converter = _Converter(workbook, language)
    try:
        document = converter.run()
    except _Stop:
        document = None
    problems = _capped(converter.problems)
    if problems:
        return Conversion(None, problems)
    return Conversion(document, [], converter.sources)


def _capped(problems: list[Problem]) -> list[Problem]:
    unique = sorted(dict.fromkeys(problems), key=problem_order)
    if len(unique) <= MAX_PROBLEMS:
        return unique
    return [*unique[:MAX_PROBLEMS], Problem("/xlsform", f"... and {len(unique) - MAX_PROBLEMS} more problems")]


def problem_order(problem: Problem) -> tuple:
    """Sort key: the file first, then settings, survey and choices rows in order."""
    parts = problem.path.split("/")
    sheet = parts[2] if len(parts) > 2 else ""
    row = int(parts[4]) if len(parts) > 4 and parts[4].isdigit() else 0
    return ({"": 0, "settings": 1, "survey": 2, "choices": 3}.get(sheet, 4), row)


class _Stop(Exception):
    """A problem after which converting further would only produce noise."""


class _Converter:
    def __init__(self, workbook: Workbook, language: str | None):
        self.workbook = workbook
        self.language = language
        self.problems: list[Problem] = []
        self.sources: dict[str, tuple[str, int]] = {}
        self.origin: dict[int, tuple[str, int]] = {}  # id(dict in the document) -> (sheet, row)
        self.names: dict[str, str] = {}  # XLSForm name -> our name, for expressions and piping
        self.first_row_of_name: dict[str, int] = {}
        self.used_ids: set[str] = set()
        self.choice_names: set[str] = set()
        self.lists: dict[str, list[_Choice]] = {}
        self.list_entries: dict[str, tuple[list[dict], dict | None, list[dict]]] = {}
        self.list_users: dict[str, list[dict]] = {}
        self.languages: list[str] = []
        self.language_of: dict[str | None, str] = {}
        self.default_language = ""

    # ------------------------------------------------------------ helpers

    def problem(self, row: Row | None, message: str, sheet: str = "survey") -> None:
        if row is None:
            self.problems.append(Problem(sheet_path(sheet), message))
        else:
            self.problems.append(Problem(sheet_path(row.sheet, row.number), message))

    def column_header(self, row: Row, field_name: str) -> str:
        for column in row.cells:
            if column.field == field_name:
                return column.header
        return field_name

    # ------------------------------------------------------------ the whole workbook

    def run(self) -> dict[str, Any] | None:
        survey = self.workbook.survey
        if survey is None:
            names = ", ".join(f"'{name}'" for name in self.workbook.sheet_names) or "none"
            self.problem(None, f"the workbook has no 'survey' sheet (its sheets: {names})")
            raise _Stop
        fields = {column.field for column in survey.columns}
        for needed in ("type", "name"):
            if needed not in fields:
                self.problems.append(Problem(sheet_path("survey", 1), f"the survey sheet has no '{needed}' column"))
        if self.problems:
            raise _Stop
        settings = self._settings()
        self._languages(settings)
        root = self._tree(survey)
        self._check_names(root.children)
        self._assign_ids(root.children, inside=None)
        self._choice_lists()
        pages = self._pages(root.children)
        document: dict[str, Any] = {
            "id": settings["id"], "version": settings["version"], "languages": self.languages,
            "default_language": self.default_language, "title": settings["title"],
        }
        choice_lists = self._place_choice_lists()
        if choice_lists:
            document["choice_lists"] = choice_lists
        document["pages"] = pages
        if not pages:
            self.problem(None, "the survey sheet has no questions")
        self._record_sources(document, settings.get("row"))
        return json.loads(json.dumps(document, ensure_ascii=False))  # no dict shared between questions

    # ------------------------------------------------------------ settings and languages

    def _settings(self) -> dict[str, Any]:
        sheet = self.workbook.settings
        row = sheet.rows[0] if sheet and sheet.rows else None
        if sheet and len(sheet.rows) > 1:
            for extra in sheet.rows[1:]:
                self.problem(extra, "the settings sheet has one row of values; this row is not used")
        result: dict[str, Any] = {"row": row}
        if row is not None:
            for column in row.unsupported():
                self.problem(row, f"the setting '{column.header}' is not supported")
        form_id = row.get("form_id") if row else None
        title = row.get("form_title") if row else None
        result["title"] = title or form_id or "XLSForm"
        slug = _slug(form_id) if form_id else (_slug(title) if title else None) or "xlsform"
        if slug is None:
            self.problem(row, f"form_id: cannot make a survey id from '{form_id}'; use 2 to 63 Latin letters, "
                              "digits and hyphens", sheet="settings")
            slug = "xlsform"
        result["id"] = slug
        result["version"] = (row.get("version") if row else None) or "1"
        result["default_language"] = row.get("default_language") if row else None
        return result

    def _languages(self, settings: dict[str, Any]) -> None:
        parts: list[str] = []
        plain = False
        for sheet in (self.workbook.survey, self.workbook.choices):
            for column in sheet.columns if sheet else ():
                if column.field in TRANSLATABLE:
                    if column.language is None:
                        plain = True
                    elif column.language not in parts:
                        parts.append(column.language)
        for part in parts:
            code = language_code(part)
            if code is None:
                sheet = "survey" if any(c.language == part for c in self.workbook.survey.columns) else "choices"
                self.problems.append(Problem(sheet_path(sheet, 1), f"the language '{part}' has no code: write the "
                                             f"column like 'label::{part} (xx)', with its code in parentheses"))
                continue
            self.language_of[part] = code
        named_default = settings["default_language"]
        default = None
        if named_default:
            default = self.language_of.get(named_default) or language_code(named_default)
            if default is None:
                self.problem(settings["row"], f"default_language: '{named_default}' has no code; write it like "
                                              "'Russian (ru)'", sheet="settings")
        if plain:
            plain_code = default or self._plain_language()
            self.language_of[None] = plain_code
        codes = list(dict.fromkeys(self.language_of[p] for p in ([None] if plain else []) + parts
                                   if p in self.language_of))
        if default and default not in codes:
            if codes:
                self.problem(settings["row"], f"default_language: no label column is in '{named_default}'",
                             sheet="settings")
            codes.insert(0, default)
        if not codes:
            codes = [self._plain_language()]
        self.languages = codes
        self.default_language = default or codes[0]

    def _plain_language(self) -> str:
        if self.language:
            return self.language
        texts = []
        for sheet in (self.workbook.survey, self.workbook.choices):
            for row in sheet.rows[:200] if sheet else ():
                texts.extend(value for column, value in row.cells.items() if column.field in ("label", "hint"))
        sample = " ".join(texts)
        if _KAZAKH_LETTERS.search(sample):
            return "kk"
        return "ru" if _CYRILLIC.search(sample) else "en"

    # ------------------------------------------------------------ texts

    def text(self, row: Row, field_name: str, piping: bool = True) -> Any:
        """The texts of ``field_name`` in ``row``: one string, or language -> string."""
        by_code: dict[str, str] = {}
        for part, value in row.texts(field_name).items():
            code = self.language_of.get(part)
            if code is None:
                continue  # reported with the header
            if code in by_code and by_code[code] != value:
                self.problem(row, f"{field_name}: two columns give different '{code}' texts")
            by_code[code] = self._piped(value, row, field_name) if piping else value
        if not by_code:
            return None
        if len(by_code) == len(self.languages) and len(set(by_code.values())) == 1:
            return next(iter(by_code.values()))
        return {code: by_code[code] for code in self.languages if code in by_code}

    def _piped(self, value: str, row: Row, field_name: str) -> str:
        out, position = [], 0
        for match in _PIPED.finditer(value):
            out.append(_escape_braces(value[position:match.start()]))
            name = match.group(1).strip()
            target = self.names.get(name)
            if target is None or "." in target:
                self.problem(row, f"{field_name}: ${{{name}}} does not name a question that can be shown here")
                out.append(_escape_braces(match.group()))
            else:
                out.append("{" + target + "}")
            position = match.end()
        out.append(_escape_braces(value[position:]))
        return "".join(out)

    # ------------------------------------------------------------ choices

    def _choice_lists(self) -> None:
        sheet = self.workbook.choices
        if sheet is None:
            return
        fields = {column.field for column in sheet.columns}
        for needed in ("list_name", "name"):
            if needed not in fields:
                self.problems.append(Problem(sheet_path("choices", 1), f"the choices sheet has no '{needed}' column"))
                return
        unsupported: dict[str, list[int]] = {}
        first_rows: dict[tuple[str, str], int] = {}
        for row in sheet.rows:
            for column in row.unsupported():
                unsupported.setdefault(column.header, []).append(row.number)
            list_name, value = row.get("list_name"), row.get("name")
            if not list_name or not value:
                if any(column.field not in (None, "ignored") for column in row.cells):
                    self.problem(row, "a choice needs both list_name and name")
                continue
            choices = self.lists.setdefault(list_name, [])
            if not _CHOICE_VALUE.fullmatch(value):
                self.problem(row, f"name: '{value}' is not a choice value we can store: use 1 to 64 letters, "
                                  "digits, _ . or -")
            elif (list_name, value) in first_rows:
                first = first_rows[(list_name, value)]
                self.problem(row, f"name: the list '{list_name}' already has the choice '{value}' (row {first})")
            first_rows.setdefault((list_name, value), row.number)
            label = self.text(row, "label")
            if label is None:
                self.problem(row, "label: the choice has no label")
            choices.append(_Choice(row, value, label))
        for header, numbers in unsupported.items():
            more = f" (and {len(numbers) - 1} more rows)" if len(numbers) > 1 else ""
            self.problems.append(Problem(sheet_path("choices", numbers[0]),
                                         f"the column '{header}' is not supported{more}"))

    # ------------------------------------------------------------ the survey sheet as a tree

    def _tree(self, survey: Sheet) -> _Element:
        root = _Element(row=Row("survey", 1, {}), kind="group")
        stack = [root]
        for row in survey.rows:
            kind_text = " ".join((row.get("type") or "").split())
            if not kind_text:
                if any(column.field != "ignored" for column in row.cells):
                    self.problem(row, "type: the row has no type")
                continue
            lowered = kind_text.lower()
            if begin := BEGIN.match(lowered):
                control = "repeat" if begin.group(1) in ("repeat", "lgroup", "looped group") else begin.group(1)
                if control == "loop" or begin.group(2):
                    self.problem(row, f"type: '{kind_text}' (a loop over a list) is not supported")
                element = _Element(row=row, kind=control, name=row.get("name") or "")
                self._check_fields(row, "group" if control == "loop" else control)
                stack[-1].children.append(element)
                stack.append(element)
                continue
            if end := END.match(lowered):
                control = "repeat" if end.group(1) in ("repeat", "lgroup", "looped group") else end.group(1)
                self._check_fields(row, "end")
                if len(stack) == 1:
                    self.problem(row, f"type: '{kind_text}' has no matching 'begin {control}'")
                elif stack[-1].kind != control:
                    self.problem(row, f"type: '{kind_text}' closes the {stack[-1].kind} begun in row "
                                      f"{stack[-1].row.number}")
                else:
                    stack.pop()
                continue
            element = self._question_element(row, kind_text)
            if element is not None:
                stack[-1].children.append(element)
        for open_element in stack[1:]:
            self.problem(open_element.row, f"type: this {open_element.kind} is never ended "
                                           f"(add an 'end {open_element.kind}' row)")
        return root

    def _question_element(self, row: Row, kind_text: str) -> _Element | None:
        name = row.get("name") or ""
        if select := SELECT.match(kind_text):
            command = select.group(1).lower()
            list_name = select.group(2)
            if list_name.startswith("${"):
                self.problem(row, f"type: '{kind_text}' (choices from earlier answers) is not supported")
                return None
            element = _Element(row=row, kind="question", type=SELECT_TYPES[command], name=name,
                               list_name=list_name, or_other=bool(select.group(3)))
            if element.or_other and element.type == "ranking":
                self.problem(row, "type: or_other is not supported on rank questions")
        elif kind_text.lower() in SIMPLE_TYPES:
            element = _Element(row=row, kind="question", type=SIMPLE_TYPES[kind_text.lower()], name=name)
        else:
            first = kind_text.split()[0].lower()
            if first in METADATA:
                self.problem(row, f"type: '{kind_text}' (automatic metadata) is not supported; delete the row")
            elif "external" in first or "from_file" in first or first in ("select_one_from_file",):
                self.problem(row, f"type: '{kind_text}' (choices from an external file) is not supported")
            else:
                self.problem(row, f"type: the question type '{kind_text}' is not supported")
            return None
        self._check_fields(row, element.type)
        return element

    def _check_fields(self, row: Row, kind: str) -> None:
        unknown = [column.header for column in row.unsupported()]
        if unknown:
            listed = ", ".join(f"'{header}'" for header in unknown)
            self.problem(row, f"the column{'s' if len(unknown) > 1 else ''} {listed} "
                              f"{'are' if len(unknown) > 1 else 'is'} not supported")
        allowed = ALLOWED_FIELDS[kind]
        for column in row.cells:
            if column.field is None or column.field in allowed:
                continue
            if column.field == "choice_filter":
                self.problem(row, "choice_filter: cascading choices (choice_filter) are not supported yet; "
                                  "give the question one list of choices")
            else:
                self.problem(row, f"{column.header}: not supported on {_what(kind)}")

    # ------------------------------------------------------------ ids

    def _check_names(self, elements: list[_Element]) -> None:
        for element in elements:
            if not element.name:
                self.problem(element.row, "name: every question, group and repeat needs a name")
                element.name = f"row_{element.row.number}"
            if element.name in self.first_row_of_name:
                self.problem(element.row, f"name: '{element.name}' is already used in row "
                                          f"{self.first_row_of_name[element.name]}")
            else:
                self.first_row_of_name[element.name] = element.row.number
            self._check_names(element.children)

    def _assign_ids(self, elements: list[_Element], inside: str | None) -> None:
        for element in elements:
            element.id = self._claim(element.name)
            if element.kind == "question":
                self.names.setdefault(element.name, element.id)
                if element.type in ("single_choice", "multiple_choice", "ranking"):
                    self.choice_names.add(element.id)
            elif element.kind == "repeat":
                self.names.setdefault(element.name, element.id)
            if element.kind == "group" and inside is not None and self._is_matrix(element):
                element.matrix = True
                for child in element.children:
                    row_value = _row_value(element.name, child.name)
                    self.names.setdefault(child.name, f"{element.id}.{row_value}")
                    self.choice_names.add(f"{element.id}.{row_value}")
                continue
            self._assign_ids(element.children, inside=element.kind if inside is None else inside)

    def _claim(self, name: str) -> str:
        base = _identifier(name)
        candidate, number = base, 2
        while candidate in self.used_ids:
            candidate = f"{base[:58]}_{number}"
            number += 1
        self.used_ids.add(candidate)
        return candidate

    def _is_matrix(self, group: _Element) -> bool:
        appearances = (group.row.get("appearance") or "").split()
        if "table-list" not in appearances or not group.children or not group.row.texts("label"):
            return False
        lists = {child.list_name for child in group.children}
        if len(lists) != 1 or any(child.kind != "question" or child.type != "single_choice" or child.or_other
                                  for child in group.children):
            return False
        allowed = {"type", "name", "label", "required", "ignored"}
        if any(column.field not in allowed for child in group.children for column in child.row.cells):
            return False
        if len({bool(_yes(child.row.get("required"))) for child in group.children}) > 1:
            return False
        values = [_row_value(group.name, child.name) for child in group.children]
        return len(set(values)) == len(values) and all(_ROW_VALUE.fullmatch(value) for value in values)

    # ------------------------------------------------------------ pages

    def _pages(self, elements: list[_Element]) -> list[dict]:
        pages: list[dict] = []
        waiting: list[dict] = []  # calculations before the first page that can hold them
        index = 0
        while index < len(elements):
            element = elements[index]
            index += 1
            if element.kind == "group":
                page = self._page(element)
            elif element.kind == "repeat":
                page = {"id": self._claim(f"{element.name}_page"), "questions": self._questions([element], None, None)}
                self.origin[id(page)] = ("survey", element.row.number)
            else:
                questions = self._questions([element], None, None)
                if not questions:
                    continue
                if "other" in questions[0] and index < len(elements) \
                        and self._is_specify(elements[index], questions[0]["id"]):
                    index += 1
                if element.type == "calculated":
                    if pages and "show_if" not in pages[-1]:
                        pages[-1]["questions"].extend(questions)
                    else:
                        waiting.extend(questions)
                    continue
                page = {"id": self._claim(f"{element.name}_page"), "questions": questions}
                self.origin[id(page)] = ("survey", element.row.number)
            if waiting and "show_if" not in page:
                page["questions"][:0] = waiting
                waiting = []
            pages.append(page)
        if waiting:
            page = {"id": self._claim("calculations"), "questions": waiting}
            pages.append(page)
        for page in pages:
            if not page["questions"]:
                sheet, number = self.origin.get(id(page), ("survey", None))
                self.problems.append(Problem(sheet_path(sheet, number), "the group has no questions"))
        return pages

    def _page(self, group: _Element) -> dict:
        row = group.row
        page: dict[str, Any] = {"id": group.id}
        title = self.text(row, "label")
        if title is not None:
            page["title"] = title
        description = self.text(row, "hint")
        if description is not None:
            page["description"] = description
        relevance = self._expression(row, "relevant")
        if relevance is not None:
            page["show_if"] = self._render(row, "relevant", relevance)
        self._appearance(row, "group")
        page["questions"] = self._questions(group.children, None, None)
        self.origin[id(page)] = ("survey", row.number)
        return page

    def _questions(self, elements: list[_Element], relevance: Node | None, repeat: str | None) -> list[dict]:
        questions: list[dict] = []
        skip = set()
        for index, element in enumerate(elements):
            if index in skip:
                continue
            if element.kind == "repeat":
                if repeat is not None:
                    self.problem(element.row, "type: a repeat inside a repeat is not supported")
                    continue
                questions.append(self._repeat(element, relevance))
            elif element.kind == "group":
                if element.matrix:
                    questions.append(self._matrix(element, relevance))
                else:
                    questions.extend(self._flattened(element, relevance, repeat))
            else:
                question = self._question(element, relevance)
                if question is None:
                    continue
                questions.append(question)
                following = elements[index + 1] if index + 1 < len(elements) else None
                if "other" in question and following is not None and self._is_specify(following, question["id"]):
                    skip.add(index + 1)
        return questions

    def _flattened(self, group: _Element, relevance: Node | None, repeat: str | None) -> list[dict]:
        row = group.row
        own = self._expression(row, "relevant")
        combined = and_(relevance, own)
        self._appearance(row, "group")
        questions: list[dict] = []
        label = self.text(row, "label")
        if label is not None:
            note: dict[str, Any] = {"id": group.id, "type": "note", "label": label}
            hint = self.text(row, "hint")
            if hint is not None:
                note["hint"] = hint
            if combined is not None:
                note["show_if"] = self._render(row, "relevant", combined)
            self.origin[id(note)] = ("survey", row.number)
            questions.append(note)
        elif row.texts("hint"):
            self.problem(row, "hint: a group inside a page needs a label for its hint to be shown")
        return questions + self._questions(group.children, combined, repeat)

    def _repeat(self, element: _Element, relevance: Node | None) -> dict:
        row = element.row
        question: dict[str, Any] = {"id": element.id, "type": "repeat"}
        self._common_texts(row, question)
        combined = and_(relevance, self._expression(row, "relevant"))
        if combined is not None:
            question["show_if"] = self._render(row, "relevant", combined)
        self._appearance(row, "repeat")
        count = row.get("repeat_count")
        if count is not None:
            if re.fullmatch(r"[0-9]+", count) and 1 <= int(count) <= 100:
                question["max_count"] = int(count)
            else:
                self.problem(row, f"repeat_count: only a number from 1 to 100 is supported, not '{count}'")
        question["questions"] = self._questions(element.children, None, element.id)
        if not question["questions"]:
            self.problem(row, "the repeat has no questions")
        self.origin[id(question)] = ("survey", row.number)
        return question

    def _matrix(self, group: _Element, relevance: Node | None) -> dict:
        row = group.row
        question: dict[str, Any] = {"id": group.id, "type": "matrix"}
        self._common_texts(row, question)
        combined = and_(relevance, self._expression(row, "relevant"))
        if combined is not None:
            question["show_if"] = self._render(row, "relevant", combined)
        if _yes(group.children[0].row.get("required")):
            question["required"] = True
        rows = []
        for child in group.children:
            entry = {"value": _row_value(group.name, child.name), "label": self.text(child.row, "label")}
            if entry["label"] is None:
                self.problem(child.row, "label: a matrix row needs a label")
            self.origin[id(entry)] = ("survey", child.row.number)
            rows.append(entry)
        question["rows"] = rows
        self._attach_choices(question, group.children[0])
        self.origin[id(question)] = ("survey", row.number)
        return question

    # ------------------------------------------------------------ one question

    def _question(self, element: _Element, relevance: Node | None) -> dict | None:
        row = element.row
        kind = element.type
        question: dict[str, Any] = {"id": element.id, "type": kind}
        self._common_texts(row, question)
        combined = and_(relevance, self._expression(row, "relevant"))
        if combined is not None:
            question["show_if"] = self._render(row, "relevant", combined)
        required = row.get("required")
        if required is not None:
            value = _yes(required)
            if value is None:
                self.problem(row, f"required: only yes or no is supported, not '{required}' "
                                  "(a condition cannot make a question required)")
            elif value:
                question["required"] = True
        message = self.text(row, "required_message")
        if message is not None:
            question["required_message"] = message
        appearances = self._appearance(row, kind)
        if kind in ("single_choice", "multiple_choice", "ranking"):
            self._attach_choices(question, element)
            if kind == "single_choice" and appearances & {"minimal", "autocomplete"}:
                question["display"] = "dropdown"
            if kind == "single_choice" and self._is_yes_no(question):
                question = self._as_yes_no(question, element)
        elif kind == "text" and "multiline" in appearances:
            question["type"] = kind = "long_text"
        elif kind == "range":
            if not self._rating(row, question):
                return None
            kind = "rating"
        elif kind == "calculated":
            expression = self._expression(row, "calculation")
            if row.get("calculation") is None:
                self.problem(row, "calculation: a calculate row needs a calculation")
            elif expression is not None:
                question["expression"] = self._render(row, "calculation", expression)
        self._constraint(row, question, kind)
        self._default(row, question, kind)
        self.origin[id(question)] = ("survey", row.number)
        return question

    def _common_texts(self, row: Row, question: dict) -> None:
        for key in ("label", "hint"):
            text = self.text(row, key)
            if text is not None:
                question[key] = text

    def _appearance(self, row: Row, kind: str) -> set[str]:
        words = set((row.get("appearance") or "").lower().split())
        allowed = APPEARANCES.get(kind, set())
        for word in sorted(words):
            normal = "columns-n" if re.fullmatch(r"columns-[0-9]+", word) else word
            if normal not in allowed and not re.fullmatch(r"w[0-9]+", word):
                self.problem(row, f"appearance: '{word}' is not supported on {_what(kind)}")
        return words

    def _attach_choices(self, question: dict, element: _Element) -> None:
        list_name = element.list_name or ""
        rows = self.lists.get(list_name)
        if rows is None:
            self.problem(element.row, f"type: there is no list named '{list_name}' in the choices sheet")
            question["choices"] = []
            return
        if list_name not in self.list_entries:  # built once per list and shared (read-only) by its questions
            entries, other = [], None
            for choice in rows:
                entry = {"value": choice.value, "label": choice.label}
                self.origin[id(entry)] = ("choices", choice.row.number)
                entries.append(entry)
                if choice.value == "other" and other is None:
                    other = entry
            without_other = [entry for entry in entries if entry is not other]
            self.list_entries[list_name] = (entries, other, without_other)
        entries, other, without_other = self.list_entries[list_name]
        choices = entries
        if question["type"] != "matrix" and other is not None:
            if other["label"] is not None:
                question["other"] = other["label"]
            choices = without_other
        if element.or_other and "other" not in question:
            question["other"] = self._other_label()
        question["choices"] = list(choices)
        self.list_users.setdefault(list_name, []).append(question)

    def _other_label(self) -> Any:
        labels = {code: OTHER_LABELS.get(code, OTHER_LABELS["en"]) for code in self.languages}
        return labels if len(set(labels.values())) > 1 else next(iter(labels.values()))

    def _is_yes_no(self, question: dict) -> bool:
        choices = question["choices"]
        if [choice["value"] for choice in choices] != ["yes", "no"] or "other" in question:
            return False
        for choice, words in zip(choices, (YES_WORDS, NO_WORDS)):
            label = choice["label"]
            texts = [label] if isinstance(label, str) else list((label or {}).values())
            if not texts or any(text.strip().lower().rstrip(".!") not in words for text in texts):
                return False
        return True

    def _as_yes_no(self, question: dict, element: _Element) -> dict:
        users = self.list_users[element.list_name or ""]
        users[:] = [user for user in users if user is not question]
        converted = {key: value for key, value in question.items() if key not in ("choices", "display")}
        converted["type"] = "yes_no"
        return converted

    def _is_specify(self, element: _Element, question_id: str) -> bool:
        """Whether ``element`` is the "please specify" text question of the choice question
        ``question_id``: text, shown exactly when "other" is chosen."""
        row = element.row
        if element.kind != "question" or element.type != "text":
            return False
        if any(column.field in ("constraint", "default", "calculation", "choice_filter") for column in row.cells):
            return False
        source = row.get("relevant")
        if not source:
            return False
        try:
            tree = xpath_to_tree(source, resolve=self.names.get, choice_names=self.choice_names)
        except Unsupported:
            return False
        other = Lit("other", 0)
        return (isinstance(tree, Call) and tree.fn == "selected" and same_tree(tree.args[0], Ref(question_id, 0))
                and same_tree(tree.args[1], other)) or \
            (isinstance(tree, Op) and tree.op == "=" and same_tree(tree.args[0], Ref(question_id, 0))
             and same_tree(tree.args[1], other))

    def _rating(self, row: Row, question: dict) -> bool:
        parameters = _parameters(row.get("parameters") or "")
        try:
            start = _number(parameters.get("start", "1"))
            end = _number(parameters.get("end", "10"))
            step = _number(parameters.get("step", "1"))
        except ValueError:
            self.problem(row, f"parameters: '{row.get('parameters')}' is not start=.. end=.. step=..")
            return False
        unknown = set(parameters) - {"start", "end", "step"}
        if unknown:
            self.problem(row, f"parameters: {', '.join(sorted(unknown))} not supported on range")
            return False
        if step != 1 or start not in (0, 1) or not isinstance(end, int) or not 2 <= end <= 11:
            self.problem(row, f"type: a range from {start} to {end} by {step} is not supported; only whole-number "
                              "scales starting at 0 or 1 and ending at 2 to 11 (a rating) are")
            return False
        question["type"] = "rating"
        question["min"], question["max"] = int(start), end
        return True

    # ------------------------------------------------------------ expressions

    def _expression(self, row: Row, field_name: str, self_name: str | None = None,
                    allow_regex: bool = False) -> Node | None:
        source = row.get(field_name)
        if source is None:
            return None
        try:
            return xpath_to_tree(source, resolve=self.names.get, self_name=self_name,
                                 choice_names=self.choice_names, allow_regex=allow_regex)
        except Unsupported as error:
            self.problem(row, f"{self.column_header(row, field_name)}: {error} in '{_short(source)}'")
            return None

    def _render(self, row: Row, field_name: str, tree: Node) -> str:
        try:
            return render(tree)
        except Unsupported as error:
            self.problem(row, f"{self.column_header(row, field_name)}: {error.message}")
            return "true"

    def _constraint(self, row: Row, question: dict, kind: str) -> None:
        message = self.text(row, "constraint_message")
        text_like = kind in ("text", "long_text")
        tree = self._expression(row, "constraint", self_name=question["id"], allow_regex=text_like)
        if tree is None:
            if message is not None and row.get("constraint") is None:
                self.problem(row, "constraint_message: there is no constraint for this message")
            return
        found, exclusive, rest = split_constraint(tree, question["id"], kind)
        if message is not None and not rest and "pattern" not in found:
            found, exclusive, rest = {}, [], list(conjuncts(tree))  # keep the author's message with the whole rule
        if "pattern" in found:
            pattern = pattern_from_xpath(found["pattern"])
            found["pattern"] = pattern
            if message is not None:
                found["pattern_message"] = message
        question.update(found)
        if exclusive:
            values = {choice["value"] for choice in question.get("choices", [])}
            for value in exclusive:
                if value not in values:
                    self.problem(row, f"constraint: '{value}' is not one of the question's choices")
            choices = []
            for choice in question.get("choices", []):
                if choice["value"] in exclusive:
                    marked = dict(choice, exclusive=True)
                    self.origin[id(marked)] = self.origin.get(id(choice), ("survey", row.number))
                    choice = marked
                choices.append(choice)
            question["choices"] = choices
        if rest:
            constraint: dict[str, Any] = {"expression": self._render(row, "constraint", join_and(rest))}
            if message is not None:
                constraint["message"] = message
            question["constraints"] = [constraint]

    def _default(self, row: Row, question: dict, kind: str) -> None:
        value = row.get("default")
        if value is None:
            return
        from pyxform.utils import default_is_dynamic

        if default_is_dynamic(value, kind) or "${" in value:
            self.problem(row, f"default: a calculated default ('{_short(value)}') is not supported")
            return
        if kind in ("multiple_choice", "ranking"):
            question["default"] = value.split()
        elif kind in ("integer", "rating") and re.fullmatch(r"-?[0-9]+", value):
            question["default"] = int(value)
        elif kind == "decimal" and re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", value):
            question["default"] = float(value) if "." in value else int(value)
        elif kind in ("integer", "decimal", "rating"):
            self.problem(row, f"default: '{value}' is not a number")
        else:
            question["default"] = value

    # ------------------------------------------------------------ choice lists and sources

    def _place_choice_lists(self) -> dict[str, list]:
        shared: dict[str, list] = {}
        used = set()
        for list_name, users in self.list_users.items():
            if not users:
                continue
            used.add(list_name)
            first = users[0]["choices"]
            if len(users) < 2 or any(not _same_choices(user["choices"], first) for user in users):
                continue
            name = self._list_identifier(list_name, shared)
            shared[name] = first
            for user in users:
                user["choices"] = name
        for list_name, rows in self.lists.items():
            if list_name in used or list_name in self.list_users:
                continue  # used by yes/no questions only, or by questions with problems
            name = self._list_identifier(list_name, shared)
            entries = []
            for choice in rows:
                entry = {"value": choice.value, "label": choice.label}
                self.origin[id(entry)] = ("choices", choice.row.number)
                entries.append(entry)
            shared[name] = entries
        return shared

    def _list_identifier(self, list_name: str, taken: Mapping[str, Any]) -> str:
        base = _identifier(list_name)
        candidate, number = base, 2
        while candidate in taken:
            candidate = f"{base[:58]}_{number}"
            number += 1
        return candidate

    def _record_sources(self, document: dict, settings_row: Row | None) -> None:
        if settings_row is not None:
            for key in ("/id", "/title", "/version", "/default_language"):
                self.sources[key] = ("settings", settings_row.number)
        for path, node in _walk(document, ""):
            where = self.origin.get(id(node))
            if where is not None:
                self.sources[path] = where


# ---------------------------------------------------------------- small helpers


def _same_choices(a: list[dict], b: list[dict]) -> bool:
    if len(a) != len(b):
        return False
    return all(x is y for x, y in zip(a, b)) or a == b


def _walk(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    stack = [(node, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            yield where, item
            stack.extend((value, f"{where}/{key}") for key, value in item.items() if isinstance(value, dict | list))
        elif isinstance(item, list):
            stack.extend((value, f"{where}/{index}") for index, value in enumerate(item)
                         if isinstance(value, dict | list))


def _slug(text: str) -> str | None:
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:63].strip("-")
    return slug if re.fullmatch(r"[a-z0-9][a-z0-9-]{1,62}", slug) else None


def _identifier(name: str) -> str:
    base = re.sub(r"[^a-z0-9_]+", "_", name.lower())
    base = re.sub(r"_+", "_", base).strip("_")
    if not base or not base[0].isalpha():
        base = f"q_{base}".rstrip("_")
    return base[:63].rstrip("_")


def _row_value(group_name: str, child_name: str) -> str:
    prefix = f"{group_name}_"
    return child_name[len(prefix):] if child_name.startswith(prefix) and len(child_name) > len(prefix) else child_name


def _escape_braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _yes(value: str | None) -> bool | None:
    if value is None:
        return False
    return {"yes": True, "true": True, "true()": True, "no": False, "false": False, "false()": False,
            "1": True, "0": False}.get(value.strip().lower())


def _what(kind: str) -> str:
    if kind in ("end", "group", "repeat"):
        return {"end": "an end row", "group": "a group", "repeat": "a repeat"}[kind]
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} question"


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def _parameters(text: str) -> dict[str, str]:
    result = {}
    for part in re.split(r"[\s;,]+", text.strip()):
        if part:
            key, _, value = part.partition("=")
            result[key.strip().lower()] = value.strip()
    return result


def _number(text: str) -> int | float:
    value = float(text)
    return int(value) if value.is_integer() else value

