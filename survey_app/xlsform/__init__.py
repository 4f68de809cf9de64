"""XLSForm: import a workbook as one of our questionnaires, and export one as a workbook.

The calls the rest of the app uses::

    document, problems = convert_xlsform(data, max_bytes=app.config["MAX_QUESTIONNAIRE_BYTES"])
    problems = find_xlsform_problems(data, max_bytes=..., check_plugins=...)   # validate
    questionnaire = load_xlsform(data, max_bytes=..., check_plugins=...)       # import
    data = questionnaire_to_xlsform(questionnaire_or_document)                 # export

Problems point at workbook rows: ``/xlsform/survey/row/12``, ``/xlsform/choices/row/3``,
``/xlsform/settings/row/2`` (``/xlsform`` for the file as a whole).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from survey_app.questionnaire.errors import Problem, QuestionnaireInvalid
from survey_app.questionnaire.loader import DEFAULT_MAX_BYTES, find_problems, load_questionnaire
from survey_app.questionnaire.model import Questionnaire
from survey_app.xlsform.convert import Conversion, convert_workbook_bytes, problem_order
from survey_app.xlsform.export import LOST_IN_XLSFORM, questionnaire_to_xlsform
from survey_app.xlsform.expressions import Unsupported, to_xpath, translate_xpath
from survey_app.xlsform.reader import MAX_ROWS

__all__ = [
    "LOST_IN_XLSFORM",
    "Unsupported",
    "convert_xlsform",
    "find_xlsform_problems",
    "is_xlsform",
    "load_xlsform",
    "questionnaire_to_xlsform",
    "to_xpath",
    "translate_xpath",
]

PluginCheck = Callable[[Questionnaire], Iterable[Problem]]


def is_xlsform(data: bytes) -> bool:
    """Whether ``data`` looks like a workbook (a zip, or an old .xls) rather than JSON text."""
    return data[:2] == b"PK" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def convert_xlsform(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_rows: int = MAX_ROWS, language: str | None = None,
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Convert the bytes of an XLSForm .xlsx file into a questionnaire document.

    Returns ``(document, [])``, or ``(None, problems)`` with every row that could not be
    converted. The document still has to pass :func:`find_problems` (or use
    :func:`find_xlsform_problems`, which runs both and reports by row). ``language`` is
    the code of texts in columns without one (``label``); by default the settings'
    ``default_language``, else guessed from the script.
    """
    conversion = convert_workbook_bytes(data, max_bytes=max_bytes, max_rows=max_rows, language=language)
    return conversion.document, conversion.problems


def find_xlsform_problems(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, check_plugins: PluginCheck | None = None,
    max_rows: int = MAX_ROWS, language: str | None = None,
) -> list[Problem]:
    """Every problem of the workbook: first those of the conversion, then, if none, those
    the questionnaire checks find, each moved to the workbook row it came from."""
    conversion = convert_workbook_bytes(data, max_bytes=max_bytes, max_rows=max_rows, language=language)
    if conversion.problems:
        return conversion.problems
    problems = find_problems(conversion.document, max_bytes=max_bytes, check_plugins=check_plugins)
    return _located(conversion, problems)


def load_xlsform(
    data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, check_plugins: PluginCheck | None = None,
    max_rows: int = MAX_ROWS, language: str | None = None,
) -> Questionnaire:
    """The questionnaire of an XLSForm workbook; raises :class:`QuestionnaireInvalid` with
    every problem (by workbook row)."""
    conversion = convert_workbook_bytes(data, max_bytes=max_bytes, max_rows=max_rows, language=language)
    if conversion.problems:
        raise QuestionnaireInvalid(conversion.problems)
    try:
        return load_questionnaire(conversion.document, max_bytes=max_bytes, check_plugins=check_plugins)
    except QuestionnaireInvalid as error:
        raise QuestionnaireInvalid(_located(conversion, error.problems)) from None


def _located(conversion: Conversion, problems: list[Problem]) -> list[Problem]:
    located = dict.fromkeys(conversion.locate(problem) for problem in problems)
    return sorted(located, key=problem_order)
