"""The objects plugins hand to the core through hooks (and the ones question types use)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from survey_app.questionnaire.plugin_types import ExportColumn, FieldInput, QuestionType
from survey_app.questionnaire.texts import Text
from survey_app.questionnaire.values import Issue
from survey_app.responses.validation import Unparsable

__all__ = ["ExportColumn", "ExportFormat", "FieldInput", "Issue", "QuestionType", "ResponseColumn", "Unparsable"]


@dataclass(frozen=True)
class ResponseColumn:
    """An extra per-response column (e.g. a score) for response tables and exports.

    Its values are the ``ResponseMetric`` rows the plugin stored under
    (``plugin``, ``name``): ``number`` when ``kind`` is ``"number"``, else
    ``code``, shown through ``code_labels`` when given.
    """

    plugin: str
    name: str
    label: Text
    kind: str = "number"  # "number" or "code"
    code_labels: Mapping[str, Text] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """A column name unique across plugins, e.g. ``scoring.disclosure_index.percent``."""
        return f"{self.plugin}.{self.name}"


@dataclass(frozen=True)
class ExportFormat:
    """A way to export a survey's responses, offered by a plugin.

    ``write(target, survey_id, questionnaire, filters, session, progress, options)`` writes
    the export into the binary file ``target``; ``progress(done, total)`` may be called
    to report progress of long exports.
    """

    name: str  # short and unique, e.g. "xlsx"
    label: Text
    media_type: str
    extension: str
    write: Callable[..., Any]
    options: Mapping[str, Any] = field(default_factory=dict)

    def filename(self, slug: str) -> str:
        """The download's file name for a survey."""
        return f"{slug}.{self.extension}"
