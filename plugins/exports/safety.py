"""Making untrusted text safe for spreadsheet cells, sheet names and xlsxwriter calls.

Answers, labels and codes are untrusted. Spreadsheet programs run a cell that
starts with ``=``, ``+``, ``-`` or ``@`` as a formula (and tab, CR, LF and NUL
can hide such a start), so :func:`safe_text` marks those texts *literal*: the
xlsx writer gives the cell a ``quote_prefix`` format, the CSV writer prefixes
``'``. It also removes what XML 1.0 (so Excel) rejects, and truncates texts
above Excel's 32,767 characters with a visible marker instead of letting
xlsxwriter cut them silently. xlsxwriter reports failures only through return
codes: :func:`checked` turns every non-zero one into an :class:`ExportError`.
"""
from __future__ import annotations

import re
from collections.abc import Collection
from typing import NamedTuple

#: Excel's limit on the characters of a cell (counted in UTF-16 code units).
EXCEL_MAX_TEXT = 32_767
#: Excel's limit on the length of a sheet name.
SHEET_NAME_MAX = 31
#: First characters that make a spreadsheet read a cell as a formula (OWASP, ASVS 5.0 1.2.10).
FORMULA_STARTS = frozenset("=+-@\t\r\n\x00")
TRUNCATION_MARKER = " … [TRUNCATED: {total:,} characters in all]"

# Characters XML 1.0 forbids (tab and LF are kept), DEL, the non-characters
# U+FFFE/U+FFFF, lone surrogates (not encodable as UTF-8), and CR (made LF).
_NEEDS_CLEANING = re.compile("[\x00-\x08\x0b-\x1f\x7f\ufffe\uffff\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f\ud800-\udfff]")
_XLSXWRITER_ERRORS = {-1: "row or column beyond the sheet's limits (or written out of order)",
                      -2: "text longer than 32,767 characters", -3: "URL too long", -4: "string too long"}


class ExportError(RuntimeError):
    """An export could not be written faithfully (e.g. a write rejected by xlsxwriter)."""


class SafeText(NamedTuple):
    """A cell-safe text: ``literal`` asks for a quote prefix; ``truncated`` tells it was cut."""

    text: str
    literal: bool
    truncated: bool


def safe_text(value: str, limit: int | None = EXCEL_MAX_TEXT) -> SafeText:
    """Make ``value`` safe for one cell (answers and headers alike).

    Removes control characters XML rejects (tab and newline are kept), turns CR
    and CRLF into LF, replaces lone surrogates with U+FFFD, marks a text that a
    spreadsheet would read as a formula as literal, and truncates it above
    ``limit`` UTF-16 code units (None: no limit), ending it with a marker that
    gives the full length.
    """
    text = value
    if _NEEDS_CLEANING.search(text):
        text = _SURROGATE.sub("\ufffd", _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")))
    truncated = False
    if limit is not None and len(text) * 2 > limit and _utf16_length(text) > limit:
        text, truncated = _truncate(text, limit), True
    return SafeText(text, bool(text) and text[0] in FORMULA_STARTS, truncated)


class SafeTexts:
    """:func:`safe_text` for one export, remembering short texts: codes and labels repeat on every row.

    Holds at most ``size`` texts of at most ``length`` characters, and only as
    long as the export that owns it.
    """

    def __init__(self, limit: int | None = EXCEL_MAX_TEXT, size: int = 8192, length: int = 64):
        self.limit, self.size, self.length = limit, size, length
        self.known: dict[str, SafeText] = {}

    def __call__(self, value: str) -> SafeText:
        """The cell-safe form of ``value``."""
        safe = self.known.get(value)
        if safe is None:
            safe = safe_text(value, self.limit)
            if len(value) <= self.length and len(self.known) < self.size:
                self.known[value] = safe
        return safe


def _utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _truncate(text: str, limit: int) -> str:
    """The start of ``text`` and the marker, together at most ``limit`` UTF-16 code units."""
    marker = TRUNCATION_MARKER.format(total=len(text))
    budget = limit - _utf16_length(marker)
    kept = text[:budget]
    excess = _utf16_length(kept) - budget
    while excess > 0:  # astral characters take two code units: cut a little more
        kept = kept[:-((excess + 1) // 2)]
        excess = _utf16_length(kept) - budget
    return kept + marker


def sheet_name(wanted: str, taken: Collection[str]) -> str:
    """A valid sheet name close to ``wanted`` and unlike any in ``taken`` (ignoring case).

    Excel's rules: 1 to 31 characters, none of ``[]:*?/\\``, no apostrophe at
    either end, not "History"; controls are dropped as well.
    """
    base = _SHEET_FORBIDDEN.sub("_", wanted).strip().strip("'").strip() or "Sheet"
    if base.casefold() == "history":
        base += "_"
    used = {name.casefold() for name in taken}
    candidate, number = base[:SHEET_NAME_MAX], 1
    while candidate.casefold() in used:
        number += 1
        suffix = f" ({number})"
        candidate = base[:SHEET_NAME_MAX - len(suffix)].rstrip("'") + suffix
    return candidate


def checked(code: int | None, sheet: str, row: int, column: int) -> None:
    """Raise :class:`ExportError` unless an xlsxwriter write returned 0 (or None)."""
    if code:
        reason = _XLSXWRITER_ERRORS.get(code, f"error {code}")
        raise ExportError(f"could not write sheet '{sheet}', row {row + 1}, column {column + 1}: {reason}")
