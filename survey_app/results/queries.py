"""A survey's results: frequencies, numeric summaries and crosstabs, from counts the database makes.

The database does every count, for every question at once (see
:mod:`survey_app.results.counting`, and :mod:`survey_app.results.pivot` for
SQLite); Python only arranges the counts into tables. The numbers
respondents type are summarized in SQL (count, sum, minimum, maximum, and
the median, :mod:`survey_app.results.medians`), not counted value by value,
so memory does not grow with the number of distinct values. The counts are
kept between pages (:mod:`survey_app.results.cache`), split by status,
version, the breakdown variable and the question of one choice filter, and
only what changed since, or what falls partly within the dates asked for, is
counted again; two or more choice filters are counted afresh. Either way the
counts come from one snapshot of the database and are exactly those of
counting every response afresh (``cached=False``).
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

from sqlalchemy import Connection, Select, Subquery, select
from sqlalchemy.orm import Session

from survey_app.models import QuestionnaireVersion, ResponseStatus
from survey_app.questionnaire.model import SINGLE_VALUE_CHOICE_TYPES, Question, Questionnaire
from survey_app.results import cache, counting, pivot, selection
from survey_app.results.counting import ANSWERED, RESPONDENTS, RESPONSES, ROWS, VALUES, Counts, Key, Numbers, Plan
from survey_app.results.medians import medians
from survey_app.results.tables import (NOT_SHOWN, NOT_STATED, Category, Crosstab, FrequencyTable, NumericSummary,
                                       ResultFilters, Summary, crosstab, frequency_table)
from survey_app.surveys import questionnaire_of

#: Question types counted per code (a calculated true/false value is stored as a code).
CODE_TYPES = frozenset({"single_choice", "yes_no", "multiple_choice", "calculated"})
#: Question types stored in one row per respondent whose cells do not already count them.
ONE_ROW_TYPES = frozenset({"integer", "decimal", "text", "long_text", "email", "date", "calculated"})
#: Question types a crosstab can have as rows.
CROSSTAB_TYPES = CODE_TYPES | {"matrix", "ranking", "rating"}
_COMPLETE = ResponseStatus.COMPLETE

Group = tuple[int, ResponseStatus]  # (version id, status)


def filtered_responses(survey_id: int, filters: ResultFilters) -> Subquery:
    """The survey's responses that pass ``filters`` (columns ``id``, ``version_id``, ``status``), as a subquery."""
    return selection.passing(survey_id, filters).subquery("r")


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


class SurveyResults:
    """The results of one survey under one set of filters: its frequency tables and its crosstabs.

    Counts once for both: when ``filters.breakdown`` names a variable the
    crosstabs can be by, the counts are split by it, and the frequencies are
    their sums. Pass one object to everything that shows the same page (the
    results page hands it to the plugins' ``result_sections``).
    ``cached=False`` counts every response afresh (the kept counts always agree with that).
    ``split`` is a variable to split the counts by when the filters name none,
    so that the views with and without a breakdown by it share one set of kept
    counts (the results page passes the first variable plugins offer).
    """

    def __init__(self, session: Session, survey_id: int, questionnaire: Questionnaire, filters: ResultFilters, *,
                 cached: bool = True, split: str | None = None):
        self.session, self.survey_id, self.questionnaire, self.filters = session, survey_id, questionnaire, filters
        self.cached, self.split = cached, split
        self._counted: dict[str | None, Counts] = {}

    @property
    def variable(self) -> str | None:
        """The variable the counts are split by: ``filters.breakdown`` if results can be broken down by it;
        else the question of the one choice filter, if any (the kept counts split by it serve the filter);
        else ``split``, if results can be broken down by it."""
        if _is_variable(self.questionnaire, self.filters.breakdown):
            return self.filters.breakdown
        if len(self.filters.choice_filters) == 1 and _is_variable(self.questionnaire,
                                                                  self.filters.choice_filters[0][0]):
            return self.filters.choice_filters[0][0]
        return self.split if _is_variable(self.questionnaire, self.split) else None

    def plan(self) -> Plan:
        """What :meth:`summary` (and the crosstabs by :attr:`variable`) count."""
        return self._plan(self.variable)

    def summary(self) -> Summary:
        """Frequency tables (and numeric summaries) of every answerable question, in questionnaire order."""
        return _summary(self.session, self.survey_id, counted_questions(self.questionnaire),
                        self._counts(self.variable))

    def crosstabs(self, variable: str, question_ids: Sequence[str] | None = None) -> list[Crosstab]:
        """Every question (or those named) by the single-choice question ``variable``.

        The crosstabs of a few questions are counted on their own, and afresh.
        Raises ValueError when ``variable`` is not a single-choice or yes/no
        question outside repeat groups.
        """
        if not _is_variable(self.questionnaire, variable):
            raise ValueError(f"cannot break results down by {variable!r}")
        wanted = set(question_ids) if question_ids is not None else None
        questions = [question for question in self.questionnaire.all_questions()
                     if question.type in CROSSTAB_TYPES and question.repeat_id is None and question.id != variable
                     and (wanted is None or question.id in wanted)]
        if not questions:
            return []
        if wanted is None:
            counts = self._counts(variable)
        else:
            counts = _count(self.session, self.survey_id, counting.crosstab_plan(questions, variable), self.filters,
                            cached=False)
        return _crosstabs(self.session, self.survey_id, questions, self.questionnaire.questions[variable], counts)

    def _plan(self, variable: str | None) -> Plan:
        """Every question's counts split by ``variable``, and by the question of a choice filter on another
        variable (the kept counts split by both then serve the filter)."""
        choices = self.filters.choice_filters
        within = (choices[0][0] if len(choices) == 1 and choices[0][0] != variable and variable is not None
                  and _is_variable(self.questionnaire, choices[0][0]) else None)
        return counting.full_plan(counted_questions(self.questionnaire), variable, within)

    def _counts(self, variable: str | None) -> Counts:
        """Every question's counts, split by ``variable`` (None: not split), counted once."""
        if variable not in self._counted:
            self._counted[variable] = _count(self.session, self.survey_id, self._plan(variable), self.filters,
                                             self.cached)
        return self._counted[variable]


def counted_questions(questionnaire: Questionnaire) -> list[Question]:
    """The questions of ``questionnaire`` the results count (all but notes and repeat groups themselves)."""
    return [question for question in questionnaire.all_questions() if question.type not in ("note", "repeat")]


def _is_variable(questionnaire: Questionnaire, question_id: str | None) -> bool:
    """Whether results can be broken down by the question ``question_id``."""
    question = questionnaire.questions.get(question_id) if question_id is not None else None
    return question is not None and question.type in SINGLE_VALUE_CHOICE_TYPES and question.repeat_id is None


def _count(session: Session, survey_id: int, plan: Plan, filters: ResultFilters, cached: bool) -> Counts:
    """Count ``plan`` over the responses that pass ``filters``, in one snapshot: from the kept counts when
    ``cached`` and they cover the filters (keeping what was counted afresh), else every response afresh."""
    engine = session.get_bind()
    fresh = None
    passing = selection.passing(survey_id, filters)
    with counting.snapshot(engine) as connection:
        if cached and cache.covers(filters, plan):
            found, fresh = cache.read(connection, survey_id, plan, filters)
        else:
            found = _afresh(connection, survey_id, plan, filters, passing)
        found.medians = medians(connection, survey_id, found.numbers_given(), passing)
    if fresh is not None:
        cache.store(engine, fresh)
    return found


def _afresh(connection: Connection, survey_id: int, plan: Plan, filters: ResultFilters, passing: Select) -> Counts:
    """Count ``plan`` over every response ``passing`` selects: side by side on SQLite where it can."""
    sqlite = connection.dialect.name == "sqlite"
    statuses = (_COMPLETE,) if filters.completed_only else tuple(ResponseStatus)
    found = pivot.count(connection, survey_id, plan, passing, statuses) if sqlite else None
    if found is None:
        found = counting.count(connection, survey_id, plan, counting.counted_responses(survey_id, passing, plan),
                               counting.Join.ANSWERS_FIRST if sqlite else counting.Join.PLANNED)
    return found


def summary(session: Session, survey_id: int, questionnaire: Questionnaire, filters: ResultFilters, *,
            cached: bool = True) -> Summary:
    """Frequency tables (and numeric summaries) of every answerable question (see :class:`SurveyResults`)."""
    return SurveyResults(session, survey_id, questionnaire, filters, cached=cached).summary()


def _summary(session: Session, survey_id: int, questions: Sequence[Question], counts: Counts) -> Summary:
    """The frequency tables of ``questions`` from their counts (summed over the columns of any variable)."""
    questions = {question.id: question for question in questions}
    groups: Counter[Group] = Counter()  # responses
    cells: defaultdict[tuple[str, str], Counter[str]] = defaultdict(Counter)  # (question, item) -> code -> respondents
    in_cells: defaultdict[tuple[str, str], Counter[Group]] = defaultdict(Counter)  # ... -> group -> respondents
    answered: defaultdict[str, Counter[Group]] = defaultdict(Counter)  # question -> group -> respondents
    ratings: defaultdict[str, Counter[float]] = defaultdict(Counter)  # question -> rating -> times given
    numbers: dict[str, tuple[int, Numbers]] = {}  # question -> (values, their sum, min and max)
    for key, n in counts.items():
        group, question = (key.version_id, key.status), questions.get(key.question_id)
        if key.kind == RESPONSES:
            groups[group] += n
        elif question is None:
            continue  # not in this questionnaire (any more)
        elif key.kind == VALUES:
            given, so_far = numbers.get(question.id, (0, None))
            numbers[question.id] = (given + n, counts.numbers[key].merged(so_far))
            if question.repeat_id is None:  # one value per respondent
                answered[question.id][group] += n
        elif key.kind == ANSWERED:
            answered[question.id][group] += n
        elif key.kind == RESPONDENTS or question.repeat_id is None:  # respondents per group
            cell = _cell(question, key)
            if cell is not None:
                cells[(question.id, cell[0])][cell[1]] += n
                in_cells[(question.id, cell[0])][group] += n
            if key.kind == ROWS and _one_row(question):
                answered[question.id][group] += n
        if key.kind == ROWS and question is not None and question.type == "rating" and key.number is not None:
            ratings[question.id][key.number] += n
    visible = unconditional_versions(session, survey_id)
    tables: list[FrequencyTable] = []
    for question in questions.values():
        # Where no answered count was made, each respondent is in exactly one of
        # the question's (matrix row's) cells, so the cells add up to who answered.
        whole = answered.get(question.id) or in_cells[(question.id, "")]
        shown = _shown(whole, groups, visible.get(question.id, frozenset()))
        numeric = _numeric(question.id, numbers, ratings, counts.medians)
        for item in _items(question):
            key = (question.id, item.code if item else "")
            base = whole if item is None else in_cells[key]
            tables.append(frequency_table(question, item, cells[key], base=sum(base.values()), shown=shown,
                                          numeric=numeric))
    return Summary(sum(groups.values()), tuple(tables))


def _numeric(question_id: str, numbers: Mapping[str, tuple[int, Numbers]], ratings: Mapping[str, Counter[float]],
             found_medians: Mapping[str, float]) -> NumericSummary | None:
    """The numeric summary of a question with summed numbers or ratings; None for other questions."""
    if question_id in numbers:
        given, summed = numbers[question_id]
        return NumericSummary(given, summed.total / given, found_medians[question_id], summed.low, summed.high)
    return numeric_summary(ratings[question_id]) if question_id in ratings else None


def _one_row(question: Question) -> bool:
    """Whether ``question`` is stored in one row per respondent that no cell counts (its rows are who answered)."""
    return question.type in ONE_ROW_TYPES or question.plugin_type is not None


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
    """Every question (or those named) by the single-choice question ``variable`` (see :class:`SurveyResults`)."""
    return SurveyResults(session, survey_id, questionnaire, filters, cached=cached).crosstabs(variable, question_ids)


def _crosstabs(session: Session, survey_id: int, questions: Sequence[Question], by: Question,
               counts: Counts) -> list[Crosstab]:
    """The crosstabs of ``questions`` by ``by`` from counts split by it."""
    visible = unconditional_versions(session, survey_id).get(by.id, frozenset())
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
