"""A survey's results: frequencies, numeric summaries and crosstabs, from counts the database makes.

The database does every count, for every question at once (see
:mod:`survey_app.results.counting`, and :mod:`survey_app.results.pivot` for
SQLite); Python only arranges the counts into tables. Without date, version
or choice filters, the complete responses' counts are kept between pages
(:mod:`survey_app.results.cache`) and only what changed since is counted
again. Either way the counts come from one snapshot of the database and are
exactly those of counting every response afresh (``cached=False``).
Question ids, codes and dates only ever reach SQL as bound parameters.

Definitions
-----------
* **Respondents** are the unit: a cell counts respondents, not ticks, so a
  multiple-choice question's percents add up to more than 100. A question in a
  repeat group counts the respondents who gave that answer in any entry;
  numeric summaries count values (one per respondent, or per entry).
* **Rows** are a question's choices (a ranking: the choice ranked first) or a
  rating's values; each matrix row has a table of its own.
* **Answered** (the base): the respondent has an answer stored for the
  question (for a matrix row: for that row).
* **Shown**: answered, or unanswered although the question was certainly
  visible: the response is complete and its questionnaire version contains the
  question with no ``show_if`` on it, on its page or on its repeat group.
  Answers to hidden questions are never stored, but an unanswered conditional
  question leaves no trace of having been visible, so it counts as not shown,
  as do unanswered questions of partial responses (the respondent may have
  stopped before them). Exact for required questions of complete responses.
* In a crosstab by a variable, a respondent without an answer to it is **not
  stated** when the variable was shown (by the rule above) and **not shown**
  otherwise (hidden, absent from the respondent's version, or a partial
  response). Crosstabs cover questions outside repeat groups.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Select, Subquery, exists, func, select
from sqlalchemy.orm import Session

from survey_app.models import Answer, QuestionnaireVersion, Response, ResponseStatus
from survey_app.questionnaire.model import SINGLE_VALUE_CHOICE_TYPES, Question, Questionnaire
from survey_app.results import cache, counting, pivot
from survey_app.results.counting import ANSWERED, RESPONDENTS, RESPONSES, ROWS, Counts, Key, Plan
from survey_app.results.tables import (NOT_SHOWN, NOT_STATED, Category, Crosstab, FrequencyTable, NumericSummary,
                                       ResultFilters, Summary, crosstab, frequency_table)
from survey_app.surveys import questionnaire_of

#: Question types counted per code (a calculated true/false value is stored as a code).
CODE_TYPES = frozenset({"single_choice", "yes_no", "multiple_choice", "calculated"})
#: Question types whose values get a numeric summary.
NUMBER_TYPES = frozenset({"integer", "decimal", "rating", "calculated"})
#: Question types stored in one row per respondent whose cells do not already count them.
ONE_ROW_TYPES = frozenset({"integer", "decimal", "text", "long_text", "email", "date", "calculated"})
#: Question types a crosstab can have as rows.
CROSSTAB_TYPES = CODE_TYPES | {"matrix", "ranking", "rating"}
_COMPLETE = ResponseStatus.COMPLETE

Group = tuple[int, ResponseStatus]  # (version id, status)


def filtered_responses(survey_id: int, filters: ResultFilters) -> Subquery:
    """The survey's responses that pass ``filters`` (columns ``id``, ``version_id``, ``status``), as a subquery."""
    return _passing(survey_id, filters).subquery("r")


def _passing(survey_id: int, filters: ResultFilters) -> Select:
    query = select(Response.id, Response.version_id, Response.status).where(Response.survey_id == survey_id)
    if filters.completed_only:
        query = query.where(Response.status == _COMPLETE)
    when = func.coalesce(Response.submitted_at, Response.started_at)
    if filters.date_from is not None:
        query = query.where(when >= _midnight(filters.date_from))
    if filters.date_to is not None:
        query = query.where(when < _midnight(filters.date_to + timedelta(days=1)))
    if filters.version_numbers:
        versions = select(QuestionnaireVersion.id).where(QuestionnaireVersion.survey_id == survey_id,
                                                         QuestionnaireVersion.number.in_(filters.version_numbers))
        query = query.where(Response.version_id.in_(versions))
    for question_id, value in filters.choice_filters:
        chosen = Answer.__table__.alias()
        # A single-choice answer's row (no item, no number): one index lookup per response.
        query = query.where(exists().where(chosen.c.survey_id == survey_id, chosen.c.question_id == question_id,
                                           chosen.c.code == value, chosen.c.item == "", chosen.c.number.is_(None),
                                           chosen.c.response_id == Response.id, chosen.c.entry == 0))
    return query


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)


def unconditional_versions(session: Session, survey_id: int) -> dict[str, frozenset[int]]:
    """For each question id, the survey's versions (ids) that show it to every respondent who completes.

    That is: the version contains the question, outside any repeat group, with no
    ``show_if`` on the question or its page.
    """
    found: dict[str, set[int]] = defaultdict(set)
    versions = session.execute(select(QuestionnaireVersion).where(QuestionnaireVersion.survey_id == survey_id))
    for version in versions.scalars():
        for page in questionnaire_of(version).pages:
            if page.show_if is None:
                for question in page.questions:
                    if question.show_if is None and question.type != "repeat":
                        found[question.id].add(version.id)
    return {question_id: frozenset(ids) for question_id, ids in found.items()}


def _count(session: Session, survey_id: int, plan: Plan, filters: ResultFilters, cached: bool) -> Counts:
    """Count ``plan`` over the responses that pass ``filters``: from the kept counts when ``cached`` and
    they cover the filters, else every response afresh."""
    if cached and cache.covers(filters):
        return cache.count(session, survey_id, plan, with_partial=not filters.completed_only)
    passing = _passing(survey_id, filters)
    statuses = (_COMPLETE,) if filters.completed_only else tuple(ResponseStatus)
    with counting.snapshot(session.get_bind()) as connection:
        sqlite = connection.dialect.name == "sqlite"
        found = pivot.count(connection, survey_id, plan, passing, statuses) if sqlite else None
        if found is None:
            found = counting.count(connection, survey_id, plan, counting.counted_responses(survey_id, passing,
                                                                                           plan.variable),
                                   counting.Join.ANSWERS_FIRST if sqlite else counting.Join.PLANNED)
    return found


def summary(session: Session, survey_id: int, questionnaire: Questionnaire, filters: ResultFilters, *,
            cached: bool = True) -> Summary:
    """Frequency tables (and numeric summaries) of every answerable question, in questionnaire order.

    ``cached=False`` counts every response afresh (the kept counts always agree with that).
    """
    questions = {question.id: question for question in questionnaire.all_questions()
                 if question.type not in ("note", "repeat")}
    counts = _count(session, survey_id, counting.frequency_plan(list(questions.values())), filters, cached)
    groups: Counter[Group] = Counter()  # responses
    cells: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)  # (question, item) -> code -> respondents
    in_cells: defaultdict[tuple[str, str], Counter[Group]] = defaultdict(Counter)  # ... -> group -> respondents
    answered: defaultdict[str, Counter[Group]] = defaultdict(Counter)  # question -> group -> respondents
    values: defaultdict[str, Counter[float]] = defaultdict(Counter)  # question -> number -> times given
    for key, n in counts.items():
        group, question = (key.version_id, key.status), questions.get(key.question_id)
        if key.kind == RESPONSES:
            groups[group] += n
        elif question is None:
            continue  # not in this questionnaire (any more)
        elif key.kind == ANSWERED:
            answered[question.id][group] += n
        elif key.kind == RESPONDENTS or question.repeat_id is None:  # respondents per group
            cell = _cell(question, key)
            if cell is not None:
                cells[(question.id, cell[0])][cell[1]] += n
                in_cells[(question.id, cell[0])][group] += n
            if key.kind == ROWS and question.type in ONE_ROW_TYPES:
                answered[question.id][group] += n
        if key.kind == ROWS and question is not None and question.type in NUMBER_TYPES and key.number is not None:
            values[question.id][key.number] += n
    visible = unconditional_versions(session, survey_id)
    tables: list[FrequencyTable] = []
    for question in questions.values():
        # Where no answered count was made, each respondent is in exactly one of
        # the question's (matrix row's) cells, so the cells add up to who answered.
        whole = answered.get(question.id) or in_cells[(question.id, "")]
        shown = _shown(whole, groups, visible.get(question.id, frozenset()))
        numeric = numeric_summary(values[question.id]) if question.id in values else None
        for item in _items(question):
            key = (question.id, item.code if item else "")
            base = whole if item is None else in_cells[key]
            tables.append(frequency_table(question, item, cells[key], base=sum(base.values()), shown=shown,
                                          numeric=numeric))
    return Summary(sum(groups.values()), tuple(tables))


def _cell(question: Question, key: Key) -> tuple[str, str] | None:
    """The (matrix row, category) whose respondents ``key`` counts, or None when it counts no cell.

    The categories: a choice's code (of a ranking: the choice ranked first), a rating's value.
    """
    if question.type == "matrix":
        return (key.item, key.code) if key.code is not None else None
    if question.type == "ranking":
        return ("", key.code) if key.number == 1 and key.code is not None else None
    if question.type == "rating":
        return ("", _code(key.number)) if key.number is not None else None
    if question.type in CODE_TYPES:
        return ("", key.code) if key.code is not None else None
    return None


def _items(question: Question) -> list[Category | None]:
    """The parts of a question with a table each: a matrix's rows, else the question itself."""
    if question.type == "matrix":
        return [Category(row.value, row.label) for row in question.rows]
    return [None]


def _shown(answered: Mapping[Group, int], groups: Mapping[Group, int], unconditional: frozenset[int]) -> int:
    """Answered, plus complete responses of versions that show the question unconditionally but lack an answer."""
    silent = sum(count - answered.get((version, status), 0)
                 for (version, status), count in groups.items() if status is _COMPLETE and version in unconditional)
    return sum(answered.values()) + silent


def _code(number: float) -> str:
    """A rating's value written as a code."""
    return str(int(number)) if float(number).is_integer() else str(number)


def numeric_summary(values: Mapping[float, int]) -> NumericSummary:
    """n, mean, median, minimum and maximum of numbers given ``values[number]`` times each (at least one).

    The median is the middle value, or the mean of the two middle values: the
    values at positions (n+1)//2 and n//2 + 1 (1-based) when sorted.
    """
    n = sum(values.values())
    middle = ((n + 1) // 2, n // 2 + 1)
    found: list[float] = []
    seen = 0
    for number in sorted(values):
        seen += values[number]
        while len(found) < 2 and seen >= middle[len(found)]:
            found.append(number)
    mean = math.fsum(number * times for number, times in values.items()) / n
    return NumericSummary(n, mean, (found[0] + found[1]) / 2, float(min(values)), float(max(values)))


def crosstabs(session: Session, survey_id: int, questionnaire: Questionnaire, filters: ResultFilters,
              variable: str, question_ids: Sequence[str] | None = None, *, cached: bool = True) -> list[Crosstab]:
    """Every question (or those named) by the single-choice question ``variable``, counted at once.

    Only the crosstabs of every question use the kept counts (and ``cached=False`` never does).
    Raises ValueError when ``variable`` is not a single-choice or yes/no
    question outside repeat groups.
    """
    by = questionnaire.questions.get(variable)
    if by is None or by.type not in SINGLE_VALUE_CHOICE_TYPES or by.repeat_id is not None:
        raise ValueError(f"cannot break results down by {variable!r}")
    wanted = set(question_ids) if question_ids is not None else None
    questions = [question for question in questionnaire.all_questions()
                 if question.type in CROSSTAB_TYPES and question.repeat_id is None and question.id != variable
                 and (wanted is None or question.id in wanted)]
    if not questions:
        return []
    counts = _count(session, survey_id, counting.crosstab_plan(questions, variable), filters,
                    cached and question_ids is None)
    visible = unconditional_versions(session, survey_id).get(variable, frozenset())
    asked = {question.id: question for question in questions}
    cells: defaultdict[tuple[str, str], Counter[tuple[str, str]]] = defaultdict(Counter)
    bases: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for key, n in counts.items():
        question = asked.get(key.question_id)
        if question is None or key.kind not in (ROWS, ANSWERED):
            continue
        column = (key.col if key.col is not None
                  else NOT_STATED if key.status is _COMPLETE and key.version_id in visible else NOT_SHOWN)
        if key.kind == ANSWERED:
            bases[question.id][column] += n
        elif (cell := _cell(question, key)) is not None:
            cells[(question.id, cell[0])][(cell[1], column)] += n
    return [crosstab(question, item, by, cells[(question.id, item.code if item else "")],
                     bases[question.id] if question.type == "multiple_choice" else None)
            for question in questions for item in _items(question)]
