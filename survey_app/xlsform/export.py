"""Write one of our questionnaires as an XLSForm workbook (.xlsx) that pyxform accepts.

Each page becomes a ``begin group`` with ``appearance`` ``field-list`` (one screen in
ODK and Enketo); texts go to ``label::Russian (ru)``-style columns; expressions are
translated to XPath (:func:`survey_app.xlsform.expressions.to_xpath`); the keys our
format has and XLSForm has not are written as the XLSForm idioms for them:

* ``min``/``max``, ``min_length``/``max_length``, ``pattern``, ``min_selected``/
  ``max_selected`` and ``exclusive`` choices -> parts of ``constraint``
  (``. >= 16``, ``string-length(.) <= 500``, ``regex(., '^..$')``,
  ``count-selected(.) <= 3``, ``not(selected(., 'none') and count-selected(.) > 1)``);
* ``yes_no`` -> ``select_one yes_no`` with a yes/no list; ``long_text`` -> ``text``
  with ``multiline``; ``rating`` -> ``range`` with ``start=1 end=5 step=1``;
  ``ranking`` -> ``rank``; ``display: dropdown`` -> ``minimal``;
* ``matrix`` -> a ``table-list`` group of ``select_one`` rows named ``matrix_row``;
* ``other`` -> a choice ``other`` with its label, followed by a required text question
  ``<id>_other`` shown when it is selected (the idiom ODK and KoboToolbox recommend);
* piping ``{q}`` -> ``${q}``.

:func:`survey_app.xlsform.convert_xlsform` reads all of these back, so a
questionnaire survives the round trip except for what XLSForm cannot hold at all:
:data:`LOST_IN_XLSFORM`.
"""
from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from typing import Any

from survey_app.questionnaire.expressions import ExpressionError
from survey_app.questionnaire.model import Questionnaire
from survey_app.xlsform.vocabulary import LANGUAGE_NAMES, SPECIFY_LABELS
from survey_app.xlsform.expressions import to_xpath

#: What a questionnaire loses in XLSForm (and so in a round trip through it).
LOST_IN_XLSFORM = (
    "the questionnaire's description and thank_you texts",
    "translations of the title (form_title holds the default language's title)",
    "settings (allow_resume, show_review, record_ip, record_user_agent) and plugins (scoring, breakdowns, ...)",
    "unit of integer and decimal questions, and decimals of decimal questions",
    "min_label and max_label of ratings",
    "entry_label of repeats; min_count, and max_count unless min_count is absent or equal to it (then it is "
    "written as repeat_count, which reads back as max_count)",
    "several constraints on one question: XLSForm has one, so their expressions are joined with 'and' and their "
    "messages (pattern_message included) with a space",
    "the email type: it becomes text with an e-mail pattern",
    "'' (empty text) in expressions, which XLSForm reads as an empty answer (null); answered(q) reads back "
    "as q != null",
    "{n} (the entry number) in texts inside repeats",
    "constraints and defaults of matrix questions",
    "which choice lists are shared: a list used by only one question reads back as that question's own choices",
)

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
YES_NO_LABELS = {"yes": {"kk": "Иә", "ru": "Да", "en": "Yes"}, "no": {"kk": "Жоқ", "ru": "Нет", "en": "No"}}
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z][a-z0-9_]{0,62})\}")
_TEXT_FIELDS = ("label", "hint", "required_message", "constraint_message")
_SURVEY_COLUMNS = ("type", "name", "label", "hint", "required", "required_message", "relevant", "constraint",
                   "constraint_message", "calculation", "default", "appearance", "parameters", "repeat_count")


class XLSFormExportError(ValueError):
    """The questionnaire has something XLSForm cannot express at all."""


def questionnaire_to_xlsform(questionnaire: Questionnaire | Mapping[str, Any]) -> bytes:
    """The bytes of an .xlsx XLSForm for ``questionnaire`` (a loaded questionnaire or its
    checked document). Raises :class:`XLSFormExportError` for an expression XLSForm cannot
    hold (text with both kinds of quotes)."""
    document = questionnaire.document if isinstance(questionnaire, Questionnaire) else questionnaire
    return _Exporter(document).workbook()


class _Exporter:
    def __init__(self, document: Mapping[str, Any]):
        self.document = document
        self.languages: list[str] = list(document["languages"])
        self.default = document.get("default_language", self.languages[0])
        self.choice_lists: Mapping[str, list] = document.get("choice_lists", {})
        self.types: dict[str, str] = {}
        self.taken: set[str] = set()
        for page in document["pages"]:
            self.taken.add(page["id"])
            for question in _all_questions(page["questions"]):
                self.types[question["id"]] = question["type"]
                self.taken.add(question["id"])
        self.names: dict[str, str] = {}  # matrix rows: m.row -> m_row
        for page in document["pages"]:
            for question in _all_questions(page["questions"]):
                if question["type"] == "matrix":
                    for row in question["rows"]:
                        self.names[f"{question['id']}.{row['value']}"] = self._fresh(f"{question['id']}_{row['value']}")
        self.survey: list[dict[str, str]] = []
        self.choices: list[dict[str, str]] = []
        self.list_names: dict[str, str] = {}  # content key -> list name
        self.used_list_names: set[str] = set()

    def _fresh(self, name: str) -> str:
        candidate, number = name, 2
        while candidate in self.taken:
            candidate = f"{name}_{number}"
            number += 1
        self.taken.add(candidate)
        return candidate

    # ------------------------------------------------------------ workbook

    def workbook(self) -> bytes:
        for page in self.document["pages"]:
            self._page(page)
        for name, choices in self.choice_lists.items():  # lists no question uses still travel
            self._list(choices, preferred=name)
        return self._write()

    def _write(self) -> bytes:
        import xlsxwriter

        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {
            "in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
        })
        bold = book.add_format({"bold": True})
        text_columns = [f"{field}::{self._language_name(code)}" for field in _TEXT_FIELDS for code in self.languages]
        survey_columns = [column for column in (*_SURVEY_COLUMNS, *text_columns)
                          if column in ("type", "name") or any(column in row for row in self.survey)]
        survey_columns = self._ordered(survey_columns)
        choice_columns = ["list_name", "name", *(f"label::{self._language_name(code)}" for code in self.languages)]
        settings = {
            "form_title": _in_language(self.document["title"], self.default),
            "form_id": self.document["id"], "version": self.document["version"],
            "default_language": self._language_name(self.default),
        }
        for title, columns, rows in (("survey", survey_columns, self.survey),
                                     ("choices", choice_columns, self.choices),
                                     ("settings", list(settings), [settings])):
            sheet = book.add_worksheet(title)
            for number, column in enumerate(columns):
                sheet.write_string(0, number, column, bold)
                sheet.set_column(number, number, 14 if column in ("type", "name", "required") else 28)
            for row_number, row in enumerate(rows, start=1):
                for number, column in enumerate(columns):
                    value = row.get(column)
                    if value:
                        sheet.write_string(row_number, number, value)
            sheet.freeze_panes(1, 0)
        book.close()
        return buffer.getvalue()

    def _ordered(self, columns: list[str]) -> list[str]:
        """type, name, then each text field's languages, then the rest, as XLSForm authors write them."""
        order = {"type": 0, "name": 1, "label": 2, "hint": 3, "required": 4, "required_message": 5, "relevant": 6,
                 "constraint": 7, "constraint_message": 8, "calculation": 9, "default": 10, "appearance": 11,
                 "parameters": 12, "repeat_count": 13}
        return sorted(columns, key=lambda column: (order[column.split("::")[0]], columns.index(column)))

    def _language_name(self, code: str) -> str:
        return f"{LANGUAGE_NAMES.get(code, code)} ({code})"

    # ------------------------------------------------------------ texts

    def _texts(self, row: dict[str, str], field: str, text: Any) -> None:
        if text is None:
            return
        for code in self.languages:
            wording = text if isinstance(text, str) else text.get(code, "")
            if wording:
                row[f"{field}::{self._language_name(code)}"] = self._unpiped(wording)

    def _unpiped(self, wording: str) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(1) is None:
                return match.group(0)[0]
            name = match.group(1)
            return "${" + name + "}" if name in self.types else match.group(0)

        return _PLACEHOLDER.sub(replace, wording)

    def _xpath(self, expression: str, self_name: str | None = None, minimum: int = 0) -> str:
        try:
            return to_xpath(expression, self_name=self_name, names=self.names, types=self.types, minimum=minimum)
        except ExpressionError as error:
            raise XLSFormExportError(f"cannot write '{expression}' in XLSForm: {error}") from error

    # ------------------------------------------------------------ choice lists

    def _list(self, choices: list[dict], preferred: str, other: Any = None) -> str:
        entries = [{"value": choice["value"], "label": choice["label"]} for choice in choices]
        if other is not None:
            entries.append({"value": "other", "label": other})
        key = json.dumps(entries, sort_keys=True, ensure_ascii=False)
        if key in self.list_names:
            return self.list_names[key]
        name, number = preferred, 2
        while name in self.used_list_names:
            name = f"{preferred}_{number}"
            number += 1
        self.used_list_names.add(name)
        self.list_names[key] = name
        for entry in entries:
            row = {"list_name": name, "name": entry["value"]}
            self._choice_label(row, entry["label"])
            self.choices.append(row)
        return name

    def _choice_label(self, row: dict[str, str], label: Any) -> None:
        for code in self.languages:
            wording = label if isinstance(label, str) else label.get(code, "")
            if wording:
                row[f"label::{self._language_name(code)}"] = self._unpiped(wording)

    def _question_list(self, question: Mapping[str, Any]) -> str:
        choices = question["choices"]
        if isinstance(choices, str):
            return self._list(self.choice_lists[choices], preferred=choices, other=question.get("other"))
        return self._list(choices, preferred=question["id"], other=question.get("other"))

    def _yes_no_list(self) -> str:
        labels = [{"value": value, "label": {code: words.get(code, words["en"]) for code in self.languages}}
                  for value, words in YES_NO_LABELS.items()]
        return self._list(labels, preferred="yes_no")

    # ------------------------------------------------------------ survey rows

    def _page(self, page: Mapping[str, Any]) -> None:
        row = {"type": "begin group", "name": page["id"], "appearance": "field-list"}
        self._texts(row, "label", page.get("title"))
        self._texts(row, "hint", page.get("description"))
        if "show_if" in page:
            row["relevant"] = self._xpath(page["show_if"])
        self.survey.append(row)
        for question in page["questions"]:
            self._question(question)
        self.survey.append({"type": "end group", "name": page["id"]})

    def _question(self, question: Mapping[str, Any]) -> None:
        kind = question["type"]
        if kind == "matrix":
            self._matrix(question)
            return
        if kind == "repeat":
            self._repeat(question)
            return
        row: dict[str, str] = {"name": question["id"]}
        self._texts(row, "label", question.get("label"))
        self._texts(row, "hint", question.get("hint"))
        if question.get("required"):
            row["required"] = "yes"
        self._texts(row, "required_message", question.get("required_message"))
        if "show_if" in question:
            row["relevant"] = self._xpath(question["show_if"])
        if "default" in question:
            default = question["default"]
            row["default"] = " ".join(default) if isinstance(default, list) else _plain(default)
        row["type"] = self._type(question, row)
        self._constraint(question, row)
        self.survey.append(row)
        if "other" in question and kind in ("single_choice", "multiple_choice"):
            name = self._fresh(f"{question['id']}_other")
            specify = {"type": "text", "name": name, "required": "yes",
                       "relevant": f"selected(${{{question['id']}}}, 'other')"}
            self._texts(specify, "label", {code: SPECIFY_LABELS.get(code, SPECIFY_LABELS["en"])
                                           for code in self.languages})
            self.survey.append(specify)

    def _type(self, question: Mapping[str, Any], row: dict[str, str]) -> str:
        kind = question["type"]
        if kind == "single_choice":
            if question.get("display") == "dropdown":
                row["appearance"] = "minimal"
            return f"select_one {self._question_list(question)}"
        if kind == "multiple_choice":
            return f"select_multiple {self._question_list(question)}"
        if kind == "ranking":
            return f"rank {self._question_list(question)}"
        if kind == "yes_no":
            return f"select_one {self._yes_no_list()}"
        if kind == "long_text":
            row["appearance"] = "multiline"
            return "text"
        if kind == "rating":
            row["parameters"] = f"start={question.get('min', 1)} end={question.get('max', 5)} step=1"
            return "range"
        if kind == "calculated":
            row["calculation"] = self._xpath(question["expression"])
            return "calculate"
        return {"email": "text"}.get(kind, kind)  # text, integer, decimal, date, note

    def _constraint(self, question: Mapping[str, Any], row: dict[str, str]) -> None:
        kind = question["type"]
        parts: list[str] = []
        messages: list[Any] = []
        if kind in ("integer", "decimal"):
            parts += [f". >= {_plain(question['min'])}"] if "min" in question else []
            parts += [f". <= {_plain(question['max'])}"] if "max" in question else []
        elif kind == "date":
            parts += [f". >= date('{question['min']}')"] if "min" in question else []
            parts += [f". <= date('{question['max']}')"] if "max" in question else []
        elif kind in ("text", "long_text", "email"):
            parts += [f"string-length(.) >= {question['min_length']}"] if "min_length" in question else []
            parts += [f"string-length(.) <= {question['max_length']}"] if "max_length" in question else []
            pattern = question.get("pattern") if kind == "text" else EMAIL_PATTERN if kind == "email" else None
            if pattern:
                parts.append(f"regex(., {_xpath_text(_anchored(pattern))})")
                if question.get("pattern_message") is not None:
                    messages.append(question["pattern_message"])
        elif kind == "multiple_choice":
            parts += [f"count-selected(.) >= {question['min_selected']}"] if "min_selected" in question else []
            parts += [f"count-selected(.) <= {question['max_selected']}"] if "max_selected" in question else []
            choices = question["choices"]
            choices = self.choice_lists[choices] if isinstance(choices, str) else choices
            for choice in choices:
                if choice.get("exclusive"):
                    value = _xpath_text(choice["value"])
                    parts.append(f"not(selected(., {value}) and count-selected(.) > 1)")
        if kind != "matrix":
            for constraint in question.get("constraints", ()):
                parts.append(self._xpath(constraint["expression"], self_name=question["id"], minimum=2))
                if constraint.get("message") is not None:
                    messages.append(constraint["message"])
        if parts:
            row["constraint"] = " and ".join(parts)
        if messages:
            self._texts(row, "constraint_message", self._joined(messages))

    def _joined(self, messages: list[Any]) -> Any:
        if len(messages) == 1:
            return messages[0]
        return {code: " ".join(_in_language(message, code) for message in messages) for code in self.languages}

    def _matrix(self, question: Mapping[str, Any]) -> None:
        row = {"type": "begin group", "name": question["id"], "appearance": "table-list"}
        self._texts(row, "label", question.get("label"))
        self._texts(row, "hint", question.get("hint"))
        if "show_if" in question:
            row["relevant"] = self._xpath(question["show_if"])
        self.survey.append(row)
        choices = question["choices"]
        list_name = self._list(self.choice_lists[choices], preferred=choices) if isinstance(choices, str) \
            else self._list(choices, preferred=question["id"])
        for matrix_row in question["rows"]:
            cell = {"type": f"select_one {list_name}", "name": self.names[f"{question['id']}.{matrix_row['value']}"]}
            self._texts(cell, "label", matrix_row["label"])
            if question.get("required"):
                cell["required"] = "yes"
            self.survey.append(cell)
        self.survey.append({"type": "end group", "name": question["id"]})

    def _repeat(self, question: Mapping[str, Any]) -> None:
        row = {"type": "begin repeat", "name": question["id"]}
        self._texts(row, "label", question.get("label"))
        self._texts(row, "hint", question.get("hint"))
        if "show_if" in question:
            row["relevant"] = self._xpath(question["show_if"])
        if "max_count" in question and question.get("min_count", question["max_count"]) == question["max_count"]:
            row["repeat_count"] = str(question["max_count"])  # the inverse of the import's repeat_count -> max_count
        self.survey.append(row)
        for child in question["questions"]:
            self._question(child)
        self.survey.append({"type": "end repeat", "name": question["id"]})


def _all_questions(questions: list[Mapping[str, Any]]):
    for question in questions:
        yield question
        yield from question.get("questions", ())


def _in_language(text: Any, code: str) -> str:
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return text.get(code) or next(iter(text.values()), "")


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _anchored(pattern: str) -> str:
    """Our pattern (matched against the whole answer) for XLSForm's regex() (which matches
    anywhere): anchored with ^ and $."""
    if pattern.startswith("^") and pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern
    return f"^(?:{pattern})$"


def _xpath_text(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    if '"' not in text:
        return f'"{text}"'
    raise XLSFormExportError(f"XLSForm text cannot hold both ' and \" quotes: {text!r}")
