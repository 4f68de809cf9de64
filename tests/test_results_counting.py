"""How results are counted: typed numbers as sums (not value by value), medians under every filter,
plugin question types, kept counts serving date and version filters, and one count per results page.

Every test runs on SQLite and on PostgreSQL (see conftest) with the same hand-computed numbers.
Response ids start at 1 in each test's fresh database, in the order the respondents are stored,
so with ``cache.BLOCK_SIZE`` 2 the blocks are: id 1 | ids 2 3 | ids 4 5 | ids 6 7 ...
Numbers are chosen with few binary digits (halves, quarters, eighths) so that their sums are exact
whatever order a database adds them in, and means can be compared exactly.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import select, update

from survey_app import create_app, db
from survey_app.auth.passwords import hash_password
from survey_app.models import QuestionnaireVersion, Response, ResultBlock, ResultCount, Role, Survey, User
from survey_app.results import cache, queries, views
from survey_app.results.queries import SurveyResults
from survey_app.results.tables import NumericSummary, ResultFilters
from survey_app.surveys import questionnaire_of
from tests import plugin_example, plugin_numbers
from tests.conftest import _base_config
from tests.helpers import PASSWORD, login
from tests.test_results import (build_survey, counts, crosstabs, kept_blocks, publish, respond, results, table,
                                utc)


@pytest.fixture
def survey_id(app, make_user) -> int:
    """The data set of ``tests/test_results.py`` (r1..r6 complete, r7 partial), owned by owner@example.org."""
    return build_survey(app, make_user("researcher", email="owner@example.org"))


@pytest.fixture
def page_app(app):
    """``app`` with the results blueprint (as in ``tests/test_results.py``)."""
    if "results" not in app.blueprints:
        app.register_blueprint(views.blueprint)
    return app


def summary_of(n: int, total: float, median: float, low: float, high: float) -> NumericSummary:
    """A numeric summary from hand-computed n, sum, median, minimum and maximum."""
    return NumericSummary(n, total / n, median, low, high)


def kept_view(app, survey_id: int, **filters):
    """The summary with the kept counts serving what they can (no comparison with counting afresh)."""
    with app.app_context():
        session = db.session()
        return queries.summary(session, survey_id, questionnaire_of(session.get(Survey, survey_id).latest_version),
                               ResultFilters(**filters))


def kept_rows(app, survey_id: int, question_id: str) -> Counter:
    """How many kept count rows ``question_id`` has: (counting name, kind) -> rows."""
    with app.app_context():
        rows = db.session().execute(
            select(ResultBlock.name, ResultCount.kind).join(ResultBlock, ResultBlock.id == ResultCount.block_id)
            .where(ResultBlock.survey_id == survey_id, ResultCount.question_id == question_id))
        return Counter(tuple(row) for row in rows)


def tamper(app, survey_id: int, block: int, question_id: str, *, kind: str = "rows", code: str | None = None,
           version_id: int | None = None, **values) -> None:
    """Change the kept counts of one block of the frequencies (e.g. ``n=ResultCount.n + 10``); one row must match."""
    with app.app_context():
        session = db.session()
        block_id = select(ResultBlock.id).where(ResultBlock.survey_id == survey_id, ResultBlock.name == "frequencies",
                                                ResultBlock.block == block).scalar_subquery()
        conditions = [ResultCount.block_id == block_id, ResultCount.question_id == question_id,
                      ResultCount.kind == kind]
        if code is not None:
            conditions.append(ResultCount.code == code)
        if version_id is not None:
            conditions.append(ResultCount.version_id == version_id)
        changed = session.execute(update(ResultCount).where(*conditions).values(**values)).rowcount
        session.commit()
    assert changed == 1, f"{changed} kept counts of block {block} matched"


def version_ids(app, survey_id: int) -> dict[int, int]:
    """The ids of the survey's versions, by number."""
    with app.app_context():
        rows = db.session().execute(select(QuestionnaireVersion.number, QuestionnaireVersion.id)
                                    .where(QuestionnaireVersion.survey_id == survey_id))
        return dict(rows.all())


def response_ids(app, survey_id: int) -> dict[str, int]:
    with app.app_context():
        rows = db.session().execute(select(Response.submission_id, Response.id).where(Response.survey_id == survey_id))
        return dict(rows.all())


# --- Typed numbers: summarized, not counted value by value ------------------------

DECIMALS = {
    "id": "decimal-test", "version": "1", "languages": ["en"], "title": "Decimals",
    "pages": [{"id": "p1", "questions": [
        {"id": "gender", "type": "single_choice", "label": "Gender",
         "choices": [{"value": "female", "label": "Female"}, {"value": "male", "label": "Male"}]},
        {"id": "d", "type": "decimal", "label": "A continuous number"},
        {"id": "member", "type": "yes_no", "label": "Member?"},  # left unanswered: a question to crosstabulate
    ]}],
}


def decimal_respondents(values, start: int = 0):
    """Odd ids (1-based, in order) are female, even ids male; one per day."""
    return [(f"d{start + index}", {"gender": "female" if (start + index) % 2 == 0 else "male", "d": value}, True,
             utc(2024, 2, 1 + (start + index) % 28)) for index, value in enumerate(values)]


def add_respondents(app, survey_id: int, respondents) -> None:
    """Store more respondents (as in ``build_survey``) to the survey."""
    with app.app_context():
        session = db.session()
        survey = session.get(Survey, survey_id)
        for name, answers, complete, when in respondents:
            respond(session, survey, name, answers, complete, when)


@pytest.mark.parametrize("block_size", [2, 4096])
def test_decimal_numbers_are_summarized_and_kept_as_one_count_per_split(app, make_user, monkeypatch, block_size):
    monkeypatch.setattr(cache, "BLOCK_SIZE", block_size)
    values = [2.5, 10.25, 3.75, 100.0, 0.5, 42.125, 7.0]
    survey_id = build_survey(app, make_user(), DECIMALS, decimal_respondents(values))

    def check(expected: NumericSummary, responses: int) -> None:
        d = table(results(app, survey_id), "d")  # kept counts (stored here) and afresh agree
        assert d.numeric == expected
        assert (d.base, d.shown, d.rows) == (responses, responses, ())
        crosstabs(app, survey_id, "gender")  # keeps the counts split by gender too
        # One ``values`` row per kept block and split (no per-value rows, no "rows" of d at all):
        # the frequencies have one split per block (one version, complete responses); the counts
        # by gender one per gender present in the block (odd ids female, even ids male).
        blocks = [number for name, number in kept_blocks(app, survey_id) if name == "frequencies"]
        ids = range(1, responses + 1)
        genders = sum(len({identity % 2 for identity in ids if identity // block_size == number}) for number in blocks)
        assert sorted(blocks) == sorted({identity // block_size for identity in ids})
        assert kept_rows(app, survey_id, "d") == Counter({("frequencies", "values"): len(blocks),
                                                          ("crosstabs:gender", "values"): genders})
        if block_size == 4096:
            assert kept_rows(app, survey_id, "d") == Counter({("frequencies", "values"): 1,
                                                              ("crosstabs:gender", "values"): 2})

    # 0.5 2.5 3.75 7 10.25 42.125 100: n 7 (odd), median the 4th (7); sum 166.125.
    check(summary_of(7, 166.125, 7.0, 0.5, 100.0), 7)
    add_respondents(app, survey_id, decimal_respondents([5.5], start=7))
    # 0.5 2.5 3.75 5.5 7 10.25 42.125 100: n 8 (even), median (5.5 + 7) / 2; sum 171.625.
    check(summary_of(8, 171.625, 6.25, 0.5, 100.0), 8)
    # 22 more distinct values, 1000.25, 1000.5 ... 1005.5 (sum 22 * 1000 + 0.25 * 253 = 22063.25):
    # 30 values, the 15th and 16th are the new 7th and 8th, 1001.75 and 1002.
    more = [1000 + 0.25 * step for step in range(1, 23)]
    add_respondents(app, survey_id, decimal_respondents(more, start=8))
    check(summary_of(30, 171.625 + 22063.25, 1001.875, 0.5, 1005.5), 30)


# --- Medians under filters --------------------------------------------------------

NUMBERS = {
    "id": "numbers-test", "version": "1", "languages": ["en"], "title": "Numbers",
    "pages": [{"id": "p1", "questions": [
        {"id": "gender", "type": "single_choice", "label": "Gender",
         "choices": [{"value": "female", "label": "Female"}, {"value": "male", "label": "Male"}]},
        {"id": "score", "type": "decimal", "label": "Score"},
        {"id": "visits", "type": "repeat", "label": "Visits", "questions": [
            {"id": "hours", "type": "integer", "label": "Hours"},
        ]},
    ]}],
}


def visits(*hours: int) -> list[dict]:
    return [{"hours": each} for each in hours]


# ids 1..6 in version 1 (p6 partial, started 05-02), id 7 (s7) in version 2.
# With blocks of 2: s1 | s2 s3 | s4 s5 | p6 s7.
NUMBER_RESPONDENTS = [
    ("s1", {"gender": "female", "score": 1.5, "visits": visits(3, 8)}, True, utc(2024, 5, 1, 9)),
    ("s2", {"gender": "male", "score": 4.0, "visits": visits(1)}, True, utc(2024, 5, 2, 9)),
    ("s3", {"gender": "female", "score": 9.25, "visits": visits(10, 2, 6)}, True, utc(2024, 5, 3, 9)),
    ("s4", {"gender": "male", "score": 2.0}, True, utc(2024, 5, 3, 18)),
    ("s5", {"gender": "female", "score": 7.5, "visits": visits(5)}, True, utc(2024, 5, 4, 9)),
    ("p6", {"gender": "male", "score": 100.0, "visits": visits(50)}, False, utc(2024, 5, 2, 12)),
]
SECOND_VERSION_RESPONDENTS = [("s7", {"gender": "female", "score": 3.0, "visits": visits(4)}, True, utc(2024, 5, 5, 9))]


def build_numbers_survey(app, owner: User) -> int:
    survey_id = build_survey(app, owner, NUMBERS, NUMBER_RESPONDENTS)
    second = json.loads(json.dumps(NUMBERS))
    second["version"], second["title"] = "2", "Numbers, again"
    with app.app_context():
        session = db.session()
        survey = publish(session, owner.id, second)
        assert survey.latest_version.number == 2
        for name, answers, complete, when in SECOND_VERSION_RESPONDENTS:
            respond(session, survey, name, answers, complete, when)
    return survey_id


MAY_2_TO_3 = {"date_from": date(2024, 5, 2), "date_to": date(2024, 5, 3)}


@pytest.mark.parametrize("filters, score, hours", [
    # Complete: scores 1.5 4 9.25 2 7.5 3 -> 1.5 2 3 4 7.5 9.25 (median (3 + 4) / 2, sum 27.25);
    # hours per entry 3 8 1 10 2 6 5 4 -> 1 2 3 4 5 6 8 10 (median (4 + 5) / 2, sum 39).
    ({}, summary_of(6, 27.25, 3.5, 1.5, 9.25), summary_of(8, 39, 4.5, 1, 10)),
    # With the partial p6: + 100 -> median the 4th of 7 (4); hours + 50 -> median the 5th of 9 (5).
    ({"completed_only": False}, summary_of(7, 127.25, 4.0, 1.5, 100.0), summary_of(9, 89, 5.0, 1, 50)),
    # 05-02..05-03, complete: s2 s3 s4: 2 4 9.25; hours 1 10 2 6 -> 1 2 6 10, median (2 + 6) / 2.
    (MAY_2_TO_3, summary_of(3, 15.25, 4.0, 2.0, 9.25), summary_of(4, 19, 4.0, 1, 10)),
    # ... and the partial p6 (started 05-02): 2 4 9.25 100 -> (4 + 9.25) / 2; hours 1 2 6 10 50 -> 6.
    ({**MAY_2_TO_3, "completed_only": False}, summary_of(4, 115.25, 6.625, 2.0, 100.0), summary_of(5, 69, 6.0, 1, 50)),
    # Women s1 s3 s5 s7: 1.5 3 7.5 9.25 -> (3 + 7.5) / 2; hours 3 8 10 2 6 5 4 -> 2 3 4 5 6 8 10 -> 5.
    ({"choice_filters": (("gender", "female"),)}, summary_of(4, 21.25, 5.25, 1.5, 9.25), summary_of(7, 38, 5.0, 2, 10)),
    # Men with partial: s2 s4 p6: 2 4 100 -> 4; hours 1 50 -> 25.5.
    ({"choice_filters": (("gender", "male"),), "completed_only": False},
     summary_of(3, 106.0, 4.0, 2.0, 100.0), summary_of(2, 51, 25.5, 1, 50)),
    # Version 1, complete: s1..s5: 1.5 2 4 7.5 9.25 -> 4; hours 1 2 3 5 6 8 10 -> 5.
    ({"version_numbers": (1,)}, summary_of(5, 24.25, 4.0, 1.5, 9.25), summary_of(7, 35, 5.0, 1, 10)),
    # Version 1 with p6: 1.5 2 4 7.5 9.25 100 -> (4 + 7.5) / 2; hours 1 2 3 5 6 8 10 50 -> (5 + 6) / 2.
    ({"version_numbers": (1,), "completed_only": False},
     summary_of(6, 124.25, 5.75, 1.5, 100.0), summary_of(8, 85, 5.5, 1, 50)),
    # Version 2: s7 alone.
    ({"version_numbers": (2,)}, summary_of(1, 3.0, 3.0, 3.0, 3.0), summary_of(1, 4, 4.0, 4, 4)),
    # Version 1 and the dates: s2 s3 s4 (s7 is version 2 and out of the dates anyway).
    ({**MAY_2_TO_3, "version_numbers": (1,)}, summary_of(3, 15.25, 4.0, 2.0, 9.25), summary_of(4, 19, 4.0, 1, 10)),
], ids=["complete", "with-partial", "dates", "dates-with-partial", "women", "men-with-partial", "version-1",
        "version-1-with-partial", "version-2", "dates-version-1"])
def test_medians_and_numeric_summaries_respect_filters(app, make_user, monkeypatch, filters, score, hours):
    monkeypatch.setattr(cache, "BLOCK_SIZE", 2)  # s1 | s2 s3 | s4 s5 | p6 s7: the dates cut block "s4 s5"
    survey_id = build_numbers_survey(app, make_user())
    results(app, survey_id)  # keeps every block (partial responses too), so the filtered view reads what it can
    assert kept_blocks(app, survey_id) == {("frequencies", 0): 1, ("frequencies", 1): 2, ("frequencies", 2): 2,
                                           ("frequencies", 3): 2}
    summary = results(app, survey_id, **filters)  # the kept counts and counting afresh agree
    assert table(summary, "score").numeric == score
    assert table(summary, "hours").numeric == hours


def test_repeat_numbers_are_per_entry_and_respondents_per_question(app, make_user):
    survey_id = build_numbers_survey(app, make_user())
    summary = results(app, survey_id)
    hours = table(summary, "hours")
    # Respondents with hours: s1 s2 s3 s5 s7 (s4 had no visit); a repeat group's question is never
    # "certainly shown", so shown = answered. The numbers are the 8 entries'.
    assert (hours.base, hours.shown) == (5, 5)
    assert hours.numeric == summary_of(8, 39, 4.5, 1, 10)
    with_partial = table(results(app, survey_id, completed_only=False), "hours")
    assert (with_partial.base, with_partial.numeric.n) == (6, 9)


def test_repeat_numbers_are_not_kept_value_by_value(app, make_user):
    """A repeat group's numbers, like others, make one ``values`` count per split, whatever their values."""
    survey_id = build_numbers_survey(app, make_user())
    results(app, survey_id)  # one block (ids 1..7): version 1 complete and partial (p6), version 2 complete
    # hours: 7 distinct values in version 1 (s1..s5), 1 in p6 and 1 in version 2 (s7). Kept per version and
    # status: the values (n, sum, min, max) and the respondents who answered; nothing per distinct value.
    assert kept_rows(app, survey_id, "hours") == Counter({("frequencies", "values"): 3,
                                                          ("frequencies", "answered"): 3})
    # score (outside the repeat group): one values row per version and status.
    assert kept_rows(app, survey_id, "score") == Counter({("frequencies", "values"): 3})


# --- Plugin question types ----------------------------------------------------------

PLUGIN_DOCUMENT = {
    "id": "plugin-results", "version": "1", "languages": ["en"], "title": "Plugin types",
    "pages": [{"id": "p1", "questions": [
        {"id": "place", "type": "geopoint", "label": "Where?"},
        {"id": "weight", "type": "weight", "label": "Weight"},
        {"id": "member", "type": "yes_no", "required": True, "label": "Member?"},
        {"id": "dose", "type": "weight", "show_if": "member = 'yes'", "label": "Dose"},
    ]}],
}
PLUGIN_RESPONDENTS = [
    ("a1", {"place": "43.2383, 76.9453", "weight": 70.5, "member": "yes", "dose": 2.5}, True, utc(2024, 6, 1)),
    ("a2", {"place": "51.5, -0.1", "member": "no"}, True, utc(2024, 6, 2)),
    ("a3", {"weight": 82.25, "member": "yes"}, True, utc(2024, 6, 3)),
    ("a4", {"place": "0, 0", "weight": 64.0, "member": "no"}, True, utc(2024, 6, 4)),
    ("a5", {"place": "10, 10", "weight": 90.0}, False, utc(2024, 6, 5)),
]


@pytest.fixture
def plugin_app(database_url, tmp_path):
    """An app with the example plugin (geopoint: text) and the numbers plugin (weight: number)."""
    application = create_app(_base_config(tmp_path, database_url), plugins=[plugin_example, plugin_numbers])
    yield application
    db.database(application).engine.dispose()


def owner_in(app, email: str = "owner@example.org") -> User:
    with app.app_context():
        session = db.session()
        user = User(email=email, name="Owner", role=Role("researcher"), password_hash=hash_password(PASSWORD))
        session.add(user)
        session.commit()
        return user


def test_plugin_question_types_are_counted(plugin_app):
    survey_id = build_survey(plugin_app, owner_in(plugin_app), PLUGIN_DOCUMENT, PLUGIN_RESPONDENTS)
    summary = results(plugin_app, survey_id)
    assert summary.responses == 4
    place = table(summary, "place")
    # Text kind: answered by a1 a2 a4; unconditional, so shown to every complete response (4); no numbers.
    assert (place.question_type, place.base, place.shown, place.rows, place.numeric) == ("geopoint", 3, 4, (), None)
    weight = table(summary, "weight")
    # Number kind: a1 a3 a4: 64 70.5 82.25 -> median 70.5, sum 216.75; a2 was shown it too.
    assert (weight.question_type, weight.base, weight.shown, weight.rows) == ("weight", 3, 4, ())
    assert weight.numeric == summary_of(3, 216.75, 70.5, 64.0, 82.25)
    dose = table(summary, "dose")
    # Conditional (members a1 a3): only a1 answered, and an unanswered conditional question counts as not shown.
    assert (dose.base, dose.shown, dose.numeric) == (1, 1, summary_of(1, 2.5, 2.5, 2.5, 2.5))
    # Kept, per status (the partial a5 answered both): the text question as one row (who answered),
    # the number question as one values count.
    assert kept_rows(plugin_app, survey_id, "place") == Counter({("frequencies", "rows"): 2})
    assert kept_rows(plugin_app, survey_id, "weight") == Counter({("frequencies", "values"): 2})

    everyone = results(plugin_app, survey_id, completed_only=False)
    assert everyone.responses == 5
    # The partial a5 answered both: place 4 answered, + a3 (complete, unanswered) shown = 5.
    place, weight = table(everyone, "place"), table(everyone, "weight")
    assert (place.base, place.shown) == (4, 5)
    # weight: 64 70.5 82.25 90 -> median (70.5 + 82.25) / 2, sum 306.75; shown: 4 + a2.
    assert (weight.base, weight.shown) == (4, 5)
    assert weight.numeric == summary_of(4, 306.75, 76.375, 64.0, 90.0)
    members = results(plugin_app, survey_id, choice_filters=(("member", "no"),))  # a2 a4
    assert (table(members, "place").base, table(members, "weight").numeric) == (2, summary_of(1, 64.0, 64.0, 64, 64))

    if "results" not in plugin_app.blueprints:
        plugin_app.register_blueprint(views.blueprint)
    client = plugin_app.test_client()
    login(client, "owner@example.org")
    page = client.get("/surveys/plugin-results/results")
    assert page.status_code == 200
    assert "<td>3</td><td>72.25</td><td>70.50</td><td>64</td><td>82.25</td>" in page.get_data(as_text=True)


# --- Kept counts serving date and version filters ----------------------------------

COLORS = {
    "id": "colors-test", "version": "1", "languages": ["en"], "title": "Colors",
    "pages": [{"id": "p1", "questions": [
        {"id": "color", "type": "single_choice", "label": "Color",
         "choices": [{"value": "red", "label": "Red"}, {"value": "blue", "label": "Blue"}]},
        {"id": "n", "type": "integer", "label": "A number"},
    ]}],
}
# With blocks of 2: d1 | d2 d3 | d4 d5 | d6 (ids 1..6).
DATED = [
    ("d1", {"color": "red", "n": 5}, True, utc(2024, 4, 1, 10)),
    ("d2", {"color": "red", "n": 10}, True, utc(2024, 4, 2, 10)),
    ("d3", {"color": "blue", "n": 20}, True, utc(2024, 4, 2, 11)),
    ("d4", {"color": "blue", "n": 30}, True, utc(2024, 4, 3, 10)),
    ("d5", {"color": "red", "n": 40}, True, utc(2024, 4, 5, 10)),
    ("d6", {"color": "blue", "n": 50}, True, utc(2024, 4, 6, 10)),
]
APRIL_2_TO_3 = {"date_from": date(2024, 4, 2), "date_to": date(2024, 4, 3)}


def test_date_filters_read_blocks_wholly_within_the_dates(app, make_user, monkeypatch):
    monkeypatch.setattr(cache, "BLOCK_SIZE", 2)
    survey_id = build_survey(app, make_user(), COLORS, DATED)
    assert response_ids(app, survey_id) == {f"d{number}": number for number in range(1, 7)}
    # 04-02..04-03: d2 d3 (block 1, wholly within), d4 (block 2, partly: d5 is on 04-05); blocks 0 and 3 outside.
    dated = results(app, survey_id, **APRIL_2_TO_3)  # nothing kept yet: counted afresh, and nothing stored
    assert (dated.responses, counts(table(dated, "color"))) == (3, {"red": 1, "blue": 2})
    assert table(dated, "n").numeric == summary_of(3, 60, 20.0, 10, 30)
    assert kept_blocks(app, survey_id) == {}
    results(app, survey_id)  # the unfiltered view keeps every block
    assert kept_blocks(app, survey_id) == {("frequencies", 0): 1, ("frequencies", 1): 2, ("frequencies", 2): 2,
                                           ("frequencies", 3): 1}

    tamper(app, survey_id, 1, "color", code="red", n=ResultCount.n + 10)  # within: read
    tamper(app, survey_id, 1, "n", kind="values", total=ResultCount.total + 300, high=999.0)
    tamper(app, survey_id, 2, "color", code="blue", n=ResultCount.n + 100)  # partly within: counted afresh
    tamper(app, survey_id, 2, "n", kind="values", total=ResultCount.total + 1000, low=-1000.0)
    tamper(app, survey_id, 0, "color", code="red", n=ResultCount.n + 1000)  # outside
    tamper(app, survey_id, 3, "color", code="blue", n=ResultCount.n + 1000)  # outside
    dated = kept_view(app, survey_id, **APRIL_2_TO_3)
    # red: block 1's kept 1 + 10; blue: block 1's kept 1 (d3) + d4 counted afresh (not block 2's kept + 100).
    assert (dated.responses, counts(table(dated, "color"))) == (3, {"red": 11, "blue": 2})
    # n: block 1's kept sum 30 + 300 and maximum 999, and d4's 30 counted afresh; the median comes from
    # the answers themselves (10 20 30).
    assert table(dated, "n").numeric == summary_of(3, 360, 20.0, 10, 999.0)
    # Up to 04-01: block 0 alone, wholly within: read (1 + 1000).
    assert counts(table(kept_view(app, survey_id, date_to=date(2024, 4, 1)), "color")) == {"red": 1001, "blue": 0}
    # From 04-06: block 3 alone (1 + 1000).
    assert counts(table(kept_view(app, survey_id, date_from=date(2024, 4, 6)), "color")) == {"red": 0, "blue": 1001}
    assert kept_blocks(app, survey_id) == {("frequencies", 0): 1, ("frequencies", 1): 2, ("frequencies", 2): 2,
                                           ("frequencies", 3): 1}

    with app.app_context():  # a new respondent in block 3 (id 7), dated within the range
        session = db.session()
        respond(session, session.get(Survey, survey_id), "d7", {"color": "red", "n": 15}, True, utc(2024, 4, 3, 12))
    dated = kept_view(app, survey_id, **APRIL_2_TO_3)
    # Block 3 changed (2 complete responses, 1 kept): counted afresh, d7 within the dates, d6 not.
    assert (dated.responses, counts(table(dated, "color"))) == (4, {"red": 12, "blue": 2})
    assert table(dated, "n").numeric == summary_of(4, 375, 17.5, 10, 999.0)  # 10 15 20 30: (15 + 20) / 2
    assert kept_blocks(app, survey_id)[("frequencies", 3)] == 1  # a dated view stores nothing
    kept_view(app, survey_id)  # the unfiltered view does
    assert kept_blocks(app, survey_id)[("frequencies", 3)] == 2
    # Block 3's kept counts are fresh again (the tampered +1000 is gone); blocks 0 and 1 are still tampered.
    assert counts(table(kept_view(app, survey_id), "color")) == {"red": 1 + 1000 + 1 + 10 + 1 + 1, "blue": 1 + 101 + 1}


def test_date_filters_with_partial_responses_use_kept_counts_too(app, make_user, monkeypatch):
    monkeypatch.setattr(cache, "BLOCK_SIZE", 2)
    partial = [("d7", {"color": "blue", "n": 70}, False, utc(2024, 4, 2, 15))]  # id 7, block 3, never kept
    survey_id = build_survey(app, make_user(), COLORS, DATED + partial)
    results(app, survey_id)
    for filters in (APRIL_2_TO_3, {"date_from": date(2024, 4, 3)}, {"date_to": date(2024, 4, 4)}):
        results(app, survey_id, completed_only=False, **filters)  # the kept counts and counting afresh agree
    tamper(app, survey_id, 1, "color", code="blue", n=ResultCount.n + 10)
    found = kept_view(app, survey_id, completed_only=False, **APRIL_2_TO_3)
    # d2 red, d3 blue (+10, kept), d4 blue (afresh), the partial d7 blue (afresh, started 04-02).
    assert (found.responses, counts(table(found, "color"))) == (4, {"red": 1, "blue": 13})
    assert table(found, "n").numeric == summary_of(4, 130, 25.0, 10, 70)  # 10 20 30 70
    assert set(kept_blocks(app, survey_id)) == {("frequencies", number) for number in range(4)}


def test_version_filters_read_kept_counts(app, make_user, monkeypatch):
    monkeypatch.setattr(cache, "BLOCK_SIZE", 2)
    owner = make_user()
    # ids: e1 e2 in version 1; e3 e4 e5 in version 2. Blocks: e1 | e2 (v1) e3 (v2) | e4 e5.
    survey_id = build_survey(app, owner, COLORS, [("e1", {"color": "red", "n": 1}, True, utc(2024, 4, 1)),
                                                  ("e2", {"color": "blue", "n": 2}, True, utc(2024, 4, 2))])
    second = json.loads(json.dumps(COLORS))
    second["version"], second["title"] = "2", "Colors, again"
    with app.app_context():
        session = db.session()
        survey = publish(session, owner.id, second)
        for name, color, number in (("e3", "red", 4), ("e4", "blue", 8), ("e5", "red", 16)):
            respond(session, survey, name, {"color": color, "n": number}, True, utc(2024, 4, 3))
    versions = version_ids(app, survey_id)
    results(app, survey_id)
    stored = kept_blocks(app, survey_id)
    assert stored == {("frequencies", 0): 1, ("frequencies", 1): 2, ("frequencies", 2): 2}
    first = results(app, survey_id, version_numbers=(1,))  # kept counts and afresh agree
    assert (first.responses, counts(table(first, "color"))) == (2, {"red": 1, "blue": 1})
    assert table(first, "n").numeric == summary_of(2, 3, 1.5, 1, 2)
    latest = results(app, survey_id, version_numbers=(2,))
    assert (latest.responses, counts(table(latest, "color"))) == (3, {"red": 2, "blue": 1})
    assert table(latest, "n").numeric == summary_of(3, 28, 8.0, 4, 16)
    assert kept_blocks(app, survey_id) == stored

    # Block 1 holds e2 (version 1, blue) and e3 (version 2, red): tamper each version's count.
    tamper(app, survey_id, 1, "color", code="blue", version_id=versions[1], n=ResultCount.n + 10)
    tamper(app, survey_id, 1, "color", code="red", version_id=versions[2], n=ResultCount.n + 100)
    tamper(app, survey_id, 1, "n", kind="values", version_id=versions[1], total=ResultCount.total + 1000)
    first = kept_view(app, survey_id, version_numbers=(1,))
    assert counts(table(first, "color")) == {"red": 1, "blue": 11}  # read, not recounted; version 2's not summed
    assert table(first, "n").numeric == summary_of(2, 1003, 1.5, 1, 2)
    latest = kept_view(app, survey_id, version_numbers=(2,))
    assert counts(table(latest, "color")) == {"red": 102, "blue": 1}
    assert table(latest, "n").numeric == summary_of(3, 28, 8.0, 4, 16)
    assert counts(table(kept_view(app, survey_id, version_numbers=(1, 2)), "color")) == {"red": 103, "blue": 12}

    with app.app_context():  # a new version 2 respondent (id 6, block 3): counted afresh, and not stored
        session = db.session()
        respond(session, session.get(Survey, survey_id), "e6", {"color": "blue", "n": 32}, True, utc(2024, 4, 4))
    latest = kept_view(app, survey_id, version_numbers=(2,))
    assert (latest.responses, counts(table(latest, "color"))) == (4, {"red": 102, "blue": 2})
    assert table(latest, "n").numeric == summary_of(4, 60, 12.0, 4, 32)  # 4 8 16 32: (8 + 16) / 2
    assert kept_blocks(app, survey_id) == stored


# --- One count per results page ----------------------------------------------------


@pytest.fixture
def count_calls(monkeypatch):
    """Every call of ``queries._count``: (the plan's variable, the filters)."""
    calls = []
    original = queries._count

    def counting(session, survey_id, plan, filters, cached):
        calls.append((plan.variable, filters))
        return original(session, survey_id, plan, filters, cached)

    monkeypatch.setattr(queries, "_count", counting)
    return calls


@pytest.mark.parametrize("query, variable", [
    ("breakdown=gender", "gender"),
    ("breakdown=group&status=all", "group"),
    ("breakdown=member&where=gender:female&from=2024-03-01", "member"),
    ("", "gender"),  # split by the first variable offered, so that it shares the kept counts by gender
    ("where=member:yes", "member"),  # split by the filter's question: its column serves the filter
])
def test_results_page_counts_once(page_app, client, survey_id, count_calls, query, variable):
    login(client, "owner@example.org")
    page = client.get(f"/surveys/results-test/results?{query}")
    assert page.status_code == 200
    # The summary and (with a breakdown) the breakdowns plugin's crosstabs share one count, split by the variable.
    assert [called for called, _filters in count_calls] == [variable]
    if "breakdown=" in query:
        assert "Not stated" in page.get_data(as_text=True) or "Not shown" in page.get_data(as_text=True)
    names = {name for name, _block in kept_blocks(page_app, survey_id)}
    if "where=gender" not in query:  # served by kept counts: only the split count is kept
        assert names == {f"crosstabs:{variable}"}


@pytest.mark.parametrize("variable, completed_only", [("gender", True), ("group", False), ("member", True)])
def test_split_count_gives_the_frequencies_and_the_crosstabs(app, survey_id, count_calls, variable, completed_only):
    with app.app_context():
        session = db.session()
        questionnaire = questionnaire_of(session.get(Survey, survey_id).latest_version)
        counted = SurveyResults(session, survey_id, questionnaire,
                                ResultFilters(completed_only=completed_only, breakdown=variable))
        found, tables = counted.summary(), counted.crosstabs(variable)
        assert count_calls == [(variable, ResultFilters(completed_only=completed_only, breakdown=variable))]
        # The frequencies summed over the variable's columns are those of the unsplit count, afresh.
        assert found == queries.summary(session, survey_id, questionnaire, ResultFilters(completed_only=completed_only),
                                        cached=False)
        assert tables == queries.crosstabs(session, survey_id, questionnaire,
                                           ResultFilters(completed_only=completed_only), variable, cached=False)
        # The same object counted afresh agrees, still once.
        del count_calls[:]
        afresh = SurveyResults(session, survey_id, questionnaire, ResultFilters(completed_only=completed_only,
                                                                                breakdown=variable), cached=False)
        assert (afresh.crosstabs(variable), afresh.summary()) == (tables, found)
        assert len(count_calls) == 1
    assert counts(table(found, "member")) == ({"yes": 4, "no": 2} if completed_only else {"yes": 5, "no": 2})
    assert table(found, "age").numeric == NumericSummary(5, 33.0, 30.0, 20.0, 50.0)  # r7 gave no age


# --- Choice filters --------------------------------------------------------------------


def test_one_choice_filter_reads_the_counts_split_by_its_question(app, survey_id):
    women = {"choice_filters": (("gender", "female"),)}
    summary = results(app, survey_id, **women)  # the kept counts and counting afresh agree
    assert (summary.responses, counts(table(summary, "member"))) == (3, {"yes": 2, "no": 1})  # r1 r6 | r2
    assert {name for name, _block in kept_blocks(app, survey_id)} == {"crosstabs:gender"}
    with app.app_context():  # make the kept count of female members say 10 more
        session = db.session()
        kept = select(ResultBlock.id).where(ResultBlock.survey_id == survey_id, ResultBlock.name == "crosstabs:gender")
        changed = session.execute(update(ResultCount).where(
            ResultCount.block_id.in_(kept), ResultCount.question_id == "member", ResultCount.code == "yes",
            ResultCount.col == "female").values(n=ResultCount.n + 10)).rowcount
        session.commit()
    assert changed == 1  # one block, one version, complete responses only
    assert counts(table(kept_view(app, survey_id, **women), "member")) == {"yes": 12, "no": 1}  # read
    men = kept_view(app, survey_id, choice_filters=(("gender", "male"),))
    assert counts(table(men, "member")) == {"yes": 2, "no": 0}  # r3 r4: another column of the same counts
    # A second choice filter is counted afresh: the tampering is not seen.
    both = kept_view(app, survey_id, choice_filters=(("gender", "female"), ("member", "yes")))
    assert counts(table(both, "member")) == {"yes": 2, "no": 0}
    # With a breakdown by another question, the counts split by both are kept apart (and read).
    by_group = results(app, survey_id, breakdown="group", **women)  # kept and afresh agree
    assert counts(table(by_group, "member")) == {"yes": 2, "no": 1}
    assert "crosstabs:group within:gender" in {name for name, _block in kept_blocks(app, survey_id)}
    with app.app_context():
        session = db.session()
        kept = select(ResultBlock.id).where(ResultBlock.survey_id == survey_id,
                                            ResultBlock.name == "crosstabs:group within:gender")
        changed = session.execute(update(ResultCount).where(
            ResultCount.block_id.in_(kept), ResultCount.question_id == "member", ResultCount.code == "no",
            ResultCount.within == "female").values(n=ResultCount.n + 100)).rowcount
        session.commit()
    assert changed == 1  # r2: not shown the group (col NULL), female, complete
    assert counts(table(kept_view(app, survey_id, breakdown="group", **women), "member")) == {"yes": 2, "no": 101}
    by_group_men = kept_view(app, survey_id, breakdown="group", choice_filters=(("gender", "male"),))
    assert counts(table(by_group_men, "member")) == {"yes": 2, "no": 0}  # r3 r4: the same kept counts


def test_a_survey_without_responses_has_empty_results(app, make_user):
    survey_id = build_survey(app, make_user(), COLORS, [])
    for filters in ({}, {"completed_only": False}, {"breakdown": "color"}, {"version_numbers": (1,)}):
        summary = kept_view(app, survey_id, **filters)
        assert summary.responses == 0 and counts(table(summary, "color")) == {"red": 0, "blue": 0}
        assert table(summary, "n").numeric is None


@pytest.mark.parametrize("filters", [{}, {"completed_only": False}, {"date_from": date(2024, 3, 2)},
                                     {"choice_filters": (("member", "yes"),)}])
def test_the_crosstabs_of_a_few_questions_are_those_of_all(app, survey_id, filters):
    with app.app_context():
        session = db.session()
        questionnaire = questionnaire_of(session.get(Survey, survey_id).latest_version)
        chosen = ResultFilters(**filters)
        everything = queries.crosstabs(session, survey_id, questionnaire, chosen, "gender", cached=False)
        few = queries.crosstabs(session, survey_id, questionnaire, chosen, "gender", ["topics", "m"])
    assert [table.question_id for table in few] == ["topics", "m", "m"]  # a matrix has a table per row
    assert few == [table for table in everything if table.question_id in ("topics", "m")]
    assert sum(sum(row) for row in few[0].counts) > 0
