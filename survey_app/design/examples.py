"""The example questionnaires a new survey can start from (``questionnaires/*.json``).

The folder is ``QUESTIONNAIRE_EXAMPLES_DIR`` if set, else ``questionnaires/`` next to
the package (a source checkout). Only files of that folder are ever read: the
form sends a file's stem, which must be one of those listed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import current_app

from survey_app.design.outline import text_of


@dataclass(frozen=True)
class Example:
    """One example questionnaire: its file, its id and its titles."""

    name: str  # the file's stem
    path: Path
    id: str
    document: Any

    def title(self, language: str | None) -> str:
        return text_of(self.document, self.document.get("title"), language)

    def question_count(self) -> int:
        from survey_app.design.outline import all_ids

        pages = self.document.get("pages") or []
        return len(all_ids(self.document)) - sum(1 for page in pages if isinstance(page, dict))


def _folder() -> Path:
    configured = current_app.config.get("QUESTIONNAIRE_EXAMPLES_DIR")
    return Path(configured) if configured else Path(current_app.root_path).parent / "questionnaires"


def examples() -> list[Example]:
    """The example questionnaires, sorted by file name (an empty list when there are none)."""
    folder = _folder()
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.json"))
    return list(_load(tuple((file, file.stat().st_mtime_ns) for file in files)))


@lru_cache(maxsize=4)
def _load(files: tuple[tuple[Path, int], ...]) -> tuple[Example, ...]:
    found = []
    for path, _ in files:
        try:
            document = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(document, dict) and isinstance(document.get("id"), str):
            found.append(Example(path.stem, path, document["id"], document))
    return tuple(found)


def example(name: str) -> Example | None:
    """The example called ``name`` (a file stem from the list), if there is one."""
    return next((found for found in examples() if found.name == name), None)
