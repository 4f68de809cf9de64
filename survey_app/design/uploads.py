"""Questionnaire files: JSON (or XLSForm, when ``survey_app.xlsform`` is installed) to draft text."""
from __future__ import annotations

import importlib
import importlib.util

from flask import current_app, flash
from flask_babel import gettext as _
from flask_babel import ngettext

from survey_app.design.drafts import Checked, pretty, refusal
from survey_app.questionnaire import Problem
from survey_app.questionnaire.jsonsafe import decode_text


def _xlsform_module():
    if importlib.util.find_spec("survey_app.xlsform") is None:
        return None
    return importlib.import_module("survey_app.xlsform")


def xlsform_converter():
    """``survey_app.xlsform.convert_xlsform`` if that module is installed, else None."""
    return getattr(_xlsform_module(), "convert_xlsform", None)


def _is_workbook(raw: bytes, name: str) -> bool:
    module = _xlsform_module()
    if module is not None and hasattr(module, "is_xlsform"):
        return module.is_xlsform(raw)
    return name.endswith((".xlsx", ".xls")) or raw[:2] == b"PK" or raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _problem(found) -> Problem:
    if isinstance(found, Problem):
        return found
    return Problem(str(getattr(found, "path", "") or ""), str(getattr(found, "message", found)))


def file_text(storage) -> tuple[str | None, list[Problem]]:
    """The questionnaire text of an uploaded file (JSON, or an XLSForm when supported)."""
    limit = current_app.config["MAX_QUESTIONNAIRE_BYTES"]
    raw = storage.read()  # at most MAX_CONTENT_LENGTH bytes: the request is refused beyond that
    name = (storage.filename or "").lower()
    if _is_workbook(raw, name):
        convert = xlsform_converter()
        if convert is None:
            return None, [Problem("", _("Excel (XLSForm) files cannot be read yet: upload the questionnaire as JSON."))]
        document, problems = convert(raw, max_bytes=limit)
        if document is None:
            return None, [_problem(found) for found in problems] or [Problem("", _("The file could not be read."))]
        return pretty(document), []
    text, problems = decode_text(raw, limit)
    if problems:
        return None, problems
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if refusal(text) == "nul":
        return None, [Problem("", _("The file contains a NUL character; save it again as UTF-8 text."))]
    return text, []


def flash_draft_state(found: Checked, created: bool = False) -> None:
    """Tell the researcher the draft was stored, and how many problems it still has."""
    count = len(found.problems)
    if count:
        flash((_("The draft was created.") if created else _("The draft was saved.")) + " " +
              ngettext("It has %(num)d problem to fix before it can be published.",
                       "It has %(num)d problems to fix before it can be published.", count), "error")
    else:
        flash(_("The draft was created.") if created else _("The draft was saved."), "success")
