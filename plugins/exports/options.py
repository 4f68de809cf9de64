"""What an export is asked for (language, labels or codes...) and what it reports back."""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from .columns import Version
from .rows import DEFAULT_BATCH

#: ``progress(done, total)``: responses written so far, of how many.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ExportOptions:
    """The choices of one export.

    ``language``: the questionnaire language of labels (None: its default);
    ``codes``: write codes (headers are column keys) instead of labels;
    ``joined``: add a column of the chosen values to each multiple-choice question;
    ``table``: for one-table formats (CSV), a repeat group's id to export instead of the Responses table;
    ``summary``: add the Summary sheet to a workbook (off: a quicker export of the data alone).
    """

    language: str | None = None
    codes: bool = False
    joined: bool = True
    table: str | None = None
    summary: bool = True
    batch_size: int = DEFAULT_BATCH

    @classmethod
    def of(cls, options: Mapping[str, Any] | None) -> ExportOptions:
        """Options from the ``options`` mapping an export format's ``write`` receives (unknown keys ignored)."""
        given = options or {}
        return cls(**{name: given[name] for name in cls.__dataclass_fields__ if given.get(name) is not None})


@dataclass
class ExportReport:
    """What an export wrote: responses, rows per sheet or table, and texts truncated to fit a cell."""

    responses: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    truncated: int = 0


def option_problems(options: ExportOptions, versions: Sequence[Version]) -> list[str]:
    """What in ``options`` the survey's versions cannot satisfy: an unknown language or repeat group."""
    languages = {language for version in versions for language in version.questionnaire.languages}
    groups = {question.id for version in versions for question in version.questionnaire.all_questions()
              if question.type == "repeat"}
    problems = []
    if options.language is not None and options.language not in languages:
        problems.append(_("The questionnaire has no language “%(language)s”.", language=options.language[:40]))
    if options.table is not None and options.table not in groups:
        problems.append(_("The questionnaire has no repeat group “%(group)s”.", group=options.table[:100]))
    return problems
