"""Results: frequencies, numeric summaries, crosstabs and the results page, checked against hand counts.

Every test runs on SQLite and on PostgreSQL (see conftest), with the same
expected numbers, so both databases give identical results.

The data set (built by :func:`build_survey`), all complete unless marked;
times are UTC; ``group`` is shown only to members (``member = 'yes'``):

    resp  when              gender  member group topics   age rate matrix m
    r1    2024-03-01 10:00  female  yes    a     x, y     20  5    r1 good, r2 bad
    r2    2024-03-01 12:00  female  no     -     x        30  4    -
    r3    2024-03-01 23:59  male    yes    b     y        40  4    r1 good
    r4    2024-03-05 00:00  male    yes    a     x, y, z  50  -    r1 bad, r2 bad
    r5    2024-03-05 23:30  (none)  no     -     z        -   2    -
    r6    2024-03-06 08:00  female  yes    b     (none)   25  -    -
    r7    2024-03-02 09:00  male    yes    a     x        -   -    -      PARTIAL
"""
from __future__ import annotations

import json
import math
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import delete, distinct, func, select, update

from survey_app import db
from survey_app.models import (Response, ResultBlock, ResultCount, Survey, SurveyMember, SurveyRole, SurveyStatus,
                               User)
from survey_app.responses.storage import save_page, submit
from survey_app.results import cache, pivot, queries, views
from survey_app.results.stats import chi_square, chi_square_p_value, regularized_upper_gamma
from survey_app.results.tables import NOT_SHOWN, NOT_STATED, NumericSummary, ResultFilters
from survey_app.surveys import import_survey, load_checked, questionnaire_of
from tests.helpers import login

HOSTILE = "<script>alert(1)</script>"

DOCUMENT = {
    "id": "results-test", "version": "1", "languages": ["en"], "title": "Results test",
    "pages": [{"id": "p1", "questions": [
        {"id": "gender", "type": "single_choice", "label": "Gender",
         "choices": [{"value": "female", "label": "Female"}, {"value": "male", "label": "Male"},
                     {"value": "prefer_not", "label": "Prefer not to say"}]},
        {"id": "member", "type": "yes_no", "required": True, "label": "Member?"},
        {"id": "group", "type": "single_choice", "required": True, "show_if": "member = 'yes'", "label": "Group",
         "choices": [{"value": "a", "label": "Group A"}, {"value": "b", "label": "Group B"}]},
        {"id": "topics", "type": "multiple_choice", "label": "Topics",
         "choices": [{"value": "x", "label": "X"}, {"value": "y", "label": "Y"}, {"value": "z", "label": HOSTILE}]},
        {"id": "age", "type": "integer", "label": "Age"},
        {"id": "rate", "type": "rating", "label": "Rate"},
        {"id": "m", "type": "matrix", "label": "Matrix",
         "rows": [{"value": "r1", "label": "Row one"}, {"value": "r2", "label": "Row two"}],
         "choices": [{"value": "good", "label": "Good"}, {"value": "bad", "label": "Bad"}]},
    ]}],
    "plugins": {"breakdowns": {"gender": "gender", "variables": ["member", "group"]}},
}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


RESPONDENTS = [
    ("r1", {"gender": "female", "member": "yes", "group": "a", "topics": ["x", "y"], "age": 20, "rate": 5,
            "m": {"r1": "good", "r2": "bad"}}, True, utc(2024, 3, 1, 10)),
    ("r2", {"gender": "female", "member": "no", "topics": ["x"], "age": 30, "rate": 4}, True, utc(2024, 3, 1, 12)),
    ("r3", {"gender": "male", "member": "yes", "group": "b", "topics": ["y"], "age": 40, "rate": 4,
            "m": {"r1": "good"}}, True, utc(2024, 3, 1, 23, 59)),
    ("r4", {"gender": "male", "member": "yes", "group": "a", "topics": ["x", "y", "z"], "age": 50,
            "m": {"r1": "bad", "r2": "bad"}}, True, utc(2024, 3, 5)),
    ("r5", {"member": "no", "topics": ["z"], "rate": 2}, True, utc(2024, 3, 5, 23, 30)),
    ("r6", {"gender": "female", "member": "yes", "group": "b", "age": 25}, True, utc(2024, 3, 6, 8)),
    ("r7", {"gender": "male", "member": "yes", "group": "a", "topics": ["x"]}, False, utc(2024, 3, 2, 9)),
]


def respond(session, survey: Survey, name: str, answers: dict, complete: bool, when: datetime) -> None:
    """Store one response the way the respondent pages do, then date it."""
    version = survey.latest_version
    questionnaire = questionnaire_of(version)
    save_page(session, survey, version, questionnaire, submission_id=name, language="en",
              page_answers=answers, next_page=None if complete else "p1")
    if complete:
        submit(session, survey, questionnaire, name)
    response = session.execute(select(Response).where(Response.submission_id == name)).scalar_one()
    response.started_at = when
    response.submitted_at = when if complete else None
    session.commit()


def publish(session, owner_id: int, document: dict) -> Survey:
    """Publish ``document`` as the next version of its survey (creating the survey)."""
    questionnaire = load_checked(json.dumps(document))
    survey, _ = import_survey(session, questionnaire, session.get(User, owner_id), status=SurveyStatus.OPEN)
    session.commit()
    return survey


def build_survey(app, owner: User, document: dict = DOCUMENT, respondents=RESPONDENTS) -> int:
    """Publish the questionnaire and store the respondents; returns the survey id."""
    with app.app_context():
        session = db.session()
        survey = publish(session, owner.id, document)
        for name, answers, complete, when in respondents:
            respond(session, survey, name, answers, complete, when)
        return survey.id


@pytest.fixture
def survey_id(app, make_user) -> int:
    return build_survey(app, make_user("researcher", email="owner@example.org"))


def results(app, survey_id: int, **filters):
    """The summary under ``filters``; the kept counts (where they serve) and counting afresh must agree."""
    with app.app_context():
        session = db.session()
        questionnaire = questionnaire_of(session.get(Survey, survey_id).latest_version)
        found = queries.summary(session, survey_id, questionnaire, ResultFilters(**filters))
        assert found == queries.summary(session, survey_id, questionnaire, ResultFilters(**filters), cached=False)
        return found


def crosstabs(app, survey_id: int, variable: str, **filters):
    """The crosstabs by ``variable``, by (question, item); the kept counts and counting afresh must agree."""
    with app.app_context():
        session = db.session()
        questionnaire = questionnaire_of(session.get(Survey, survey_id).latest_version)
        found = queries.crosstabs(session, survey_id, questionnaire, ResultFilters(**filters), variable)
        assert found == queries.crosstabs(session, survey_id, questionnaire, ResultFilters(**filters), variable,
                                          cached=False)
        return {(table.question_id, table.item): table for table in found}


def table(summary, question_id: str, item: str = ""):
    return next(t for t in summary.tables if (t.question_id, t.item) == (question_id, item))


def counts(found) -> dict[str, int]:
    return {row.code: row.count for row in found.rows}


# --- Frequencies ----------------------------------------------------------------


def test_frequencies_of_complete_responses(app, survey_id):
    summary = results(app, survey_id)
    assert summary.responses == 6  # r1..r6; r7 is partial
    gender = table(summary, "gender")
    # female r1 r2 r6 = 3, male r3 r4 = 2; r5 did not answer: base 5.
    # gender has no show_if, so all 6 complete responses saw it: shown 6.
    assert counts(gender) == {"female": 3, "male": 2, "prefer_not": 0}
    assert (gender.base, gender.shown) == (5, 6)
    assert [row.percent for row in gender.rows] == [60.0, 40.0, 0.0]  # 3/5, 2/5, 0/5
    member = table(summary, "member")
    assert counts(member) == {"yes": 4, "no": 2} and (member.base, member.shown) == (6, 6)
    assert [row.label for row in member.rows] == [None, None]  # yes/no: the page's own wording
    # group is shown only to members (r1 r3 r4 r6), all of whom answered it (required): shown = answered = 4.
    group = table(summary, "group")
    assert counts(group) == {"a": 2, "b": 2} and (group.base, group.shown) == (4, 4)


def test_multiple_choice_percents_are_of_respondents_not_ticks(app, survey_id):
    topics = table(results(app, survey_id), "topics")
    # x: r1 r2 r4 = 3; y: r1 r3 r4 = 3; z: r4 r5 = 2 (8 ticks); respondents who answered: r1..r5 = 5 (r6 skipped it).
    assert counts(topics) == {"x": 3, "y": 3, "z": 2}
    assert (topics.base, topics.shown) == (5, 6)
    assert [row.percent for row in topics.rows] == [60.0, 60.0, 40.0]  # 3/5, 3/5, 2/5: adds up to 160
    assert topics.rows[2].label == HOSTILE  # kept as data; escaped when shown


def test_matrix_rows_have_their_own_tables(app, survey_id):
    summary = results(app, survey_id)
    row_one, row_two = table(summary, "m", "r1"), table(summary, "m", "r2")
    # r1: good r1 r3, bad r4 (base 3); r2: bad r1 r4 (base 2); any row answered by r1 r3 r4,
    # and the 3 other complete responses saw the (unconditional) matrix too: shown 6.
    assert (counts(row_one), row_one.base, row_one.shown) == ({"good": 2, "bad": 1}, 3, 6)
    assert (counts(row_two), row_two.base, row_two.shown) == ({"good": 0, "bad": 2}, 2, 6)
    assert row_one.item_label == "Row one"


def test_numeric_summary_and_rating_distribution(app, survey_id):
    summary = results(app, survey_id)
    age = table(summary, "age")
    # ages 20 30 40 50 25 -> sorted 20 25 30 40 50: n 5 (odd), median 30, mean 165/5 = 33.
    assert age.numeric == NumericSummary(n=5, mean=33.0, median=30.0, min=20.0, max=50.0)
    assert (age.base, age.shown, age.rows) == (5, 6, ())
    rate = table(summary, "rate")
    # 5 4 4 2 -> sorted 2 4 4 5: n 4 (even), median (4 + 4) / 2 = 4, mean 15/4 = 3.75.
    assert rate.numeric == NumericSummary(n=4, mean=3.75, median=4.0, min=2.0, max=5.0)
    assert counts(rate) == {"1": 0, "2": 1, "3": 0, "4": 2, "5": 1}
    assert [row.percent for row in rate.rows] == [0.0, 25.0, 0.0, 50.0, 25.0]  # of base 4


def test_median_of_an_even_count_averages_the_middle_two(app, survey_id):
    summary = results(app, survey_id, choice_filters=(("member", "yes"),))
    # members r1 r3 r4 r6: ages 20 40 50 25 -> 20 25 40 50: median (25 + 40) / 2 = 32.5, mean 135/4 = 33.75.
    assert table(summary, "age").numeric == NumericSummary(4, 33.75, 32.5, 20.0, 50.0)
    # rates of members: r1 5, r3 4 -> median 4.5.
    assert table(summary, "rate").numeric.median == 4.5


def test_partial_responses_count_when_asked(app, survey_id):
    summary = results(app, survey_id, completed_only=False)
    assert summary.responses == 7
    gender = table(summary, "gender")
    # r7 adds a male: female 3, male 3, base 6; shown: 6 answered + r5 (complete, did not answer) = 7.
    assert (counts(gender), gender.base, gender.shown) == ({"female": 3, "male": 3, "prefer_not": 0}, 6, 7)
    topics = table(summary, "topics")
    # x gains r7: 4; base r1..r5 + r7 = 6; shown 6 + r6 = 7.
    assert (counts(topics), topics.base, topics.shown) == ({"x": 4, "y": 3, "z": 2}, 6, 7)
    # r7 stopped before answering age: a partial response's unanswered question counts as not shown.
    age = table(summary, "age")
    assert (age.base, age.shown) == (5, 6)  # 5 answered + r5


def test_date_range_includes_both_days_in_utc(app, survey_id):
    # 2024-03-02 .. 2024-03-05: r4 (03-05 00:00) and r5 (03-05 23:30); r3 at 03-01 23:59 is out, r6 on 03-06 too.
    summary = results(app, survey_id, date_from=date(2024, 3, 2), date_to=date(2024, 3, 5))
    assert summary.responses == 2
    assert counts(table(summary, "member")) == {"yes": 1, "no": 1}
    assert counts(table(summary, "gender")) == {"female": 0, "male": 1, "prefer_not": 0}
    # up to 2024-03-01: r1 r2 r3.
    early = results(app, survey_id, date_to=date(2024, 3, 1))
    assert counts(table(early, "gender")) == {"female": 2, "male": 1, "prefer_not": 0}
    # a partial response is dated by its start: r7 started on 03-02.
    started = results(app, survey_id, completed_only=False, date_from=date(2024, 3, 2), date_to=date(2024, 3, 2))
    assert (started.responses, counts(table(started, "gender"))["male"]) == (1, 1)


def test_choice_filters(app, survey_id):
    women = results(app, survey_id, choice_filters=(("gender", "female"),))
    # r1 r2 r6: topics x r1 r2, y r1; r6 skipped topics: base 2.
    assert women.responses == 3
    topics = table(women, "topics")
    assert (counts(topics), topics.base) == ({"x": 2, "y": 1, "z": 0}, 2)
    assert counts(table(women, "member")) == {"yes": 2, "no": 1}
    both = results(app, survey_id, choice_filters=(("gender", "female"), ("member", "yes")))
    assert both.responses == 2  # r1 r6


def test_version_filter_and_shown_across_versions(app, survey_id):
    second = json.loads(json.dumps(DOCUMENT))
    second["version"] = "2"
    second["pages"][0]["questions"][4]["show_if"] = "member = 'yes'"  # version 2 asks age of members only
    with app.app_context():
        session = db.session()
        survey = publish(session, session.get(Survey, survey_id).owner_id, second)
        assert survey.latest_version.number == 2
        respond(session, survey, "r8", {"gender": "male", "member": "no", "topics": ["y"]}, True,
                utc(2024, 3, 7))
    summary = results(app, survey_id)
    assert summary.responses == 7
    assert counts(table(summary, "gender"))["male"] == 3  # r3 r4 r8
    # age: 5 answered + r5 (version 1 shows age to everyone) = 6; r8's version hid it from non-members.
    assert (table(summary, "age").base, table(summary, "age").shown) == (5, 6)
    only_second = results(app, survey_id, version_numbers=(2,))
    assert only_second.responses == 1
    assert counts(table(only_second, "topics")) == {"x": 0, "y": 1, "z": 0}
    assert (table(only_second, "age").base, table(only_second, "age").shown) == (0, 0)
    assert results(app, survey_id, version_numbers=(1,)).responses == 6


def test_repeat_group_counts_respondents_not_entries(app, make_user):
    document = {
        "id": "repeat-test", "version": "1", "languages": ["en"], "title": "Repeat",
        "pages": [{"id": "p1", "questions": [
            {"id": "visits", "type": "repeat", "label": "Visits", "questions": [
                {"id": "kind", "type": "single_choice", "label": "Kind",
                 "choices": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]},
                {"id": "hours", "type": "integer", "label": "Hours"},
            ]},
        ]}],
    }
    respondents = [
        ("p", {"visits": [{"kind": "a", "hours": 1}, {"kind": "a", "hours": 2}, {"kind": "b", "hours": 4}]}, True,
         utc(2024, 1, 1)),
        ("q", {"visits": [{"kind": "a", "hours": 3}]}, True, utc(2024, 1, 1)),
    ]
    survey_id = build_survey(app, make_user(), document, respondents)
    summary = results(app, survey_id)
    kind = table(summary, "kind")
    # a: p (twice) and q = 2 respondents; b: p = 1; both answered: base 2 (not 4 entries).
    assert (counts(kind), kind.base, kind.shown) == ({"a": 2, "b": 1}, 2, 2)
    assert [row.percent for row in kind.rows] == [100.0, 50.0]
    # numbers summarise every entry's value: 1 2 4 3 -> median (2 + 3) / 2.
    assert table(summary, "hours").numeric == NumericSummary(4, 2.5, 2.5, 1.0, 4.0)
    assert [t.question_id for t in summary.tables] == ["kind", "hours"]


# --- Crosstabs ------------------------------------------------------------------

COLUMNS = ["female", "male", "prefer_not", NOT_STATED, NOT_SHOWN]


def test_crosstab_of_multiple_choice_by_gender_with_not_stated(app, survey_id):
    topics = crosstabs(app, survey_id, "gender")[("topics", "")]
    assert [column.code for column in topics.columns] == COLUMNS
    # x: female r1 r2, male r4; y: female r1, male r3 r4; z: male r4, and r5 who left gender
    # unanswered although it was shown (complete, no show_if): "not stated".
    assert topics.counts == ((2, 1, 0, 0, 0), (1, 2, 0, 0, 0), (0, 1, 0, 1, 0))
    # Respondents in each column who answered topics: female r1 r2 (r6 skipped it), male r3 r4, not stated r5.
    assert topics.column_bases == (2, 2, 0, 1, 0)
    assert topics.percents == ((100.0, 50.0, None, 0.0, None),  # x: 2/2, 1/2
                               (50.0, 100.0, None, 0.0, None),  # y: 1/2, 2/2
                               (0.0, 50.0, None, 100.0, None))  # z: 0/2, 1/2, 1/1
    assert topics.row_totals == (3, 3, 2) and topics.base == 5  # the frequencies of topics
    assert topics.chi_square is None  # rows are not exclusive


def test_crosstab_by_a_conditional_variable_has_not_shown(app, survey_id):
    gender = crosstabs(app, survey_id, "group")[("gender", "")]
    assert [column.code for column in gender.columns] == ["a", "b", NOT_STATED, NOT_SHOWN]
    # female: r1 a, r6 b, r2 is no member so never saw group; male: r4 a, r3 b.
    assert gender.counts == ((1, 1, 0, 1), (1, 1, 0, 0), (0, 0, 0, 0))
    assert gender.row_totals == (3, 2, 0) and gender.column_bases == (2, 2, 0, 1)
    # Stated columns only, empty row dropped: [[1, 1], [1, 1]] -> chi-square 0, p 1, expected counts all 1 < 5.
    assert (gender.chi_square.statistic, gender.chi_square.df) == (0.0, 1)
    assert gender.chi_square.p_value == pytest.approx(1.0)
    assert gender.chi_square.small_expected
    # The partial r7 (male, group a) joins when partial responses are counted.
    with_partial = crosstabs(app, survey_id, "group", completed_only=False)[("gender", "")]
    assert with_partial.counts[1] == (2, 1, 0, 0)


def test_crosstab_chi_square_against_hand_computation(app, survey_id):
    member = crosstabs(app, survey_id, "gender")[("member", "")]
    # yes: female r1 r6, male r3 r4; no: female r2, not stated r5.
    assert member.counts == ((2, 2, 0, 0, 0), (1, 0, 0, 1, 0))
    # Test over stated columns, empty "prefer_not" dropped: [[2, 2], [1, 0]], N = 5,
    # row totals 4 1, column totals 3 2; expected 2.4 1.6 / 0.6 0.4.
    # chi2 = .16/2.4 + .16/1.6 + .16/.6 + .16/.4 = 0.0667 + 0.1 + 0.2667 + 0.4 = 0.8333, df = 1;
    # with 1 df, p = erfc(sqrt(chi2 / 2)) = 0.3613.
    test = member.chi_square
    assert test.statistic == pytest.approx(5 / 6)
    assert test.df == 1
    assert test.p_value == pytest.approx(math.erfc(math.sqrt(5 / 12)))
    assert test.p_value == pytest.approx(0.3613, abs=1e-4)
    assert test.small_expected  # every expected count is below 5


def test_crosstab_rows_of_ratings_and_matrix_rows(app, survey_id):
    tables = crosstabs(app, survey_id, "gender")
    rate = tables[("rate", "")]
    # 5: r1 female; 4: r2 female, r3 male; 2: r5 not stated.
    assert rate.counts == ((0, 0, 0, 0, 0), (0, 0, 0, 1, 0), (0, 0, 0, 0, 0), (1, 1, 0, 0, 0), (1, 0, 0, 0, 0))
    row_one = tables[("m", "r1")]
    # good: r1 female, r3 male; bad: r4 male.
    assert row_one.counts == ((1, 1, 0, 0, 0), (0, 1, 0, 0, 0)) and row_one.row_totals == (2, 1)
    assert ("age", "") not in tables and ("gender", "") not in tables  # numbers and the variable itself


def test_crosstab_row_totals_are_the_frequencies(app, survey_id):
    summary = results(app, survey_id, completed_only=False)
    for key, found in crosstabs(app, survey_id, "member", completed_only=False).items():
        assert found.row_totals == tuple(row.count for row in table(summary, *key).rows), key


def test_crosstab_by_an_unsuitable_variable_is_refused(app, survey_id):
    for variable in ("topics", "age", "nonexistent"):
        with pytest.raises(ValueError):
            crosstabs(app, survey_id, variable)


# --- Kept counts and the ways of counting ---------------------------------------


def kept_blocks(app, survey_id: int) -> dict[tuple[str, int], int]:
    """The kept blocks of counts: (name, block) -> the responses (complete or not) counted in it."""
    with app.app_context():
        rows = db.session().execute(select(ResultBlock.name, ResultBlock.block, ResultBlock.responses)
                                    .where(ResultBlock.survey_id == survey_id))
        return {(name, block): responses for name, block, responses in rows}


def kept_revisions(app, survey_id: int) -> dict[tuple[str, int], int]:
    """The kept blocks of counts: (name, block) -> the sum of the revisions of its responses when counted."""
    with app.app_context():
        rows = db.session().execute(select(ResultBlock.name, ResultBlock.block, ResultBlock.revisions)
                                    .where(ResultBlock.survey_id == survey_id))
        return {(name, block): revisions for name, block, revisions in rows}


def kept_summary(app, survey_id: int):
    """The summary from the kept counts only (no comparison with counting afresh)."""
    with app.app_context():
        session = db.session()
        return queries.summary(session, survey_id, questionnaire_of(session.get(Survey, survey_id).latest_version),
                               ResultFilters())


def complete(app, name: str) -> None:
    """Submit the partial response ``name``, as its respondent's final submit would."""
    with app.app_context():
        session = db.session()
        response = session.execute(select(Response).where(Response.submission_id == name)).scalar_one()
        survey = session.get(Survey, response.survey_id)
        submit(session, survey, questionnaire_of(survey.latest_version), name)


def test_kept_counts_are_read_until_their_block_changes(app, survey_id, monkeypatch):
    monkeypatch.setattr(cache, "BLOCK_SIZE", 2)  # ids r1 | r2 r3 | r4 r5 | r6 r7; r7 is partial
    assert kept_blocks(app, survey_id) == {}
    assert counts(table(results(app, survey_id), "member")) == {"yes": 4, "no": 2}
    assert kept_blocks(app, survey_id) == {("frequencies", 0): 1, ("frequencies", 1): 2, ("frequencies", 2): 2,
                                           ("frequencies", 3): 2}
    # Each response was saved once and submitted once (r7 only saved).
    assert kept_revisions(app, survey_id)[("frequencies", 3)] == 3
    with app.app_context():  # r2 said "no" (block 1): make its kept count say 10 more
        session = db.session()
        block = select(ResultBlock.id).where(ResultBlock.survey_id == survey_id, ResultBlock.block == 1)
        session.execute(update(ResultCount).where(ResultCount.block_id == block.scalar_subquery(),
                                                  ResultCount.question_id == "member", ResultCount.code == "no")
                        .values(n=ResultCount.n + 10))
        session.commit()
    assert counts(table(kept_summary(app, survey_id), "member")) == {"yes": 4, "no": 12}  # read, not recounted
    complete(app, "r7")  # a member, in block 3: that block alone is counted again
    assert counts(table(kept_summary(app, survey_id), "member")) == {"yes": 5, "no": 12}
    assert (kept_blocks(app, survey_id)[("frequencies", 3)], kept_revisions(app, survey_id)[("frequencies", 3)]) == (2, 4)
    with app.app_context():
        db.session().execute(delete(ResultBlock))
        db.session().commit()
    assert counts(table(results(app, survey_id), "member")) == {"yes": 5, "no": 2}


@pytest.mark.parametrize("block_size", [1, 4096])
def test_kept_counts_follow_new_responses_and_versions(app, survey_id, monkeypatch, block_size):
    """Every view below compares the kept counts with counting afresh (see ``results`` and ``crosstabs``)."""
    monkeypatch.setattr(cache, "BLOCK_SIZE", block_size)

    def views():
        for completed_only in (True, False):
            results(app, survey_id, completed_only=completed_only)
            for variable in ("gender", "member", "group"):
                crosstabs(app, survey_id, variable, completed_only=completed_only)

    views()
    with app.app_context():  # a new respondent (a new id, so a new block), and a new partial one
        session = db.session()
        survey = session.get(Survey, survey_id)
        respond(session, survey, "r8", {"gender": "male", "member": "no", "topics": ["y"], "age": 60}, True,
                utc(2024, 3, 8))
        respond(session, survey, "r9", {"gender": "female"}, False, utc(2024, 3, 8))
    views()
    summary = results(app, survey_id)
    assert counts(table(summary, "gender")) == {"female": 3, "male": 3, "prefer_not": 0}  # r3 r4 r8
    assert table(summary, "age").numeric == NumericSummary(6, 37.5, 35.0, 20.0, 60.0)  # 20 25 30 40 50 60
    complete(app, "r7")  # started before r8, so in an older block
    views()
    assert counts(table(results(app, survey_id), "gender"))["male"] == 4
    second = json.loads(json.dumps(DOCUMENT))
    second["version"] = "2"
    second["pages"][0]["questions"].append({"id": "channels", "type": "multiple_choice", "label": "Channels",
                                            "choices": [{"value": "web", "label": "Web"},
                                                        {"value": "radio", "label": "Radio"}]})
    with app.app_context():  # a new multiple-choice question changes what the frequencies count
        session = db.session()
        survey = publish(session, session.get(Survey, survey_id).owner_id, second)
        respond(session, survey, "r10", {"gender": "female", "member": "no", "channels": ["web", "radio"]}, True,
                utc(2024, 3, 9))
    views()
    channels = table(results(app, survey_id), "channels")
    # Only r10 answered; every complete response of version 2 (r10) was shown it.
    assert (counts(channels), channels.base, channels.shown) == ({"web": 1, "radio": 1}, 1, 1)
    with app.app_context():
        definitions = db.session().execute(select(ResultBlock.name, func.count(distinct(ResultBlock.definition)))
                                           .group_by(ResultBlock.name)).all()
    assert definitions and all(count == 1 for _name, count in definitions)  # blocks of older definitions are gone


@pytest.mark.parametrize("filters", [
    {}, {"completed_only": False}, {"date_from": date(2024, 3, 2)}, {"version_numbers": (1,)},
    {"choice_filters": (("member", "yes"),), "completed_only": False},
])
def test_counting_side_by_side_agrees_with_grouping(app, survey_id, monkeypatch, filters):
    """SQLite counts each split (version, status, column) in a column of its own (``pivot``); PostgreSQL groups."""
    def everything():
        return (results(app, survey_id, **filters),
                *(crosstabs(app, survey_id, variable, **filters) for variable in ("gender", "member", "group")))

    side_by_side = everything()
    monkeypatch.setattr(pivot, "LIMIT", 0)
    assert everything() == side_by_side


def test_numeric_summary_from_counts_of_values():
    # 1 1 1 2 5 -> n 5, median the 3rd value (1), mean 10 / 5.
    assert queries.numeric_summary({5.0: 1, 1.0: 3, 2.0: 1}) == NumericSummary(5, 2.0, 1.0, 1.0, 5.0)
    # 1 1 2 5 -> n 4, median (1 + 2) / 2.
    assert queries.numeric_summary({1.0: 2, 2.0: 1, 5.0: 1}).median == 1.5
    # 0.5 0.5 -> the middle two are the same value.
    assert queries.numeric_summary({0.5: 2}) == NumericSummary(2, 0.5, 0.5, 0.5, 0.5)
    assert queries.numeric_summary({-3.0: 1}) == NumericSummary(1, -3.0, -3.0, -3.0, -3.0)


# --- Statistics -----------------------------------------------------------------


def test_chi_square_p_values_against_known_values():
    # Critical values from chi-square tables (p = 0.05 / 0.001).
    assert chi_square_p_value(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-12)
    assert chi_square_p_value(5.991464547107979, 2) == pytest.approx(0.05, rel=1e-12)
    assert chi_square_p_value(18.307038053275146, 10) == pytest.approx(0.05, rel=1e-12)
    assert chi_square_p_value(10.827566170662733, 1) == pytest.approx(0.001, rel=1e-10)
    # Closed forms: 2 df -> exp(-x / 2); 1 df -> erfc(sqrt(x / 2)); both branches of Q(a, x).
    for x in (0.01, 0.5, 1.0, 2.9, 3.1, 10.0, 60.0):
        assert chi_square_p_value(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-12)
        assert chi_square_p_value(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-10)
    assert regularized_upper_gamma(3.0, 0.0) == 1.0


def test_chi_square_of_a_textbook_two_by_two_table():
    # [[10, 20], [30, 40]]: row totals 30 70, column totals 40 60, N 100; expected 12 18 / 28 42.
    # chi2 = 4/12 + 4/18 + 4/28 + 4/42 = 0.793651; p = erfc(sqrt(0.396825)) = 0.3730.
    test = chi_square([[10, 20], [30, 40]])
    assert test.statistic == pytest.approx(0.7936508, rel=1e-6)
    assert test.df == 1
    assert test.p_value == pytest.approx(0.3730, abs=1e-4)
    assert not test.small_expected


def test_chi_square_warns_about_small_expected_counts():
    # [[30, 30], [2, 4]]: expected 6 * 32 / 66 = 2.9 and 6 * 34 / 66 = 3.1: 2 of 4 cells below 5 (50% > 20%).
    assert chi_square([[30, 30], [2, 4]]).small_expected
    # 2 x 5 with a last column of 3 + 3: expected 3 and 3, 2 of 10 cells (20%, not more) below 5, none below 1.
    assert not chi_square([[100, 100, 100, 100, 3], [100, 100, 100, 100, 3]]).small_expected
    # The same with a last column of 1 + 0: expected 0.5 each: below 1, so a warning although only 20%.
    assert chi_square([[100, 100, 100, 100, 1], [100, 100, 100, 100, 0]]).small_expected
    # 2 x 3 table: df = (2 - 1)(3 - 1) = 2.
    assert chi_square([[10, 20, 30], [20, 20, 20]]).df == 2
    assert chi_square([[5, 0], [3, 0]]) is None  # one column left: nothing to test


# --- The page -------------------------------------------------------------------


@pytest.fixture
def page_app(app):
    """``app`` with the results blueprint (registered here until create_app does it)."""
    if "results" not in app.blueprints:
        app.register_blueprint(views.blueprint)
    return app


def test_page_for_owner_and_shared_staff(page_app, client, survey_id, make_user):
    login(client, "owner@example.org")
    page = client.get("/surveys/results-test/results")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Results test" in html and "Group A" in html and "<svg" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the hostile choice label, escaped
    assert "<script" not in html
    staff = make_user("staff", email="staff@example.org")
    with page_app.app_context():
        db.session().add(SurveyMember(survey_id=survey_id, user_id=staff.id, role=SurveyRole.VIEWER))
        db.session().commit()
    other = page_app.test_client()
    login(other, "staff@example.org")
    assert other.get("/surveys/results-test/results").status_code == 200


def test_page_is_hidden_from_others(page_app, client, survey_id, make_user):
    anonymous = client.get("/surveys/results-test/results")
    assert anonymous.status_code in (302, 404)
    if anonymous.status_code == 302:
        assert "/account/login" in anonymous.headers["Location"]
    make_user("researcher", email="other@example.org")
    login(client, "other@example.org")
    assert client.get("/surveys/results-test/results").status_code == 404
    assert client.get("/surveys/no-such-survey/results").status_code == 404


def test_page_applies_filters_and_breakdown(page_app, client, survey_id):
    login(client, "owner@example.org")
    html = client.get("/surveys/results-test/results?lang=en&status=all&where=gender:female&breakdown=group"
                      ).get_data(as_text=True)
    assert "Responses matching the filters: 3" in html  # r1 r2 r6
    assert "Not shown" in html  # r2 never saw group
    assert 'value="gender:female" selected' in html and 'value="group" selected' in html


def test_page_reports_ignored_filters(page_app, client, survey_id):
    login(client, "owner@example.org")
    page = client.get("/surveys/results-test/results?lang=en&status=sometimes&from=yesterday&version=9&version=%C2%B2"
                      "&where=age:20&where=gender:nobody&breakdown=topics&breakdown=%3Cb%3E")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for message in ("Unknown response status", "is not a date", "There is no version “9”", "There is no version “²”",
                    "Unknown filter “age:20”", "Unknown filter “gender:nobody”",
                    "Results cannot be broken down by “topics”"):
        assert message in html, message
    assert "Responses matching the filters: 6" in html  # every filter ignored


def test_filters_are_parsed_against_allow_lists(app, survey_id):
    with app.test_request_context("/?status=all&from=2024-03-02&to=2024-03-05&version=1&version=1"
                                  "&where=member:yes&where=group:b&breakdown=gender"):
        from flask import request

        survey = db.session().get(Survey, survey_id)
        questionnaire = questionnaire_of(survey.latest_version)
        filters, problems = views.parse_filters(request.args, questionnaire, [1], ["gender", "member"])
    assert problems == []
    assert filters == ResultFilters(completed_only=False, date_from=date(2024, 3, 2), date_to=date(2024, 3, 5),
                                    version_numbers=(1,), choice_filters=(("member", "yes"), ("group", "b")),
                                    breakdown="gender")
