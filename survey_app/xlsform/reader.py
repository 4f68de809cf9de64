"""Read an XLSForm workbook (.xlsx bytes) into rows of text, each with its row number.

The file is checked before anything parses it: its size, that it is a zip, and the
uncompressed size of every entry in the zip's directory (Python's ``zipfile`` never
inflates an entry beyond the size its directory declares, so a zip bomb is refused
here rather than discovered in memory). openpyxl then reads the sheets in read-only
mode, with defusedxml guarding the XML, and stops as soon as the workbook has more
rows than allowed.

Column headers are understood as pyxform understands them (``label::English (en)``,
``relevance``, ``constraint message``, ``repeat_count``, ``list name``...), through
:func:`pyxform.parsing.sheet_headers.process_header` and pyxform's alias tables, so a
workbook pyxform accepts is read the same way here. Each header becomes a
:class:`Column`: its ``field`` (our name for what it holds, or None when we do not
support it) and, for translatable fields, its ``language`` part.
"""
from __future__ import annotations

import datetime
import io
import re
import zipfile
from dataclasses import dataclass, field

from survey_app.questionnaire.errors import Problem

#: Most data rows (not counting headers or blank rows) over all the sheets read.
MAX_ROWS = 5_000
#: Most columns a sheet may have.
MAX_COLUMNS = 500
#: Most entries in the zip, and most uncompressed bytes of one entry and of all of them.
MAX_ZIP_ENTRIES = 1_000
MAX_ENTRY_BYTES = 10 * 1024 * 1024
MAX_TOTAL_BYTES = 40 * 1024 * 1024
#: Most cells in all the worksheets, counted in their XML before openpyxl parses a cell.
MAX_CELLS = 100_000
#: Sheets that hold the form. The others pyxform knows, which we do not support.
FORM_SHEETS = ("survey", "choices", "settings")
UNSUPPORTED_SHEETS = ("external_choices", "entities", "osm")

_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s>/]")
_WHITESPACE = re.compile(r" +")

# pyxform's header tokens (after its aliases) -> our field name, per sheet.
_SURVEY_FIELDS = {
    ("type",): "type", ("name",): "name", ("label",): "label", ("hint",): "hint",
    ("bind", "required"): "required", ("bind", "jr:requiredMsg"): "required_message",
    ("bind", "relevant"): "relevant", ("bind", "constraint"): "constraint",
    ("bind", "jr:constraintMsg"): "constraint_message", ("bind", "calculate"): "calculation",
    ("default",): "default", ("control", "appearance"): "appearance", ("choice_filter",): "choice_filter",
    ("control", "jr:count"): "repeat_count", ("parameters",): "parameters",
}
_CHOICES_FIELDS = {("list name",): "list_name", ("name",): "name", ("label",): "label"}
_SETTINGS_FIELDS = {
    ("title",): "form_title", ("id_string",): "form_id", ("version",): "version",
    ("default_language",): "default_language", ("style",): "style",
}
#: Fields that may carry a language part (``label::Russian (ru)``).
TRANSLATABLE = frozenset({"label", "hint", "required_message", "constraint_message"})


@dataclass(frozen=True)
class Column:
    """One column: its header as written, what it holds, and its language part if any."""

    header: str
    field: str | None  # None: a column we do not support
    language: str | None = None  # the text after "::", e.g. "Russian (ru)"


@dataclass
class Row:
    """One non-blank row: its number in the spreadsheet (the header row is 1) and its cells."""

    sheet: str
    number: int
    cells: dict[Column, str]

    def get(self, field_name: str) -> str | None:
        """The value of the (untranslated) column holding ``field_name``, if any."""
        for column, value in self.cells.items():
            if column.field == field_name and column.language is None:
                return value
        return None

    def texts(self, field_name: str) -> dict[str | None, str]:
        """Every translation of ``field_name`` in this row: language part (None for plain) -> text."""
        return {column.language: value for column, value in self.cells.items() if column.field == field_name}

    def unsupported(self) -> list[Column]:
        """The columns with a value in this row that we do not support."""
        return [column for column in self.cells if column.field is None]


@dataclass
class Sheet:
    """A sheet: its name as written, its columns and its non-blank rows."""

    name: str
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)


@dataclass
class Workbook:
    """The sheets of an XLSForm that we read (``survey``, ``choices``, ``settings``)."""

    survey: Sheet | None = None
    choices: Sheet | None = None
    settings: Sheet | None = None
    sheet_names: tuple[str, ...] = ()


def sheet_path(sheet: str, row: int | None = None) -> str:
    """The problem path of a sheet or one of its rows: ``/xlsform/survey/row/12``."""
    return f"/xlsform/{sheet}" + (f"/row/{row}" if row is not None else "")


class _Refused(Exception):
    pass


def read_workbook(data: bytes, *, max_bytes: int, max_rows: int = MAX_ROWS) -> tuple[Workbook | None, list[Problem]]:
    """Read ``data`` (the bytes of an .xlsx file); return the workbook, or None and one problem."""
    problem = _container_problem(data, max_bytes)
    if problem is not None:
        return None, [problem]
    try:
        return _read(data, max_rows), []
    except _Refused as error:
        return None, [Problem(str(error.args[0]), str(error.args[1]))]
    except Exception as error:  # openpyxl and the XML parsers raise many kinds; none may escape
        return None, [Problem("/xlsform", f"the workbook could not be read ({type(error).__name__}); "
                                         "save it again as an Excel .xlsx file")]


def _container_problem(data: bytes, max_bytes: int) -> Problem | None:
    """Everything that can be checked without parsing a sheet: size, zip, entry sizes."""
    if not isinstance(data, bytes | bytearray):
        return Problem("/xlsform", "an XLSForm must be given as the bytes of an .xlsx file")
    if len(data) > max_bytes:
        return Problem("/xlsform", f"the file is larger than {max_bytes:,} bytes")
    if data[:8] == _OLE2_MAGIC:
        return Problem("/xlsform", "this is an old Excel .xls file or a password-protected workbook; "
                                   "save it as an unprotected .xlsx workbook")
    if not data.startswith(b"PK"):
        return Problem("/xlsform", "this is not an .xlsx workbook (an .xlsx file is a zip archive)")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as error:
        return Problem("/xlsform", f"this is not a readable .xlsx workbook: the zip archive is damaged ({error})")
    if len(entries) > MAX_ZIP_ENTRIES:
        return Problem("/xlsform", f"the workbook's zip archive has more than {MAX_ZIP_ENTRIES:,} entries")
    total = 0
    for entry in entries:
        if entry.flag_bits & 0x1:
            return Problem("/xlsform", "the workbook is encrypted; save it without a password")
        if entry.file_size > MAX_ENTRY_BYTES:
            return Problem("/xlsform", f"the workbook's part '{entry.filename[:100]}' unpacks to "
                                       f"{entry.file_size:,} bytes; at most {MAX_ENTRY_BYTES:,} are allowed")
        total += entry.file_size
    if total > MAX_TOTAL_BYTES:
        return Problem("/xlsform", f"the workbook unpacks to {total:,} bytes; at most {MAX_TOTAL_BYTES:,} are allowed")
    names = {entry.filename for entry in entries}
    if "[Content_Types].xml" not in names or not any(name.startswith("xl/") for name in names):
        return Problem("/xlsform", "this zip archive is not an Excel .xlsx workbook "
                                   "(an .ods or .docx file? save the form as .xlsx)")
    return _cells_problem(data, entries)


def _cells_problem(data: bytes, entries: list[zipfile.ZipInfo]) -> Problem | None:
    """Count the worksheets' cells in their XML (fast), so that a sheet of millions of
    cells is refused before openpyxl spends minutes on it."""
    cells = 0
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for entry in entries:
                if entry.filename.startswith("xl/worksheets/") and entry.filename.endswith(".xml"):
                    cells += sum(1 for _ in _CELL_TAG.finditer(archive.read(entry)))
                    if cells > MAX_CELLS:
                        return Problem("/xlsform", f"the workbook has more than {MAX_CELLS:,} cells; "
                                                   "remove unused rows, columns and sheets")
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError, NotImplementedError) as error:
        return Problem("/xlsform", f"this is not a readable .xlsx workbook: the zip archive is damaged ({error})")
    return None


def _read(data: bytes, max_rows: int) -> Workbook:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
    try:
        result = Workbook(sheet_names=tuple(book.sheetnames))
        wanted = {name.lower(): name for name in book.sheetnames}
        if len(book.sheetnames) == 1 and book.sheetnames[0].lower() not in (*FORM_SHEETS, *UNSUPPORTED_SHEETS):
            wanted = {"survey": book.sheetnames[0]}  # pyxform reads a lone sheet as the survey
        budget = [max_rows]
        for key in FORM_SHEETS:
            if key in wanted:
                setattr(result, key, _read_sheet(book[wanted[key]], key, budget, max_rows))
        for key in UNSUPPORTED_SHEETS:
            if key in wanted and _has_rows(book[wanted[key]]):
                raise _Refused(sheet_path(key), f"the '{wanted[key]}' sheet is not supported; "
                                               "remove it (and the questions that use it)")
        return result
    finally:
        book.close()


def _has_rows(worksheet) -> bool:
    for number, row in enumerate(worksheet.iter_rows(values_only=True), start=1):
        if number > 1 and any(not _blank(value) for value in row):
            return True
        if number > 10:
            break
    return False


def _read_sheet(worksheet, key: str, budget: list[int], max_rows: int) -> Sheet:
    worksheet.reset_dimensions()  # the declared size may lie; read what is there
    rows = worksheet.iter_rows()
    header_cells = tuple(_value(cell, key, 1) for cell in next(rows, ()))
    columns = _columns(key, header_cells)
    sheet = Sheet(name=key, columns=[column for column in columns if column is not None])
    for number, row_cells in enumerate(rows, start=2):
        values = tuple(_value(cell, key, number) for cell in row_cells)
        cells: dict[Column, str] = {}
        for column, value in zip(columns, values):
            if column is None:
                if not _blank(value):
                    raise _Refused(sheet_path(key, number), "a cell has a value but its column has no header in row 1")
                continue
            text = _text(value)
            if text:
                cells[column] = text
        if len(values) > len(columns) and any(not _blank(value) for value in values[len(columns):]):
            raise _Refused(sheet_path(key, number), "a cell has a value but its column has no header in row 1")
        if not cells:
            continue
        budget[0] -= 1
        if budget[0] < 0:
            raise _Refused(sheet_path(key, number), f"the workbook has more than {max_rows:,} rows; "
                                                   "split the form or remove unused rows")
        sheet.rows.append(Row(key, number, cells))
    return sheet


def _columns(key: str, header_cells: tuple) -> list[Column | None]:
    from pyxform import aliases
    from pyxform.parsing.sheet_headers import process_header
    from pyxform.question import MultipleChoiceQuestion, Option
    from pyxform.survey import Survey

    if len(header_cells) > MAX_COLUMNS:
        trailing = list(header_cells[MAX_COLUMNS:])
        if any(not _blank(value) for value in trailing):
            raise _Refused(sheet_path(key, 1), f"the '{key}' sheet has more than {MAX_COLUMNS} columns")
        header_cells = header_cells[:MAX_COLUMNS]
    alias_table, known, fields = {
        "survey": (aliases.survey_header, set(MultipleChoiceQuestion.get_slot_names()), _SURVEY_FIELDS),
        "choices": (aliases.list_header, set(Option.get_slot_names()), _CHOICES_FIELDS),
        "settings": (aliases.settings_header, set(Survey.get_slot_names()), _SETTINGS_FIELDS),
    }[key]
    headers = [None if _blank(value) else _WHITESPACE.sub(" ", str(value).strip()) for value in header_cells]
    double_colon = any("::" in header for header in headers if header)
    columns: list[Column | None] = []
    seen: dict[tuple, str] = {}
    for header in headers:
        if header is None:
            columns.append(None)
            continue
        _, tokens = process_header(header, double_colon, alias_table, known)
        tokens = tuple(tokens)
        if tokens in seen:
            raise _Refused(sheet_path(key, 1), f"the columns '{seen[tokens]}' and '{header}' of the '{key}' sheet "
                                              "hold the same thing; keep one")
        seen[tokens] = header
        columns.append(_column(header, tokens, fields))
    return columns


def _column(header: str, tokens: tuple[str, ...], fields: dict[tuple, str]) -> Column:
    if header.startswith("$"):
        return Column(header, "ignored")  # KoboToolbox's own bookkeeping ($kuid, $autoname...)
    for length in (len(tokens), len(tokens) - 1):
        name = fields.get(tokens[:length])
        if name is None:
            continue
        if length == len(tokens):
            return Column(header, name)
        if name in TRANSLATABLE:
            return Column(header, name, tokens[-1])
    return Column(header, None)


def _value(cell, key: str, number: int) -> object:
    """A cell's value; a formula is refused (an XLSForm holds values, and a formula's
    result may not even be stored in the file)."""
    if getattr(cell, "data_type", None) == "f":
        raise _Refused(sheet_path(key, number), f"the cell {getattr(cell, 'coordinate', '')} holds a formula "
                                               f"({str(cell.value)[:60]}); type its value instead")
    return getattr(cell, "value", None)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: object) -> str:
    """A cell as text, as pyxform reads it (whole floats without '.0', booleans in capitals),
    with dates written YYYY-MM-DD."""
    if value is None:
        return ""
    if value is True or value is False:
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).replace("\u00a0", " ").strip()
