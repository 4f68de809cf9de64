"""Counting a survey's answers in SQL: frequencies, numeric summaries and crosstabs.

The database does every count; Python only arranges the grouped rows into
tables. :func:`summary` costs four statements whatever the number of
questions (the questionnaire versions, the responses per version and status,
the frequencies of every question, the numeric summaries) and
:func:`crosstabs` two (the versions, the crosstabs of every question).
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

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import (CTE, ColumnElement, CompoundSelect, FromClause, Select, Subquery, and_, case, cast, distinct,
                        exists, func, null, select, union_all)
from sqlalchemy.orm import Session

from survey_app.models import Answer, QuestionnaireVersion, Response, ResponseStatus
from survey_app.questionnaire.model import SINGLE_VALUE_CHOICE_TYPES, Question, Questionnaire
from survey_app.results.tables import (NOT_SHOWN, NOT_STATED, Category, Crosstab, FrequencyTable, NumericSummary,
                                       ResultFilters, Summary, crosstab, frequency_table)
from survey_app.surveys import questionnaire_of

#: Question types counted per code (a calculated true/false value is stored as a code).
CODE_TYPES = frozenset({"single_choice", "yes_no", "multiple_choice", "calculated"})
#: Question types whose values get a numeric summary.
NUMBER_TYPES = frozenset({"integer", "decimal", "rating", "calculated"})
#: Question types a crosstab can have as rows.
CROSSTAB_TYPES = CODE_TYPES | {"matrix", "ranking", "rating"}
#: Question types stored as one row per respondent whose frequency cells do not already count them.
_ONE_ROW_TYPES = frozenset({"integer", "decimal", "text", "long_text", "email", "date", "calculated"})
_COMPLETE = ResponseStatus.COMPLETE

Counts = dict[tuple[int, ResponseStatus], int]


def filtered_responses(survey_id: int, filters: ResultFilters) -> Subquery:
    """The survey's responses that pass ``filters`` (columns ``id``, ``version_id``, ``status``), as a subquery."""
    return _passing(survey_id, filters).subquery("r")


def _counted_responses(survey_id: int, filters: ResultFilters) -> CTE:
    """:func:`filtered_responses` as a CTE for the counting statements.

    SQLite materializes it once per statement (3.35+), so each answer finds its
    response in a small temporary table instead of the wide ``responses``
    table, however many UNION ALL parts join it; PostgreSQL inlines it (12+),
    so its planner keeps hash joins and parallel workers.
    """
    return (_passing(survey_id, filters).cte("r").prefix_with("MATERIALIZED", dialect="sqlite")
            .prefix_with("NOT MATERIALIZED", dialect="postgresql"))


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
        query = query.where(exists().where(chosen.c.response_id == Response.id, chosen.c.survey_id == survey_id,
                                           chosen.c.question_id == question_id, chosen.c.entry == 0,
                                           chosen.c.code == value))
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


def response_counts(session: Session, responses: FromClause) -> Counts:
    """How many of ``responses`` there are per (version id, status)."""
    query = select(responses.c.version_id, responses.c.status, func.count()).group_by(
        responses.c.version_id, responses.c.status)
    return {(version, status): count for version, status, count in session.execute(query)}


def summary(session: Session, survey_id: int, questionnaire: Questionnaire, filters: ResultFilters) -> Summary:
    """Frequency tables (and numeric summaries) of every answerable question, in questionnaire order."""
    responses = _counted_responses(survey_id, filters)
    counts = response_counts(session, responses)
    questions = [question for question in questionnaire.all_questions() if question.type not in ("note", "repeat")]
    cells, answered = _frequency_counts(session, survey_id, responses, questions)
    numbers = numeric_summaries(session, survey_id, responses, [q for q in questions if q.type in NUMBER_TYPES])
    visible = unconditional_versions(session, survey_id)
    tables: list[FrequencyTable] = []
    for question in questions:
        shown = _shown(answered[(question.id, "")], counts, visible.get(question.id, frozenset()))
        for item in _items(question):
            key = (question.id, item.code if item else "")
            codes = {code: sum(by_group.values()) for code, by_group in cells[key].items()}
            tables.append(frequency_table(question, item, codes, base=sum(answered[key].values()), shown=shown,
                                          numeric=numbers.get(question.id)))
    return Summary(sum(counts.values()), tuple(tables))


def _items(question: Question) -> list[Category | None]:
    """The parts of a question with a table each: a matrix's rows, else the question itself."""
    if question.type == "matrix":
        return [Category(row.value, row.label) for row in question.rows]
    return [None]


def _shown(answered: Mapping[tuple[int, ResponseStatus], int], counts: Counts, unconditional: frozenset[int]) -> int:
    """Answered, plus complete responses of versions that show the question unconditionally but lack an answer."""
    silent = sum(count - answered.get((version, status), 0)
                 for (version, status), count in counts.items() if status is _COMPLETE and version in unconditional)
    return sum(answered.values()) + silent


def _frequency_counts(session: Session, survey_id: int, responses: CTE,
                      questions: Sequence[Question]) -> tuple[dict, dict]:
    """Respondents per (question, item) -> code -> (version, status), and who answered per (question, item).

    Where no answered-part counted a question (or matrix row), each respondent
    is in exactly one of its cells, so the cells add up to who answered.
    """
    def joined(rows: FromClause) -> FromClause:
        return rows.join(responses, responses.c.id == rows.c.response_id)

    group = [responses.c.version_id, responses.c.status]
    parts = _cell_parts(survey_id, joined, questions, group, group)
    parts += _answered_parts(survey_id, joined, questions, group, group)
    cells: defaultdict = defaultdict(lambda: defaultdict(dict))
    answered: defaultdict = defaultdict(dict)
    for question_id, item, code, number, version, status, count in _run(session, parts):
        if code is None and number is None:
            answered[(question_id, item or "")][(version, status)] = count
        else:
            cells[(question_id, item or "")][_code(code, number)][(version, status)] = count
    for key, by_code in list(cells.items()):
        if key not in answered:
            for by_group in by_code.values():
                for group_key, count in by_group.items():
                    answered[key][group_key] = answered[key].get(group_key, 0) + count
    return cells, answered


def _code(code: str | None, number: float | None) -> str:
    """A cell's category: the stored code, or a rating's value written as a code."""
    return code if code is not None else str(int(number)) if float(number).is_integer() else str(number)


def _run(session: Session, parts: Sequence[Select]) -> Iterable[tuple]:
    """Run the parts as one statement (UNION ALL); no parts, no rows."""
    if not parts:
        return []
    statement: Select | CompoundSelect = parts[0] if len(parts) == 1 else union_all(*parts)
    return session.execute(statement).all()


def _cell_parts(survey_id: int, joined: Callable[[FromClause], FromClause], questions: Sequence[Question],
                columns: Sequence[ColumnElement], group: Sequence) -> list[Select]:
    """SELECTs counting respondents per (question, item, code or value, *columns), one per kind of storage.

    ``joined`` joins the answers (alias ``a``) to the responses and whatever
    ``columns`` need. Outside repeat groups a respondent has one row per cell,
    so ``COUNT(*)`` counts respondents; inside, a respondent may repeat a cell
    in several entries, so respondents are counted distinctly.
    """
    answer = Answer.__table__.alias("a")
    parts = []
    for repeated in (False, True):
        chosen = [question for question in questions if (question.repeat_id is not None) == repeated]
        count = func.count(distinct(answer.c.response_id)) if repeated else func.count()
        for types, item, code, number, condition in (
            (CODE_TYPES, None, answer.c.code, None, answer.c.code.is_not(None)),
            ({"matrix"}, answer.c.item, answer.c.code, None, answer.c.code.is_not(None)),
            ({"ranking"}, None, answer.c.code, None, answer.c.number == 1),  # ranked first
            ({"rating"}, None, None, answer.c.number, answer.c.number.is_not(None)),
        ):
            ids = [question.id for question in chosen if question.type in types]
            if ids:
                grouped = [column for column in (item, code, number) if column is not None]
                parts.append(
                    select(answer.c.question_id, _or_null(item, "item"), _or_null(code, "code"),
                           _or_null(number, "number"), *columns, count.label("n"))
                    .select_from(joined(answer))
                    .where(answer.c.survey_id == survey_id, answer.c.question_id.in_(ids), condition)
                    .group_by(answer.c.question_id, *grouped, *group))
    return parts


def _answered_parts(survey_id: int, joined: Callable[[FromClause], FromClause], questions: Sequence[Question],
                    columns: Sequence[ColumnElement], group: Sequence) -> list[Select]:
    """SELECTs counting respondents who answered, for questions whose cells do not add up to that.

    Questions stored in several rows per respondent (multiple choice, matrix,
    repeat groups) are first reduced to one row per (question, respondent).
    Rows have ``code`` and ``number`` NULL, which tells them from cells.
    """
    answer = Answer.__table__.alias("a")
    several = [q.id for q in questions if q.type in ("multiple_choice", "matrix") or q.repeat_id is not None]
    single = [q.id for q in questions if q.type in _ONE_ROW_TYPES and q.repeat_id is None]
    sources: list[tuple[FromClause, list]] = []
    if several:
        pairs = (select(answer.c.question_id, answer.c.response_id).distinct()
                 .where(answer.c.survey_id == survey_id, answer.c.question_id.in_(several)).subquery("d"))
        sources.append((pairs, []))
    if single:
        sources.append((answer, [answer.c.survey_id == survey_id, answer.c.question_id.in_(single)]))
    return [select(rows.c.question_id, _or_null(None, "item"), _or_null(None, "code"), _or_null(None, "number"),
                   *columns, func.count().label("n"))
            .select_from(joined(rows)).where(*conditions).group_by(rows.c.question_id, *group)
            for rows, conditions in sources]


def _or_null(column, name: str):
    """``column``, or a NULL of the matching type (PostgreSQL types UNION columns from the first SELECT)."""
    return (column if column is not None else cast(null(), Answer.__table__.c[name].type)).label(name)


def numeric_summaries(session: Session, survey_id: int, responses: FromClause,
                      questions: Sequence[Question]) -> dict[str, NumericSummary]:
    """n, mean, median, minimum and maximum of each question's numbers, in one statement.

    The median is the middle value, or the mean of the two middle values: the
    rows numbered n/2, (n+1)/2 or (n+2)/2 when sorted, found with window functions.
    """
    ids = [question.id for question in questions]
    if not ids:
        return {}
    answer = Answer.__table__.alias("a")
    values = (
        select(answer.c.question_id, answer.c.number,
               func.row_number().over(partition_by=answer.c.question_id, order_by=answer.c.number).label("position"),
               func.count().over(partition_by=answer.c.question_id).label("total"))
        .select_from(answer.join(responses, responses.c.id == answer.c.response_id))
        .where(answer.c.survey_id == survey_id, answer.c.question_id.in_(ids), answer.c.number.is_not(None))
        .subquery("v")
    )
    middle = and_(values.c.position * 2 >= values.c.total, values.c.position * 2 <= values.c.total + 2)
    query = select(values.c.question_id, func.count(), func.avg(values.c.number), func.min(values.c.number),
                   func.max(values.c.number), func.avg(case((middle, values.c.number)))
                   ).group_by(values.c.question_id)
    return {question_id: NumericSummary(n, float(mean), float(median), float(low), float(high))
            for question_id, n, mean, low, high, median in session.execute(query)}


def crosstabs(session: Session, survey_id: int, questionnaire: Questionnaire, filters: ResultFilters,
              variable: str, question_ids: Sequence[str] | None = None) -> list[Crosstab]:
    """Every question (or those named) by the single-choice question ``variable``, in one statement.

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
    responses = _counted_responses(survey_id, filters)
    stated = Answer.__table__.alias("v")

    def joined(rows: FromClause) -> FromClause:
        return rows.join(responses, responses.c.id == rows.c.response_id).outerjoin(stated, and_(
            stated.c.response_id == rows.c.response_id, stated.c.survey_id == survey_id,
            stated.c.question_id == variable, stated.c.code.is_not(None)))  # not the "#other" text row

    visible = unconditional_versions(session, survey_id).get(variable, frozenset())
    column = case(
        (stated.c.code.is_not(None), stated.c.code),
        (and_(responses.c.status == _COMPLETE, responses.c.version_id.in_(sorted(visible))), NOT_STATED),
        else_=NOT_SHOWN,
    ).label("col")
    parts = _cell_parts(survey_id, joined, questions, [column], ["col"])
    multiple = [question for question in questions if question.type == "multiple_choice"]
    parts += _answered_parts(survey_id, joined, multiple, [column], ["col"])
    cells: dict = defaultdict(dict)
    bases: dict = defaultdict(dict)
    for question_id, item, code, number, col, count in _run(session, parts):
        if code is None and number is None:
            bases[question_id][col] = count
        else:
            cells[(question_id, item or "")][(_code(code, number), col)] = count
    return [crosstab(question, item, by, cells.get((question.id, item.code if item else ""), {}),
                     bases.get(question.id, {}) if question.type == "multiple_choice" else None)
            for question in questions for item in _items(question)]
