"""Score distributions in the results: the scoring plugin's ``result_sections``, checked against hand counts.

Every test runs on SQLite and on PostgreSQL (see conftest). Responses are
stored through the core's save and submit, with the plugins' real
``response_completed`` (so the scores are the plugin's own), then dated.

The score ``index``: q1 and q2 each {yes 2, partly 1, no 0, na excluded},
bands 0-49.99 "Low <b>" and 50-100 "High". The score ``first``: q1 alone, no
bands. All complete unless marked; dates are UTC:

    resp  date        gender  q1      q2      index              first
    r1    2024-03-01  female  yes     yes     4 of 4 = 100 High  2 of 2 = 100
    r2    2024-03-02  female  partly  no      1 of 4 =  25 Low   1 of 2 =  50
    r3    2024-03-03  male    yes     na      2 of 2 = 100 High  2 of 2 = 100
    r4    2024-03-04  male    no      no      0 of 4 =   0 Low   0 of 2 =   0
    r5    2024-03-05  (none)  partly  yes     3 of 4 =  75 High  1 of 2 =  50
    r6    2024-03-06  female  na      na      nothing applicable: no score (both)
    r7    2024-03-02  (none)  yes     -       PARTIAL: never scored
"""
from __future__ import annotations

import copy
import io
import json
from datetime import date, datetime, timezone

import openpyxl
import pytest
from sqlalchemy import func, select

from survey_app import create_app, db, plugins
from survey_app.models import PluginFailure, Response, Survey, SurveyStatus, User
from survey_app.responses.storage import save_page, submit
from survey_app.results.queries import SurveyResults
from survey_app.results.tables import NOT_SHOWN, NOT_STATED, Crosstab, NumericSummary, ResultFilters
from survey_app.surveys import import_survey, load_checked, questionnaire_of
from tests.helpers import login

YPNN = [{"value": "yes", "label": "Yes"}, {"value": "partly", "label": "Partly"}, {"value": "no", "label": "No"},
        {"value": "na", "label": "Not applicable"}]
POINTS = {"yes": 2, "partly": 1, "no": 0}

DOCUMENT = {
    "id": "scored-results", "version": "1", "languages": ["en", "ru"],
    "title": {"en": "Scored results", "ru": "Результаты с баллами"},
    "pages": [{"id": "p1", "questions": [
        {"id": "gender", "type": "single_choice", "label": {"en": "Gender", "ru": "Пол"},
         "choices": [{"value": "female", "label": {"en": "Female", "ru": "Женский"}},
                     {"value": "male", "label": {"en": "Male", "ru": "Мужской"}}]},
        {"id": "q1", "type": "single_choice", "label": "Q1", "choices": YPNN},
        {"id": "q2", "type": "single_choice", "label": "Q2", "choices": YPNN},
    ]}],
    "plugins": {
        "breakdowns": {"gender": "gender"},
        "scoring": {"scores": [
            {"id": "index", "label": {"en": "Openness <index>", "ru": "Открытость"},
             "items": [{"question": "q1", "points": POINTS, "exclude": ["na"]},
                       {"question": "q2", "points": POINTS, "exclude": ["na"]}],
             "bands": [{"min": 0, "max": 49.99, "label": {"en": "Low <b>", "ru": "Низкий"}},
                       {"min": 50, "max": 100, "label": {"en": "High", "ru": "Высокий"}}]},
            {"id": "first", "label": "First", "items": [{"question": "q1", "points": POINTS, "exclude": ["na"]}]},
        ]},
    },
}

RESPONDENTS = [
    ("r1", {"gender": "female", "q1": "yes", "q2": "yes"}, True, date(2024, 3, 1)),
    ("r2", {"gender": "female", "q1": "partly", "q2": "no"}, True, date(2024, 3, 2)),
    ("r3", {"gender": "male", "q1": "yes", "q2": "na"}, True, date(2024, 3, 3)),
    ("r4", {"gender": "male", "q1": "no", "q2": "no"}, True, date(2024, 3, 4)),
    ("r5", {"q1": "partly", "q2": "yes"}, True, date(2024, 3, 5)),
    ("r6", {"gender": "female", "q1": "na", "q2": "na"}, True, date(2024, 3, 6)),
    ("r7", {"q1": "yes"}, False, date(2024, 3, 2)),
]


def respond(session, survey: Survey, name: str, answers: dict, complete: bool, day: date) -> None:
    """Store a response as the respondent pages do (scored by the plugins on submit), then date it."""
    version = survey.latest_version
    questionnaire = questionnaire_of(version)
    save_page(session, survey, version, questionnaire, submission_id=name, language="en",
              page_answers=answers, next_page=None if complete else "p1")
    if complete:
        submit(session, survey, questionnaire, name, before_commit=lambda response: plugins.call_in_savepoints(
            "response_completed", session, response, questionnaire=questionnaire))
    response = session.execute(select(Response).where(Response.submission_id == name)).scalar_one()
    response.started_at = datetime.combine(day, datetime.min.time(), tzinfo=timezone.utc).replace(hour=12)
    response.submitted_at = response.started_at if complete else None
    session.commit()


def publish(session, owner_id: int, document: dict) -> Survey:
    """Publish ``document`` (checked by every plugin) as the next version of its survey."""
    survey, _version = import_survey(session, load_checked(json.dumps(document)), session.get(User, owner_id),
                                     status=SurveyStatus.OPEN)
    session.commit()
    return survey


@pytest.fixture
def survey_id(app, make_user) -> int:
    owner = make_user("researcher", email="owner@example.org")
    with app.app_context():
        session = db.session()
        survey = publish(session, owner.id, DOCUMENT)
        for name, answers, complete, day in RESPONDENTS:
            respond(session, survey, name, answers, complete, day)
        assert session.execute(select(func.count()).select_from(PluginFailure)).scalar_one() == 0
        return survey.id


def sections(app, survey_id: int, **filters) -> dict:
    """The scoring sections under ``filters``, as {score title: {(table id, item): table}}."""
    with app.app_context():
        session = db.session()
        questionnaire = questionnaire_of(session.get(Survey, survey_id).latest_version)
        chosen = ResultFilters(**filters)
        returned = plugins.hook(app).result_sections(
            survey_id=survey_id, questionnaire=questionnaire, filters=chosen, session=session,
            results=SurveyResults(session, survey_id, questionnaire, chosen))
    found = [section for sections in returned for section in sections or () if section.plugin == "scoring"]
    return {_english(section.title): {(table.question_id, table.item): table for table in section.tables}
            for section in found}


def _english(text) -> str:
    return text if isinstance(text, str) else text["en"]


def rows(table) -> dict[str, tuple[int, float | None]]:
    """code -> (count, percent) of a frequency table."""
    return {row.code: (row.count, row.percent) for row in table.rows}


def numbers(table) -> tuple:
    """(answered, shown, numeric summary) of a summary table."""
    return table.base, table.shown, table.numeric


# --- Counts and summaries ----------------------------------------------------------------


def test_bands_and_summaries_of_complete_responses(app, survey_id):
    found = sections(app, survey_id)
    assert list(found) == ["Openness <index>", "First"]
    index = found["Openness <index>"]
    assert list(index) == [("index.band", ""), ("index.percent", ""), ("index.points", "")]
    band = index[("index.band", "")]
    # Low r2 r4, High r1 r3 r5, no score r6: 6 responses (r7 is partial), percents of 6, in band order.
    assert [row.code for row in band.rows] == ["0", "1", "#no_score"]
    assert rows(band) == {"0": (2, pytest.approx(100 * 2 / 6)), "1": (3, 50.0), "#no_score": (1, pytest.approx(100 / 6))}
    assert (band.base, band.shown, band.label) == (6, 6, {"en": "Openness <index> (band)", "ru": "Открытость (band)"})
    assert [row.label for row in band.rows][:2] == [{"en": "Low <b>", "ru": "Низкий"}, {"en": "High", "ru": "Высокий"}]
    # percents 100 25 100 0 75 -> sorted 0 25 75 100 100: n 5 (odd), median 75, mean 300 / 5 = 60.
    assert numbers(index[("index.percent", "")]) == (5, 6, NumericSummary(5, 60.0, 75.0, 0.0, 100.0))
    # points 4 1 2 0 3 -> sorted 0 1 2 3 4: median 2, mean 10 / 5 = 2.
    assert numbers(index[("index.points", "")]) == (5, 6, NumericSummary(5, 2.0, 2.0, 0.0, 4.0))


def test_a_score_without_bands_has_only_its_summaries(app, survey_id):
    first = sections(app, survey_id)["First"]
    assert list(first) == [("first.percent", ""), ("first.points", "")]
    # percents 100 50 100 0 50 (r6: q1 na, no score) -> 0 50 50 100 100: median 50, mean 300 / 5 = 60.
    assert numbers(first[("first.percent", "")]) == (5, 6, NumericSummary(5, 60.0, 50.0, 0.0, 100.0))
    # points 2 1 2 0 1 -> median 1, mean 6 / 5 = 1.2
    assert numbers(first[("first.points", "")]) == (5, 6, NumericSummary(5, 1.2, 1.0, 0.0, 2.0))


def test_partial_responses_are_left_out_unless_asked_for_and_then_have_their_own_row(app, survey_id):
    band = sections(app, survey_id)["Openness <index>"][("index.band", "")]
    assert "#partial" not in rows(band)
    found = sections(app, survey_id, completed_only=False)["Openness <index>"]
    band = found[("index.band", "")]
    # r7 is partial: never scored, in a row of its own; every percent is now of 7.
    assert rows(band) == {"0": (2, pytest.approx(100 * 2 / 7)), "1": (3, pytest.approx(100 * 3 / 7)),
                          "#no_score": (1, pytest.approx(100 / 7)), "#partial": (1, pytest.approx(100 / 7))}
    assert (band.base, band.shown) == (7, 7)
    assert numbers(found[("index.percent", "")]) == (5, 7, NumericSummary(5, 60.0, 75.0, 0.0, 100.0))


def test_date_filter_and_the_median_of_an_even_count(app, survey_id):
    found = sections(app, survey_id, date_to=date(2024, 3, 4))["Openness <index>"]
    # r1..r4: Low r2 r4, High r1 r3, nothing without a score.
    assert rows(found[("index.band", "")]) == {"0": (2, 50.0), "1": (2, 50.0), "#no_score": (0, 0.0)}
    # percents 100 25 100 0 -> 0 25 100 100: median (25 + 100) / 2 = 62.5, mean 225 / 4 = 56.25.
    assert numbers(found[("index.percent", "")]) == (4, 4, NumericSummary(4, 56.25, 62.5, 0.0, 100.0))
    # points 4 1 2 0 -> 0 1 2 4: median 1.5, mean 7 / 4 = 1.75.
    assert numbers(found[("index.points", "")]) == (4, 4, NumericSummary(4, 1.75, 1.5, 0.0, 4.0))
    later = sections(app, survey_id, date_from=date(2024, 3, 5))["Openness <index>"]
    assert rows(later[("index.band", "")]) == {"0": (0, 0.0), "1": (1, 50.0), "#no_score": (1, 50.0)}  # r5, r6


def test_choice_filter(app, survey_id):
    found = sections(app, survey_id, choice_filters=(("gender", "male"),))["Openness <index>"]
    assert rows(found[("index.band", "")]) == {"0": (1, 50.0), "1": (1, 50.0), "#no_score": (0, 0.0)}  # r4, r3
    assert numbers(found[("index.points", "")]) == (2, 2, NumericSummary(2, 1.0, 1.0, 0.0, 2.0))


def test_version_filter(app, survey_id):
    second = copy.deepcopy(DOCUMENT)
    second["version"] = "2"
    second["plugins"]["scoring"]["scores"][0]["items"][1]["points"] = {"yes": 6, "partly": 3, "no": 0}
    with app.app_context():
        session = db.session()
        survey = publish(session, session.get(Survey, survey_id).owner_id, second)
        # version 2: q1 partly 1 of 2 + q2 partly 3 of 6 = 4 of 8 = 50 % -> High.
        respond(session, survey, "r8", {"gender": "male", "q1": "partly", "q2": "partly"}, True, date(2024, 3, 7))
    only_second = sections(app, survey_id, version_numbers=(2,))["Openness <index>"]
    assert rows(only_second[("index.band", "")]) == {"0": (0, 0.0), "1": (1, 100.0), "#no_score": (0, 0.0)}
    assert numbers(only_second[("index.points", "")]) == (1, 1, NumericSummary(1, 4.0, 4.0, 4.0, 4.0))
    only_first = sections(app, survey_id, version_numbers=(1,))["Openness <index>"]
    assert numbers(only_first[("index.percent", "")]) == (5, 6, NumericSummary(5, 60.0, 75.0, 0.0, 100.0))
    both = sections(app, survey_id)["Openness <index>"]
    # 100 25 100 0 75 50 -> 0 25 50 75 100 100: median (50 + 75) / 2 = 62.5, mean 350 / 6.
    assert numbers(both[("index.percent", "")]) == (6, 7, NumericSummary(6, pytest.approx(350 / 6), 62.5, 0.0, 100.0))


def test_no_response_passes_the_filters(app, survey_id):
    found = sections(app, survey_id, date_from=date(2030, 1, 1))["Openness <index>"]
    assert rows(found[("index.band", "")]) == {"0": (0, None), "1": (0, None), "#no_score": (0, None)}
    assert numbers(found[("index.percent", "")]) == (0, 0, None)


# --- Broken down by a variable -------------------------------------------------------------


def test_crosstab_by_gender_with_not_stated_and_summaries_per_group(app, survey_id):
    found = sections(app, survey_id, breakdown="gender")["Openness <index>"]
    band = found[("index.band", "")]
    assert isinstance(band, Crosstab) and band.variable == "gender"
    assert [column.code for column in band.columns] == ["female", "male", NOT_STATED, NOT_SHOWN]
    assert [row.code for row in band.rows] == ["0", "1", "#no_score"]
    # Low: r2 female, r4 male; High: r1 female, r3 male, r5 (no gender, which every
    # complete response was shown: not stated); no score: r6 female.
    assert band.counts == ((1, 1, 0, 0), (1, 1, 1, 0), (1, 0, 0, 0))
    assert band.column_bases == (3, 2, 1, 0) and band.row_totals == (2, 3, 1) and band.base == 6
    assert band.percents[0] == (pytest.approx(100 / 3), 50.0, 0.0, None)
    # chi-square of the bands by female/male only, [[1, 1], [1, 1]]: no association at all
    # (with the "no score" row [1, 0] it would not be 0).
    assert (band.chi_square.statistic, band.chi_square.df) == (pytest.approx(0.0), 1)
    percent = {item: numbers(table) for (name, item), table in found.items() if name == "index.percent"}
    assert percent == {
        "": (5, 6, NumericSummary(5, 60.0, 75.0, 0.0, 100.0)),
        "female": (2, 3, NumericSummary(2, 62.5, 62.5, 25.0, 100.0)),  # r1 100, r2 25; r6 no score
        "male": (2, 2, NumericSummary(2, 50.0, 50.0, 0.0, 100.0)),  # r3 100, r4 0
        NOT_STATED: (1, 1, NumericSummary(1, 75.0, 75.0, 75.0, 75.0)),  # r5
    }
    assert found[("index.points", "female")].numeric == NumericSummary(2, 2.5, 2.5, 1.0, 4.0)  # 4, 1
    assert found[("index.percent", "female")].item_label == {"en": "Female", "ru": "Женский"}
    assert found[("index.percent", NOT_STATED)].item_label == "Not stated"


def test_crosstab_with_partial_responses_has_not_shown(app, survey_id):
    found = sections(app, survey_id, breakdown="gender", completed_only=False)["Openness <index>"]
    band = found[("index.band", "")]
    # r7 (partial, no gender: the variable counts as not shown) in the partial row.
    assert [row.code for row in band.rows] == ["0", "1", "#no_score", "#partial"]
    assert band.counts[3] == (0, 0, 0, 1) and band.column_bases == (3, 2, 1, 1)
    assert numbers(found[("index.points", NOT_SHOWN)]) == (0, 1, None)


def test_a_breakdown_no_plugin_offers_gives_no_crosstab(app, survey_id, database_url, tmp_path):
    assert not isinstance(sections(app, survey_id, breakdown="q1")["Openness <index>"][("index.band", "")], Crosstab)
    without = create_app({"TESTING": True, "DATABASE_URL": database_url, "SECRET_KEY": "x",
                          "DISABLED_PLUGINS": "breakdowns"})
    try:
        found = sections(without, survey_id, breakdown="gender")["Openness <index>"]
    finally:
        db.database(without).engine.dispose()
    assert not isinstance(found[("index.band", "")], Crosstab)
    assert list(found) == [("index.band", ""), ("index.percent", ""), ("index.points", "")]


# --- Where people see them ------------------------------------------------------------------


def test_results_page_shows_the_scores_escaped(app, client, survey_id):
    login(client, "owner@example.org")
    html = client.get("/surveys/scored-results/results?lang=en").get_data(as_text=True)
    assert '<section class="result-section" data-plugin="scoring">\n  <h2>Openness &lt;index&gt;</h2>' in html
    assert "Openness &lt;index&gt; (band)" in html and "<b>" not in html and "<index>" not in html
    assert '<tr><th scope="row">Low &lt;b&gt;</th><td>2</td><td>33.3</td></tr>' in html
    assert '<tr><th scope="row">High</th><td>3</td><td>50</td></tr>' in html
    assert '<tr><th scope="row">No score</th><td>1</td><td>16.7</td></tr>' in html
    assert "<tbody><tr><td>5</td><td>60</td><td>75</td><td>0</td><td>100</td></tr></tbody>" in html  # percent
    assert "<tbody><tr><td>5</td><td>2</td><td>2</td><td>0</td><td>4</td></tr></tbody>" in html  # points
    broken_down = client.get("/surveys/scored-results/results?lang=en&breakdown=gender").get_data(as_text=True)
    assert 'id="x-index.band"' in broken_down and "Not stated" in broken_down
    assert "<tbody><tr><td>2</td><td>62.50</td><td>62.50</td><td>25</td><td>100</td></tr></tbody>" in broken_down


def _summary_sheet(app, survey_id: int, filters: ResultFilters) -> list[list]:
    """The Summary sheet of an English xlsx export, read back with openpyxl."""
    with app.app_context():
        session = db.session()
        target = io.BytesIO()
        plugins.export_formats(app)["xlsx"].write(
            target=target, survey_id=survey_id, questionnaire=questionnaire_of(session.get(Survey, survey_id).latest_version),
            filters=filters, session=session, progress=None, options={"language": "en"})
    sheet = openpyxl.load_workbook(io.BytesIO(target.getvalue()))["Summary"]
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def _block(rows: list[list], title: str, width: int) -> list[list]:
    """The rows from the one titled ``title`` to the next empty one, ``width`` cells each."""
    start = next(index for index, row in enumerate(rows) if row[0] == title)
    end = next((index for index in range(start, len(rows)) if all(value is None for value in rows[index][:width])),
               len(rows))
    return [row[:width] for row in rows[start:end]]


def test_xlsx_summary_sheet_has_the_same_numbers(app, survey_id):
    rows = _summary_sheet(app, survey_id, ResultFilters())
    assert ["Openness <index>"] in [row[:1] for row in rows]  # the section's title
    assert _block(rows, "Openness <index> (band) (index.band)", 4) == [
        ["Openness <index> (band) (index.band)", None, None, None],
        ["Code", "Answer", "Count", "Percent"],
        ["0", "Low <b>", 2, pytest.approx(2 / 6)],
        ["1", "High", 3, 0.5],
        ["#no_score", "No score", 1, pytest.approx(1 / 6)],
        ["Answered", None, 6, None],
        ["Shown", None, 6, None],
    ]
    assert _block(rows, "Openness <index> (%) (index.percent)", 5)[-2:] == [
        ["N", "Mean", "Median", "Minimum", "Maximum"], [5, 60, 75, 0, 100]]
    assert _block(rows, "First (points) (first.points)", 5)[-2:] == [
        ["N", "Mean", "Median", "Minimum", "Maximum"], [5, 1.2, 1, 0, 2]]

    rows = _summary_sheet(app, survey_id, ResultFilters(breakdown="gender"))
    assert _block(rows, "Openness <index> (band) (index.band) × Gender", 7)[:5] == [
        ["Openness <index> (band) (index.band) × Gender", None, None, None, None, None, None],
        ["Code", "Answer", "Female", "Male", "Not stated", "Not shown", "Total"],
        ["0", "Low <b>", 1, 1, 0, 0, 2],
        ["1", "High", 1, 1, 1, 0, 3],
        ["#no_score", "No score", 1, 0, 0, 0, 1],
    ]
    assert _block(rows, "Openness <index> (%): Female (index.percent.female)", 5)[-1] == [2, 62.5, 62.5, 25, 100]
