"""The column plan of an export, built from every questionnaire version of a survey.

Questions are the union over the versions, in order: a question added in a
later version is placed after the question it follows there; its definition
(labels, type) is the latest version's, and its choices and matrix rows are the
union of every version's. A column knows the versions that asked it, so a
respondent whose version did not ask it gets a blank, never a 0.

Column keys (the headers when exporting codes) cannot collide: question ids
and choice values never contain ``:`` or ``#``, metadata keys start with ``_``
(ids cannot), and a column of a choice is ``question.value`` (ids have no dot).

* metadata: ``_id``, ``_submission_id``, ``_submitted_at``, ``_started_at``
  (UTC), ``_language``, ``_version`` (the published number), ``_status``;
* single choice, yes/no: ``q`` (the code or its label); other text ``q:other``;
* multiple choice: ``q`` (the codes joined by spaces, or the labels by "; ",
  optional), then ``q.value`` 0/1 per choice (``q.other`` too when offered;
  blank when the question was not answered), then ``q:other``;
* matrix: ``q.row`` per row (the code or label of the cell);
* ranking: ``q.value`` per choice, holding its rank (1 = best);
* numbers, ratings, calculated values: ``q`` (numbers stay numbers); dates: real dates;
* question types from plugins: the type's export columns, ``q`` or ``q.suffix`` (e.g. ``q.lat``, ``q.lon``);
* repeat groups: a table each (``_response_id``, ``_entry``, then their questions);
* plugin columns (``response_columns``): ``plugin.name``, from ``ResponseMetric`` rows.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, NamedTuple

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app import plugins
from survey_app.contributions import ResponseColumn
from survey_app.models import QuestionnaireVersion
from survey_app.questionnaire.model import OTHER_VALUE, YES_NO_VALUES, Choice, Question, Questionnaire
from survey_app.questionnaire.texts import Text, localize
from survey_app.responses.storage import OTHER_ITEM
from survey_app.surveys import questionnaire_of

NO_COLUMNS = frozenset({"note", "repeat"})

#: One stored answer value: (code, number, text).
Cell = tuple[str | None, float | None, str | None]


@dataclass(frozen=True)
class Version:
    """A published questionnaire version of the survey being exported."""

    id: int
    number: int
    questionnaire: Questionnaire


@dataclass(frozen=True)
class MergedQuestion:
    """A question as the union of the versions that have it."""

    question: Question  # the latest version's definition
    language: str  # that version's default language, the fallback of its texts
    versions: tuple[Version, ...]  # the versions that have it, oldest first
    choices: tuple[Choice, ...]  # every version's choices, in order
    rows: tuple[Choice, ...]  # every version's matrix rows, in order
    asked: Mapping[str, frozenset[int]]  # choice or row value -> ids of the versions offering it
    other: Text | None  # the latest "other" label, if any version offers "other"

    @property
    def id(self) -> str:
        """The question id."""
        return self.question.id

    def text(self, value: Text | None, language: str) -> str:
        """A text of this question in ``language`` (else its default language)."""
        return localize(value, language, self.language)


class Record(NamedTuple):
    """What a computed column reads for one row: the response, answers and the plugin metrics."""

    response: Any  # row: id, submission_id, submitted_at, started_at, language, version_id, status
    entry: int  # 0 for the Responses table, 1, 2... in a repeat group's table
    answers: Mapping[str, Mapping[str, Cell]]  # question id -> item -> cell, for the questions columns read
    metrics: Mapping[tuple[str, str], tuple[float | None, str | None]]  # (plugin, name) -> (number, code)


@dataclass(frozen=True)
class Column:
    """One column: its key, its header in the chosen mode, a kind (for widths) and where its values come from.

    Either ``source``, the stored answer to (question id, item): its code
    shown through ``labels`` (code -> label; a code without one as itself),
    else its number, else its text, unless ``convert`` (a function of the
    stored cell) says otherwise; or ``value``, a function of the whole
    :class:`Record` (metadata, 0/1 flags, joined choices, plugin metrics),
    whose ``answers`` hold the question named by ``reads``.
    """

    key: str
    header: str
    kind: str  # "id", "code", "flag", "number", "date", "datetime", "text"
    value: Callable[[Record], Any] | None = None
    reads: str | None = None
    source: tuple[str, str] | None = None
    labels: Mapping[str, str] | None = None
    convert: Callable[[Cell], Any] | None = None


@dataclass(frozen=True)
class Table:
    """The Responses table, or a repeat group's table (``repeat_id``)."""

    name: str
    columns: tuple[Column, ...]
    repeat_id: str | None = None


@dataclass(frozen=True)
class Plan:
    """Everything an export writes, in the chosen language and mode (labels or codes)."""

    responses: Table
    repeats: tuple[Table, ...]
    questions: tuple[MergedQuestion, ...]
    metric_columns: tuple[ResponseColumn, ...]
    languages: tuple[str, ...]
    language: str
    codes: bool


def load_versions(session: Session, survey_id: int) -> list[Version]:
    """The survey's published versions, oldest first."""
    found = session.execute(select(QuestionnaireVersion).where(QuestionnaireVersion.survey_id == survey_id)
                            .order_by(QuestionnaireVersion.number)).scalars()
    return [Version(version.id, version.number, questionnaire_of(version)) for version in found]


def union_order(sequences: Iterable[Sequence[str]]) -> list[str]:
    """Every key of every sequence once; a key new in a later sequence goes right after its predecessor there."""
    order: list[str] = []
    for sequence in sequences:
        anchor = -1
        for key in sequence:
            if key in order:
                anchor = order.index(key)
            else:
                anchor += 1
                order.insert(anchor, key)
    return order


def merged_questions(versions: Sequence[Version]) -> list[MergedQuestion]:
    """The union of the versions' questions (notes included), in order."""
    ids = union_order([list(version.questionnaire.questions) for version in versions])
    return [_merge([(v, v.questionnaire.questions[id]) for v in versions if id in v.questionnaire.questions])
            for id in ids]


def _merge(found: list[tuple[Version, Question]]) -> MergedQuestion:
    latest_version, latest = found[-1]
    asked: dict[str, set[int]] = {}
    labels: dict[str, Choice] = {}
    for version, question in found:
        for choice in question.choices + question.rows:
            labels[choice.value] = choice
        for value in question.choice_values() + tuple(row.value for row in question.rows):
            asked.setdefault(value, set()).add(version.id)
    choices = union_order([[choice.value for choice in question.choices] for _, question in found])
    rows = union_order([[row.value for row in question.rows] for _, question in found])
    other = next((question.other for _, question in reversed(found) if question.other is not None), None)
    return MergedQuestion(latest, latest_version.questionnaire.default_language, tuple(v for v, _ in found),
                          tuple(labels[value] for value in choices), tuple(labels[value] for value in rows),
                          {value: frozenset(ids) for value, ids in asked.items()}, other)


def metric_columns(versions: Sequence[Version]) -> list[ResponseColumn]:
    """Plugin columns (``response_columns``) of every version, each key once, the latest wins."""
    found: dict[str, ResponseColumn] = {}
    for version in versions:
        for returned in plugins.hook().response_columns(questionnaire=version.questionnaire):
            for column in returned or ():
                found.pop(column.key, None)
                found[column.key] = column
    return list(found.values())


@contextlib.contextmanager
def export_locale(language: str) -> Iterator[None]:
    """Translate interface words (Yes, No, headers) into ``language`` when the interface has it."""
    chosen = language if language in current_app.config["INTERFACE_LANGUAGES"] else "en"
    with force_locale(chosen):
        yield


def standard_words() -> dict[str, str]:
    """Interface words for values a questionnaire gives no label for, in the current locale."""
    return {"yes": _("Yes"), "no": _("No"), "complete": _("Complete"), "partial": _("Partial")}


def build_plan(versions: Sequence[Version], metrics: Sequence[ResponseColumn], *, language: str, codes: bool,
               joined: bool = True) -> Plan:
    """The tables of an export: headers and values as labels in ``language``, or as codes.

    Call it within :func:`export_locale` so that interface words are in ``language``.
    """
    questions = merged_questions(versions)
    builder = _Builder(language, codes, joined)
    main = [*builder.metadata({version.id: version.number for version in versions})]
    repeats = []
    for merged in questions:
        if merged.question.type == "repeat":
            children = [child for child in questions if child.question.repeat_id == merged.id]
            columns = [*builder.entry_columns()]
            for child in children:
                columns.extend(builder.question(child))
            name = merged.text(merged.question.label, language) if not codes else merged.id
            repeats.append(Table(name or merged.id, tuple(columns), merged.id))
        elif merged.question.repeat_id is None:
            main.extend(builder.question(merged))
    main.extend(builder.metric(column) for column in metrics)
    languages = tuple(dict.fromkeys(code for version in versions for code in version.questionnaire.languages))
    return Plan(Table("Responses", tuple(main)), tuple(repeats), tuple(questions), tuple(metrics), languages, language,
                codes)


class _Builder:
    """Makes the columns of one plan (one language, one mode)."""

    def __init__(self, language: str, codes: bool, joined: bool):
        self.language, self.codes, self.joined = language, codes, joined
        self.words = standard_words()

    def header(self, key: str, *parts: str) -> str:
        """The key when exporting codes, else the parts (question label, choice label...) joined."""
        return key if self.codes else ": ".join(part for part in parts if part)

    def metadata(self, numbers: Mapping[int, int]) -> Iterator[Column]:
        """The response's own columns; ``numbers``: version id -> published number."""
        words = self.words
        yield Column("_id", self.header("_id", _("Response id")), "id", lambda r: r.response.id)
        yield Column("_submission_id", self.header("_submission_id", _("Submission id")), "text",
                     lambda r: r.response.submission_id)
        yield Column("_submitted_at", self.header("_submitted_at", _("Submitted (UTC)")), "datetime",
                     lambda r: naive_utc(r.response.submitted_at))
        yield Column("_started_at", self.header("_started_at", _("Started (UTC)")), "datetime",
                     lambda r: naive_utc(r.response.started_at))
        yield Column("_language", self.header("_language", _("Language")), "code", lambda r: r.response.language)
        yield Column("_version", self.header("_version", _("Version")), "id",
                     lambda r: numbers.get(r.response.version_id))
        status = (lambda r: r.response.status.value) if self.codes else \
            (lambda r: words.get(r.response.status.value, r.response.status.value))
        yield Column("_status", self.header("_status", _("Status")), "code", status)

    def entry_columns(self) -> Iterator[Column]:
        """The first columns of a repeat group's table: the response and the entry number."""
        yield Column("_response_id", self.header("_response_id", _("Response id")), "id", lambda r: r.response.id)
        yield Column("_entry", self.header("_entry", _("Entry")), "id", lambda r: r.entry)

    def question(self, merged: MergedQuestion) -> list[Column]:
        """The columns of one question (none for notes and repeat groups themselves)."""
        question, id = merged.question, merged.id
        label = merged.text(question.label, self.language) or id
        labels = self.choice_labels(merged)
        match question.type:
            case t if t in NO_COLUMNS:
                return []
            case _ if question.plugin_type is not None:
                columns = self.plugin_type(merged, label)
            case "single_choice" | "yes_no":
                columns = [Column(id, self.header(id, label), "code", source=(id, ""), labels=labels)]
            case "multiple_choice":
                columns = self.multiple(merged, label, labels)
            case "matrix":
                columns = [Column(f"{id}.{row.value}", self.header(f"{id}.{row.value}", label,
                                                                   merged.text(row.label, self.language)),
                                  "code", source=(id, row.value), labels=labels) for row in merged.rows]
            case "ranking":
                rank = _("rank")
                columns = [Column(f"{id}.{choice.value}", self.header(
                    f"{id}.{choice.value}", label, f"{merged.text(choice.label, self.language)} ({rank})"),
                    "number", source=(id, choice.value), convert=_rank) for choice in merged.choices]
            case "date":
                columns = [Column(id, self.header(id, label), "date", source=(id, ""), convert=_date)]
            case "integer" | "decimal" | "rating":
                columns = [Column(id, self.header(id, label), "number", source=(id, ""))]
            case "calculated":
                columns = [Column(id, self.header(id, label), "code", source=(id, ""))]
            case _:
                columns = [Column(id, self.header(id, label), "text", source=(id, ""))]
        if merged.other is not None and question.type != "multiple_choice":
            columns.append(self.other_text(merged, label))
        return columns

    def plugin_type(self, merged: MergedQuestion, label: str) -> list[Column]:
        """A question of a plugin's type: the columns its type declares, each computed from the answer."""
        kind = merged.question.plugin_type
        columns = []
        for column in kind.columns():
            key = f"{merged.id}.{column.suffix}" if column.suffix else merged.id
            header = self.header(key, label, localize(column.header, self.language, merged.language))
            columns.append(Column(key, header, column.kind, _plugin_cell(merged.id, kind.column, column.cell),
                                  reads=merged.id))
        return columns

    def multiple(self, merged: MergedQuestion, label: str, labels: Mapping[str, str]) -> list[Column]:
        """A multiple-choice question: the joined column, a 0/1 column per choice, the "other" text."""
        id = merged.id
        values = [choice.value for choice in merged.choices] + ([OTHER_VALUE] if merged.other is not None else [])
        columns = []
        if self.joined:
            separator = " " if self.codes else "; "
            columns.append(Column(id, self.header(id, label), "text", _joined(id, values, labels, separator), reads=id))
        for value in values:
            text = labels.get(value, value)
            columns.append(Column(f"{id}.{value}", self.header(f"{id}.{value}", label, text), "flag",
                                  _flag(id, value, merged.asked.get(value, frozenset())), reads=id))
        if merged.other is not None:
            columns.append(self.other_text(merged, label))
        return columns

    def other_text(self, merged: MergedQuestion, label: str) -> Column:
        """The "other, please specify" text of a question."""
        key = f"{merged.id}:other"
        return Column(key, self.header(key, label, merged.text(merged.other, self.language)), "text",
                      source=(merged.id, OTHER_ITEM), convert=_text)

    def choice_labels(self, merged: MergedQuestion) -> dict[str, str]:
        """Code -> label in the export's language ({} when exporting codes)."""
        if self.codes:
            return {}
        if merged.question.type == "yes_no":
            return {value: self.words[value] for value in YES_NO_VALUES}
        labels = {choice.value: merged.text(choice.label, self.language) for choice in merged.choices}
        if merged.other is not None:
            labels[OTHER_VALUE] = merged.text(merged.other, self.language)
        return labels

    def metric(self, column: ResponseColumn) -> Column:
        """A plugin's column, read from its ``ResponseMetric`` rows."""
        key = (column.plugin, column.name)
        header = self.header(column.key, localize(column.label, self.language, self.language) or column.key)
        if column.kind == "number":
            return Column(column.key, header, "number", lambda r: r.metrics.get(key, (None, None))[0])
        labels = {} if self.codes else {code: localize(text, self.language, self.language)
                                        for code, text in column.code_labels.items()}

        def code(record: Record) -> str | None:
            value = record.metrics.get(key, (None, None))[1]
            return labels.get(value, value) if value is not None else None

        return Column(column.key, header, "code", code)


def naive_utc(moment: datetime | None) -> datetime | None:
    """A timestamp as a naive UTC datetime (spreadsheets have no time zones)."""
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment is not None else None


def _text(cell: Cell) -> str | None:
    return cell[2]


def _rank(cell: Cell) -> float | None:
    return cell[1]


def _date(cell: Cell) -> Any:
    """An ISO date as a date (anything else as stored)."""
    code, number, text = cell
    if text is None:
        return code if code is not None else number
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text


def _plugin_cell(question_id: str, stored_in: str, cell: Callable[[Any], Any]) -> Callable[[Record], Any]:
    """A plugin type's column: its ``cell`` function of the answer, read back from its ``number`` or ``text``."""
    index = 1 if stored_in == "number" else 2

    def value(record: Record) -> Any:
        stored = record.answers.get(question_id, {}).get("")
        return cell(stored[index]) if stored is not None and stored[index] is not None else None

    return value


def _flag(question_id: str, value: str, asked: frozenset[int]) -> Callable[[Record], int | None]:
    """1 when chosen; 0 when the question was answered and the respondent's version offered it; else blank."""
    def flag(record: Record) -> int | None:
        chosen = record.answers.get(question_id)
        if chosen is None:
            return None
        if value in chosen:
            return 1
        return 0 if record.response.version_id in asked else None

    return flag


def _joined(question_id: str, values: Sequence[str], labels: Mapping[str, str],
            separator: str) -> Callable[[Record], str | None]:
    """The chosen codes (or labels) in the questionnaire's order (codes it does not know last, sorted)."""
    known = set(values) | {OTHER_ITEM}

    def joined(record: Record) -> str | None:
        chosen = record.answers.get(question_id)
        if not chosen:
            return None
        picked = [value for value in values if value in chosen]
        if len(picked) + (OTHER_ITEM in chosen) < len(chosen):
            picked += sorted(chosen.keys() - known)
        return separator.join([labels.get(value, value) for value in picked]) or None

    return joined
