"""The Codebook sheet: every question of every version, its choices, conditions and plugin rules.

One row per question (notes and repeat groups included), followed by a row per
choice, matrix row, "other" choice and labelled scale end, with labels in every
language of the survey; then one row per plugin column (e.g. a score) and its
codes. "Plugin rules" lists each object of a plugin section that names the
question (``{"question": id, ...}``, as scoring items do), with its JSON path.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from survey_app.contributions import ResponseColumn
from survey_app.questionnaire.model import OTHER_VALUE, YES_NO_VALUES
from survey_app.questionnaire.texts import Text, localize

from .columns import MergedQuestion, Plan, export_locale, standard_words

if TYPE_CHECKING:
    from .xlsx import SafeSheet

FIXED_HEADERS = ("Question", "Type", "Page", "Repeat group", "Kind", "Code")
TRAILING_HEADERS = ("Required", "Shown if", "Page shown if", "Calculation", "Versions", "Plugin rules")
WIDTHS = (18, 16, 14, 14, 10, 14)
LABEL_WIDTH, TRAILING_WIDTH = 36, 24


def write_codebook(sheet: SafeSheet, plan: Plan) -> None:
    """Fill ``sheet`` with the codebook of ``plan``'s questions and plugin columns."""
    languages = plan.languages
    headers = [*FIXED_HEADERS, *(f"Label [{language}]" for language in languages), *TRAILING_HEADERS]
    widths = [*WIDTHS, *(LABEL_WIDTH for _ in languages), *(TRAILING_WIDTH for _ in TRAILING_HEADERS)]
    for index, width in enumerate(widths):
        sheet.worksheet.set_column(index, index, width)
    sheet.write_row(0, headers, "header")
    sheet.worksheet.freeze_panes(1, 1)
    words = _words_by_language(languages)
    row = 1
    for merged in plan.questions:
        for values, style in _question_rows(merged, languages, words):
            sheet.write_row(row, values, style)
            row += 1
    for column in plan.metric_columns:
        for values, style in _metric_rows(column, languages):
            sheet.write_row(row, values, style)
            row += 1
    sheet.worksheet.autofilter(0, 0, max(row - 1, 0), len(headers) - 1)


def _words_by_language(languages: tuple[str, ...]) -> dict[str, dict[str, str]]:
    found = {}
    for language in languages:
        with export_locale(language):
            found[language] = standard_words()
    return found


def _question_rows(merged: MergedQuestion, languages: tuple[str, ...],
                   words: Mapping[str, Mapping[str, str]]) -> Iterator[tuple[list[Any], str]]:
    question = merged.question
    latest = merged.versions[-1].questionnaire
    page = latest.page(question.page_id)

    def labels(text: Text | None) -> list[str]:
        return [localize(text, language, merged.language) for language in languages]

    yield [question.id, question.type, question.page_id, question.repeat_id, "question", None,
           *labels(question.label), "yes" if question.required else "no",
           question.show_if.source if question.show_if else None,
           page.show_if.source if page is not None and page.show_if else None,
           question.expression.source if question.expression else None,
           ", ".join(str(version.number) for version in merged.versions),
           "\n".join(_plugin_rules(latest.document.get("plugins", {}), question.id)) or None], "bold"
    blank = [None] * len(TRAILING_HEADERS)
    if question.type == "yes_no":
        for value in YES_NO_VALUES:
            yield [question.id, None, None, None, "choice", value, *(words[language][value] for language in languages),
                   *blank], "cell"
    for kind, choices in (("choice", merged.choices), ("row", merged.rows)):
        for choice in choices:
            yield [question.id, None, None, None, kind, choice.value, *labels(choice.label), *blank], "cell"
    if merged.other is not None:
        yield [question.id, None, None, None, "other", OTHER_VALUE, *labels(merged.other), *blank], "cell"
    if question.type == "rating":
        for end in ("min", "max"):
            if question.options.get(f"{end}_label") is not None:
                value = question.options.get(end, 1 if end == "min" else 5)
                yield [question.id, None, None, None, "scale", str(value), *labels(question.options[f"{end}_label"]),
                       *blank], "cell"


def _metric_rows(column: ResponseColumn, languages: tuple[str, ...]) -> Iterator[tuple[list[Any], str]]:
    blank = [None] * len(TRAILING_HEADERS)
    yield [column.key, f"plugin column ({column.kind})", None, None, "column", None,
           *(localize(column.label, language, language) for language in languages), *blank], "bold"
    for code, text in column.code_labels.items():
        yield [column.key, None, None, None, "code", code,
               *(localize(text, language, language) for language in languages), *blank], "cell"


def _plugin_rules(value: Any, question_id: str, path: str = "") -> Iterator[str]:
    """Every object under ``value`` whose ``question`` is ``question_id``, as ``path: JSON``."""
    if isinstance(value, Mapping):
        if value.get("question") == question_id:
            yield f"{path.lstrip('/')}: {json.dumps(value, ensure_ascii=False, separators=(',', ':'))}"
            return
        for key, child in value.items():
            yield from _plugin_rules(child, question_id, f"{path}/{key}")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _plugin_rules(child, question_id, f"{path}/{index}")
