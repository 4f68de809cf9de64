"""The scoring plugin: hand-computed scores, validation through the hook, stored metrics, recompute.

The fixture questionnaire is ``tests/scoring/scored.json``. Its three scores:

* ``transparency`` (section weights documents = 1, requests = 3):
  budget {yes 2, partly 1, no 0, na excluded} x weight 2 x documents 1 -> max 4;
  contacts {same} x 1 x 1 -> max 2; response_timely (shown only when
  request_sent = yes) {yes 2, partly 1, no 0} x 1 x requests 3 -> max 6,
  critical; accessible {yes 1, no 0} -> max 1, critical; appealed (on a page
  shown only when request_sent = yes) {yes 1, no 0} -> max 1.
  Bands: 0-39.99 Low, 40-69.99 Medium, 70-100 High.
* ``quiz``: quiz_body correct "petition" -> max 1; quiz_multi correct exactly
  {a, b} x weight 2 -> max 2.
* ``conditions``: matrix rows ramp and light (not booth) {good 2, bad 0, na
  excluded} -> max 2 per row; staff ranges 0-4: 0, 5-9: 1, 10+: 2 -> max 2.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from markupsafe import Markup
from sqlalchemy import select

from survey_app import db, plugins
from survey_app.models import Response, ResponseMetric, ResponseStatus, Survey
from survey_app.questionnaire import Problem, QuestionnaireInvalid, load_questionnaire
from survey_app.surveys import import_survey
from survey_plugins.scoring import config as scoring_config
from survey_plugins.scoring.compute import band_of, score_answers

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DOCUMENT = json.loads((HERE / "scoring" / "scored.json").read_text(encoding="utf-8"))


def document(**scoring) -> dict:
    """A deep copy of the fixture, its scoring section replaced when ``scoring`` is given."""
    copied = copy.deepcopy(DOCUMENT)
    if scoring:
        copied["plugins"]["scoring"] = scoring
    return copied


def scores(answers: dict, source: dict | None = None) -> dict:
    """score id -> (points, max, percent, band, critical_failures)."""
    questionnaire = load_questionnaire(source or DOCUMENT)
    rules = scoring_config.load_config(questionnaire)
    return {r.score.id: (r.points, r.max, r.percent, r.band, r.critical_failures)
            for r in score_answers(rules, questionnaire, answers)}


# --- Hand-computed scores -------------------------------------------------------


def test_weights_sections_partial_credit_and_critical_failure():
    result = scores({"budget": "partly", "contacts": "yes", "request_sent": "yes", "response_timely": "no",
                     "accessible": "yes", "appealed": "yes"})
    # budget partly: 1 x 2 x 1 = 2 of 4; contacts yes: 2 x 1 x 1 = 2 of 2;
    # response_timely no: 0 x 1 x 3 = 0 of 6 (critical -> 1 failure); accessible yes: 1 of 1;
    # appealed yes: 1 of 1. Points 2+2+0+1+1 = 6 of 4+2+6+1+1 = 14 -> 600/14 = 42.857 -> 42.86, Medium (1).
    assert result["transparency"] == (6, 14, 42.86, 1, 1)


def test_not_applicable_and_hidden_questions_are_excluded_and_unanswered_scores_zero():
    result = scores({"budget": "na", "contacts": "partly", "request_sent": "no",
                     "response_timely": "yes", "appealed": "yes"})
    # budget na: excluded; contacts partly: 1 of 2; request_sent = no hides response_timely and the
    # follow_up page, so their answers are dropped: both excluded (and the critical one is no failure);
    # accessible shown but unanswered: 0 of 1, critical -> 1 failure.
    # Points 1 of 2 + 1 = 3 -> 100/3 = 33.33, Low (0).
    assert result["transparency"] == (1, 3, 33.33, 0, 1)


def test_section_weight_changes_the_result():
    changed = document()
    changed["plugins"]["scoring"]["scores"][0]["section_weights"]["requests"] = 1
    answers = {"budget": "yes", "contacts": "yes", "request_sent": "yes", "response_timely": "partly",
               "accessible": "no", "appealed": "no"}
    # requests weight 3: response_timely partly 1 x 3 = 3 of 6; budget 4 of 4; contacts 2 of 2;
    # accessible no 0 of 1 (critical failure); appealed 0 of 1. 9 of 14 -> 64.29.
    assert scores(answers)["transparency"] == (9, 14, 64.29, 1, 1)
    # requests weight 1: response_timely 1 of 2. 7 of 10 -> 70.0, High.
    assert scores(answers, changed)["transparency"] == (7, 10, 70.0, 2, 1)


def test_correct_answers_single_and_exact_set():
    # quiz_body petition: 1 of 1; quiz_multi {b, a} = {a, b}: 1 x 2 = 2 of 2 -> 3 of 3.
    assert scores({"quiz_body": "petition", "quiz_multi": ["b", "a"]})["quiz"] == (3, 3, 100.0, None, 0)
    # quiz_body wrong: 0; quiz_multi {a, b, c} is not exactly {a, b}: 0 -> 0 of 3.
    assert scores({"quiz_body": "lottery", "quiz_multi": ["a", "b", "c"]})["quiz"] == (0, 3, 0.0, None, 0)
    # a subset is not enough either: quiz_body 1 + quiz_multi {a} 0 = 1 of 3 -> 33.33.
    assert scores({"quiz_body": "petition", "quiz_multi": ["a"]})["quiz"] == (1, 3, 33.33, None, 0)


def test_matrix_cells_and_ranges():
    # ramp good 2 of 2; light na: that cell is excluded; booth is not a scored row; staff 7 -> 1 of 2.
    # 3 of 4 -> 75.0
    assert scores({"conditions": {"ramp": "good", "light": "na", "booth": "bad"}, "staff": 7})["conditions"] \
        == (3, 4, 75.0, None, 0)
    # ramp bad 0 of 2; light good 2 of 2; staff 10 -> 2 of 2. 4 of 6 -> 66.67
    assert scores({"conditions": {"ramp": "bad", "light": "good"}, "staff": 10})["conditions"] == (4, 6, 66.67, None, 0)
    # matrix unanswered: 0 of 2 + 2; staff 4 -> 0 of 2. 0 of 6.
    assert scores({"staff": 4})["conditions"] == (0, 6, 0.0, None, 0)
    # every scored cell na: the matrix is excluded; staff 5 -> 1 of 2 -> 50.0
    assert scores({"conditions": {"ramp": "na", "light": "na"}, "staff": 5})["conditions"] == (1, 2, 50.0, None, 0)


def test_multiple_choice_points_add_up_within_max_selected_and_exclusive_choices():
    source = document()
    source["pages"][1]["questions"][1]["max_selected"] = 2
    source["plugins"]["scoring"] = {"scores": [{"id": "mc", "items": [
        {"question": "quiz_multi", "points": {"a": 3, "b": 2, "c": 1, "none": 4}}]}]}
    # best combination: two of a, b, c -> 3 + 2 = 5; "none" (exclusive) alone is 4 < 5, so max 5.
    assert scores({"quiz_multi": ["a", "c"]}, source)["mc"] == (4, 5, 80.0, None, 0)
    assert scores({"quiz_multi": ["none"]}, source)["mc"] == (4, 5, 80.0, None, 0)
    # an answer over the limit (not valid, but stored data is not trusted) never scores above the max
    assert scores({"quiz_multi": ["a", "b", "c"]}, source)["mc"] == (5, 5, 100.0, None, 0)


def test_nothing_applicable_gives_no_percent_and_no_band():
    source = document()
    source["plugins"]["scoring"]["scores"][0]["items"] = [
        {"question": "budget", "points": {"yes": 1}, "exclude": ["na"]},
        {"question": "appealed", "points": {"yes": 1}, "critical": True},
    ]
    del source["plugins"]["scoring"]["scores"][0]["section_weights"]
    # budget na: excluded; appealed: its page is hidden (request_sent unanswered) -> max 0.
    assert scores({"budget": "na"}, source)["transparency"] == (0, 0, None, None, 0)


BOUNDARIES = {"scores": [{"id": "share", "items": [{"question": "staff", "ranges": [
    {"min": 3999, "max": 3999, "points": 3999}, {"min": 4000, "max": 4000, "points": 4000},
    {"min": 6999, "max": 6999, "points": 6999}, {"min": 7000, "max": 7000, "points": 7000},
    {"min": 10000, "max": 10000, "points": 10000}]}],
    "bands": [{"min": 0, "max": 39.99, "label": "low"}, {"min": 40, "max": 69.99, "label": "medium"},
              {"min": 70, "max": 100, "label": "high"}]}]}


@pytest.mark.parametrize(("staff", "percent", "band"), [
    (3999, 39.99, 0),  # 3999 of 10000 = 39.99 % -> low
    (4000, 40.0, 1),  # 40 % -> medium
    (6999, 69.99, 1),
    (7000, 70.0, 2),
    (10000, 100.0, 2),
    (1, 0.0, 0),  # outside every range: 0 points -> 0 %
])
def test_bands_at_their_boundaries(staff, percent, band):
    assert scores({"staff": staff}, document(**BOUNDARIES))["share"] == (staff if percent else 0, 10000, percent, band, 0)


def test_a_percent_in_a_gap_between_bands_takes_the_nearest_band():
    gapped = {"scores": [{"id": "gapped", "items": [{"question": "budget", "points": {"yes": 1}}], "bands": [
        {"min": 0, "max": 39.994, "label": "low"}, {"min": 40.004, "max": 100, "label": "high"}]}]}
    questionnaire = load_questionnaire(document(**gapped))
    assert scoring_config.find_problems(questionnaire) == []  # a gap of 0.01 is allowed
    bands = scoring_config.load_config(questionnaire).scores[0].bands
    # 40.0 is 0.006 above "low" and 0.004 below "high"; 39.99 is inside "low"
    assert (band_of(bands, 39.99), band_of(bands, 40.0), band_of(bands, 39.998), band_of(bands, None)) == (0, 1, 0, None)


def test_answers_of_the_wrong_type_score_zero():
    # stored data is not trusted: a list for a single choice, text for a number, a string for a matrix
    result = scores({"budget": ["yes"], "contacts": 5, "accessible": True, "quiz_body": {"x": 1},
                     "quiz_multi": "a", "staff": "12", "conditions": {"ramp": ["good"], "light": 2}})
    assert result["transparency"] == (0, 7, 0.0, 0, 1)  # budget 0/4, contacts 0/2, accessible 0/1
    assert result["quiz"] == (0, 3, 0.0, None, 0)
    assert result["conditions"] == (0, 6, 0.0, None, 0)


def test_example_questionnaires_have_valid_scoring_sections():
    checked = 0
    for path in sorted((ROOT / "questionnaires").glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        if "scoring" not in raw.get("plugins", {}):
            continue
        try:
            questionnaire = load_questionnaire(raw)
        except QuestionnaireInvalid as error:  # the core's problems are tested elsewhere
            pytest.fail(f"{path.name} does not load: {error}")
        assert scoring_config.find_problems(questionnaire) == [], path.name
        checked += 1
    assert checked >= 1


# --- Validation -------------------------------------------------------------------

BROKEN = {"scores": [
    {"id": "transparency", "label": {"en": "Transparency"},
     "items": [
         {"question": "budgte", "points": {"yes": 1}},
         {"question": "budget", "points": {"yes": 2, "maybe": 1}, "exclude": ["na", "nope"]},
         {"question": "quiz_body", "correct": "petitoin"},
         {"question": "staff", "ranges": [{"min": 5, "max": 1, "points": 1}, {"min": 0, "max": 10, "points": 2},
                                          {"min": 8, "max": 20, "points": 3}]},
         {"question": "comment", "points": {"x": 1}},
         {"question": "budget", "points": {"yes": 1}, "weight": 0},
         {"question": "budget", "points": {"yes": 1}, "wieght": 2},
         {"question": "quiz_multi", "correct": "a"},
         {"question": "staff", "points": {"yes": 1}},
         {"question": "conditions", "points": {"good": 1}, "rows": ["ramp", "roof"], "section": "outside"},
         {"question": "budget"},
         {"question": "budget", "points": {"yes": 1}, "correct": "yes"},
     ],
     "section_weights": {"inside": -1},
     "bands": [{"min": 0, "max": 50, "label": {"en": "Low", "ru": "Низкий"}},
               {"min": 50, "max": 90, "label": {"en": "High", "ru": "Высокий", "de": "Hoch"}}]},
    {"id": "transparency", "items": [{"question": "budget", "points": {"yes": 1}}],
     "bands": [{"min": 0, "max": 39.99, "label": "a"}, {"min": 40.5, "max": 100, "label": "b"}]},
    {"items": "all", "show_respondent": "yes"},
    {"id": "Bad Id", "items": [{"question": 5, "points": [1]}], "bands": [{"min": "0", "max": 100}]},
]}

S = "/plugins/scoring/scores"
EXPECTED = {
    (f"{S}/0/label", "missing translation for 'ru'"),
    (f"{S}/0/items/0/question", "unknown question 'budgte' (did you mean 'budget'?)"),
    (f"{S}/0/items/1/points/maybe", "'maybe' is not a choice of the question 'budget'"),
    (f"{S}/0/items/1/exclude/1", "'nope' is not a choice of the question 'budget'"),
    (f"{S}/0/items/2/correct", "'petitoin' is not a choice of the question 'quiz_body' (did you mean 'petition'?)"),
    (f"{S}/0/items/3/ranges/0", "'min' (5) is greater than 'max' (1)"),
    (f"{S}/0/items/3/ranges/2", "overlaps the range at index 1 (0 to 10)"),
    (f"{S}/0/items/4/question", "'comment' is a long_text question, which cannot be scored"),
    (f"{S}/0/items/5/weight", "a weight must be a positive number, not 0"),
    (f"{S}/0/items/6/wieght", "unknown key 'wieght' (did you mean 'weight'?)"),
    (f"{S}/0/items/7/correct", "for a multiple_choice question give 'correct' as a list"),
    (f"{S}/0/items/8/points", "'points' cannot score the integer question 'staff'; use 'ranges'"),
    (f"{S}/0/items/9/rows/1", "'roof' is not a row of the matrix 'conditions'"),
    (f"{S}/0/items/9/section", "the section 'outside' has no weight in 'section_weights'"),
    (f"{S}/0/items/10", "an item needs one of 'points', 'correct' or 'ranges'"),
    (f"{S}/0/items/11", "an item takes only one of 'points', 'correct' or 'ranges', not 'points' and 'correct'"),
    (f"{S}/0/section_weights/inside", "a section weight must be a positive number, not -1"),
    (f"{S}/0/section_weights/inside", "no item is in the section 'inside'"),
    (f"{S}/0/bands/1", "overlaps the band at /plugins/scoring/scores/0/bands/0 (0 to 50)"),
    (f"{S}/0/bands/1/max", "the bands must reach 100, but the highest ends at 90"),
    (f"{S}/0/bands/1/label/de", "'de' is not one of the questionnaire's languages"),
    (f"{S}/1/id", "duplicate score id 'transparency' (already used by /plugins/scoring/scores/0)"),
    (f"{S}/1/bands/1/min", "leaves a gap after the band ending at 39.99"),
    (f"{S}/2", "'id' is required here"),
    (f"{S}/2/items", "must be a list, not a string"),
    (f"{S}/2/show_respondent", "must be true or false, not a string"),
    (f"{S}/3/id", "'Bad Id' is not a valid score id"),
    (f"{S}/3/items/0/question", "must be a string, not a number"),
    (f"{S}/3/items/0/points", "must be an object, not a list"),
    (f"{S}/3/bands/0", "'label' is required here"),
    (f"{S}/3/bands/0/min", "must be a number, not a string"),
}


def test_validation_reports_every_problem_with_its_path_through_the_hook(app):
    with pytest.raises(QuestionnaireInvalid) as raised:
        load_questionnaire(document(**BROKEN), check_plugins=plugins.questionnaire_checker(app))
    problems = raised.value.problems
    unmatched = [(path, text) for path, text in EXPECTED
                 if not any(p.path == path and text in p.message for p in problems)]
    assert unmatched == []
    assert len(problems) == len(EXPECTED), "\n".join(map(str, problems))


def test_a_valid_section_passes_through_the_hook(app):
    questionnaire = load_questionnaire(document(), check_plugins=plugins.questionnaire_checker(app))
    assert [score.id for score in scoring_config.load_config(questionnaire).scores] == ["transparency", "quiz", "conditions"]


@pytest.mark.parametrize(("section", "expected"), [
    ([], [Problem("/plugins/scoring", "must be an object, not a list")]),
    ({}, [Problem("/plugins/scoring", "'scores' is required here")]),
    ({"scores": [], "scorse": 1}, [Problem("/plugins/scoring/scores", "must not be empty"),
                                   Problem("/plugins/scoring/scorse", "unknown key 'scorse' (did you mean 'scores'?)")]),
    ({"scores": [7]}, [Problem("/plugins/scoring/scores/0", "must be an object, not a number")]),
    ({"scores": [{"id": "a", "label": {"en": 5}, "items": [{"question": "budget", "points": {"yes": True}}]}]},
     [Problem("/plugins/scoring/scores/0/items/0/points/yes", "must be a number, not true/false"),
      Problem("/plugins/scoring/scores/0/label/en", "must be a string, not a number")]),
    ({"scores": [{"id": "a", "label": 3, "items": [{"question": "quiz_multi", "correct": [1]}]}]},
     [Problem("/plugins/scoring/scores/0/items/0/correct/0", "must be a string, not a number"),
      Problem("/plugins/scoring/scores/0/label",
              "must be a text: a string, or an object of language code to string, not a number")]),
])
def test_sections_of_the_wrong_shape_give_problems_not_errors(section, expected):
    questionnaire = dataclasses.replace(load_questionnaire(DOCUMENT), plugins={"scoring": section})
    assert scoring_config.find_problems(questionnaire) == expected


_KEYS = ["scores", "id", "label", "items", "question", "points", "correct", "ranges", "min", "max", "weight",
         "section", "section_weights", "bands", "exclude", "rows", "critical", "yes", "na", "budget", "staff",
         "conditions", "quiz_multi", "a", "documents", "requests", "en"]
_LEAF = (st.none() | st.booleans() | st.integers(-5, 200) | st.floats(allow_nan=False) | st.sampled_from(_KEYS)
         | st.text(max_size=4))
_JSON = st.recursive(_LEAF, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=3),
                     max_leaves=10)


def _paths(value, where=()):
    yield where
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        yield from _paths(child, (*where, key))


_SECTION_PATHS = list(_paths(DOCUMENT["plugins"]["scoring"]))[1:]


@st.composite
def _mutated_sections(draw):
    """The fixture's valid section with one to three parts replaced by random JSON or removed."""
    section = copy.deepcopy(DOCUMENT["plugins"]["scoring"])
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(_SECTION_PATHS))
        node = section
        try:
            for key in where[:-1]:
                node = node[key]
            if isinstance(node, dict) and draw(st.booleans()):
                node.pop(where[-1], None)
            else:
                node[where[-1]] = draw(_JSON)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier change removed or replaced this part
    return section


_ANSWERS = st.dictionaries(st.sampled_from(["budget", "contacts", "request_sent", "response_timely", "accessible",
                                            "quiz_body", "quiz_multi", "staff", "appealed"]), _JSON, max_size=6)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(section=_mutated_sections() | _JSON, answers=_ANSWERS)
def test_any_section_gives_problems_or_scores_in_bounds(section, answers):
    questionnaire = dataclasses.replace(load_questionnaire(DOCUMENT), plugins={"scoring": section})
    problems = scoring_config.find_problems(questionnaire)
    assert all(problem.path.startswith("/plugins/scoring") and problem.message for problem in problems)
    if not problems:
        for result in score_answers(scoring_config.load_config(questionnaire), questionnaire, answers):
            assert 0 <= result.points <= result.max
            assert result.percent is None or 0 <= result.percent <= 100
            assert (result.band is None) == (result.percent is None or not result.score.bands)


# --- Storage, columns, thank-you page ----------------------------------------------


def _import(app, owner, source: dict):
    with app.app_context():
        session = db.session()
        questionnaire = load_questionnaire(source, check_plugins=plugins.questionnaire_checker(app))
        survey, version = import_survey(session, questionnaire, owner)
        session.commit()
        return survey.id, version.id


def _respond(app, survey_id: int, version_id: int, answers: dict, status=ResponseStatus.COMPLETE) -> int:
    with app.app_context():
        session = db.session()
        response = Response(survey_id=survey_id, version_id=version_id, submission_id=uuid.uuid4().hex,
                            status=status, language="en", data={"answers": answers})
        session.add(response)
        session.commit()
        return response.id


def _metrics(app, response_id: int, plugin: str = "scoring") -> dict:
    with app.app_context():
        rows = db.session().execute(select(ResponseMetric).where(
            ResponseMetric.response_id == response_id, ResponseMetric.plugin == plugin)).scalars()
        return {row.name: (row.number, row.code) for row in rows}


ANSWERS = {"budget": "partly", "contacts": "yes", "request_sent": "yes", "response_timely": "no", "accessible": "yes",
           "appealed": "yes", "quiz_body": "petition", "quiz_multi": ["a"], "conditions": {"ramp": "good"}, "staff": 12}
# transparency 6 of 14 = 42.86 %, band 1, 1 critical failure (see the first test);
# quiz 1 + 0 = 1 of 3 = 33.33 %; conditions ramp 2 + light unanswered 0 + staff 12 -> 2 = 4 of 6 = 66.67 %.
STORED = {
    "transparency.points": (6, None), "transparency.max": (14, None), "transparency.percent": (42.86, None),
    "transparency.band": (None, "1"), "transparency.critical_failures": (1, None),
    "quiz.points": (1, None), "quiz.max": (3, None), "quiz.percent": (33.33, None), "quiz.critical_failures": (0, None),
    "conditions.points": (4, None), "conditions.max": (6, None), "conditions.percent": (66.67, None),
    "conditions.critical_failures": (0, None),
}


def test_response_completed_stores_and_replaces_the_metrics(app, make_user):
    survey_id, version_id = _import(app, make_user(), document())
    response_id = _respond(app, survey_id, version_id, ANSWERS)
    with app.app_context():
        session = db.session()
        session.add_all([  # a stale score from older rules, and another plugin's value that must survive
            ResponseMetric(response_id=response_id, survey_id=survey_id, plugin="scoring", name="old.points", number=1),
            ResponseMetric(response_id=response_id, survey_id=survey_id, plugin="other", name="x", number=2),
        ])
        session.commit()
        response = session.get(Response, response_id)
        questionnaire = load_questionnaire(document())
        plugins.hook(app).response_completed(response=response, questionnaire=questionnaire, session=session)
        session.commit()
    assert _metrics(app, response_id) == STORED
    assert _metrics(app, response_id, "other") == {"x": (2, None)}

    with app.app_context():  # completed again with other answers: recomputed in place
        session = db.session()
        response = session.get(Response, response_id)
        response.data = {"answers": {**ANSWERS, "budget": "na", "contacts": "na", "request_sent": "no"}}
        session.commit()
        plugins.hook(app).response_completed(response=response, questionnaire=questionnaire, session=session)
        session.commit()
    # budget, contacts, response_timely and appealed excluded: accessible 1 of 1 = 100 %, High.
    assert {name: value for name, value in _metrics(app, response_id).items() if name.startswith("transparency")} == {
        "transparency.points": (1, None), "transparency.max": (1, None), "transparency.percent": (100, None),
        "transparency.band": (None, "2"), "transparency.critical_failures": (0, None)}


def test_response_columns(app):
    questionnaire = load_questionnaire(document())
    columns = [c for found in plugins.hook(app).response_columns(questionnaire=questionnaire) for c in found or ()
               if c.plugin == "scoring"]
    assert [(c.key, c.kind) for c in columns] == [
        ("scoring.transparency.points", "number"), ("scoring.transparency.percent", "number"),
        ("scoring.transparency.band", "code"),
        ("scoring.quiz.points", "number"), ("scoring.quiz.percent", "number"),
        ("scoring.conditions.points", "number"), ("scoring.conditions.percent", "number"),
    ]
    assert columns[0].label == {"en": "Transparency (points)", "ru": "Прозрачность (points)"}
    assert columns[2].code_labels == {"0": {"en": "Low", "ru": "Низкий"}, "1": {"en": "Medium", "ru": "Средний"},
                                      "2": {"en": "High", "ru": "Высокий"}}
    assert columns[6].label == "Conditions (%)"


def _snippets(app, source: dict, answers: dict, slot: str = "thank_you", language: str = "ru") -> list:
    questionnaire = load_questionnaire(source)
    with app.test_request_context("/?lang=en"):
        found = plugins.hook(app).page_snippets(slot=slot, questionnaire=questionnaire,
                                                response=Response(data={"answers": answers}), language=language)
    return [snippet for snippets in found for snippet in snippets or ()]


def test_thank_you_page_shows_the_score_in_the_respondents_language(app):
    answers = {"budget": "yes", "contacts": "yes", "request_sent": "no", "accessible": "no"}
    # budget 4 of 4, contacts 2 of 2, accessible 0 of 1 -> 6 of 7 = 85.71 %, High
    assert _snippets(app, document(), answers) == [
        Markup('<p class="scoring-result" data-score="transparency">Your score: 6 of 7 (85.71%) – Высокий</p>')]
    assert _snippets(app, document(), answers, slot="welcome") == []
    hidden = document()
    hidden["plugins"]["scoring"]["scores"][0]["show_respondent"] = False
    assert _snippets(app, hidden, answers) == []


def test_thank_you_snippet_escapes_labels(app):
    source = document()
    source["plugins"]["scoring"]["scores"][0]["bands"][2]["label"] = {"en": "<b>High</b>", "ru": "<script>x</script>"}
    html = str(_snippets(app, source, {"budget": "yes", "contacts": "yes", "accessible": "yes"}, language="en")[0])
    # 4 + 2 + 1 = 7 of 7
    assert html == '<p class="scoring-result" data-score="transparency">Your score: 7 of 7 (100%) – &lt;b&gt;High&lt;/b&gt;</p>'


# --- recompute-scores ---------------------------------------------------------------


def test_recompute_scores_with_own_versions_and_with_a_later_versions_rules(app, runner, make_user):
    owner = make_user()
    survey_id, first = _import(app, owner, document())
    answers_one = {"budget": "yes", "contacts": "partly", "accessible": "yes"}
    answers_two = {"budget": "no", "contacts": "yes", "accessible": "no"}
    one = _respond(app, survey_id, first, answers_one)
    two = _respond(app, survey_id, first, answers_two)
    partial = _respond(app, survey_id, first, answers_one, status=ResponseStatus.PARTIAL)

    result = runner("recompute-scores", "scored-survey", "--batch-size", "1")
    assert result.exit_code == 0, result.output
    assert "Recomputed the scores of 2 complete responses" in result.output
    # version 1 rules. one: budget 4 + contacts 1 + accessible 1 = 6 of 7 = 85.71 %
    # two: budget 0 + contacts 2 + accessible 0 = 2 of 7 = 28.57 %, 1 critical failure
    assert _metrics(app, one)["transparency.percent"] == (85.71, None)
    assert _metrics(app, two)["transparency.points"] == (2, None)
    assert _metrics(app, two)["transparency.critical_failures"] == (1, None)
    assert _metrics(app, partial) == {}

    changed = document()
    changed["version"] = "2"
    changed["plugins"]["scoring"]["scores"][0]["items"][1]["points"] = {"yes": 10, "partly": 5, "no": 0}
    changed["plugins"]["scoring"]["scores"][0]["items"][3]["points"] = {"yes": 0, "no": 1}
    del changed["plugins"]["scoring"]["scores"][2]  # the conditions score is dropped
    survey_id_again, second = _import(app, owner, changed)
    assert survey_id_again == survey_id
    three = _respond(app, survey_id, second, answers_two)

    result = runner("recompute-scores", "scored-survey")  # each response with its own version
    assert result.exit_code == 0, result.output
    assert _metrics(app, one)["transparency.points"] == (6, None)
    # three, version 2 rules: budget 0 of 4 + contacts yes 10 of 10 + accessible no 1 of 1 = 11 of 15 = 73.33 %
    assert _metrics(app, three)["transparency.points"] == (11, None)
    assert _metrics(app, three)["transparency.percent"] == (73.33, None)
    assert "conditions.points" not in _metrics(app, three)

    result = runner("recompute-scores", "scored-survey", "--version", "2")
    assert result.exit_code == 0, result.output
    assert "with the rules of version 2" in result.output
    # one, version 2 rules: budget 4 of 4 + contacts partly 5 of 10 + accessible yes 0 of 1 (critical) = 9 of 15 = 60 %
    assert {name: value for name, value in _metrics(app, one).items()} == {
        "transparency.points": (9, None), "transparency.max": (15, None), "transparency.percent": (60, None),
        "transparency.band": (None, "1"), "transparency.critical_failures": (1, None),
        "quiz.points": (0, None), "quiz.max": (3, None), "quiz.percent": (0, None), "quiz.critical_failures": (0, None),
    }  # the conditions score of version 1 is gone
    assert _metrics(app, two)["transparency.points"] == (11, None)
    assert _metrics(app, partial) == {}


def test_recompute_scores_refuses_unknown_surveys_and_versions(app, runner, make_user):
    _import(app, make_user(), document())
    result = runner("recompute-scores", "no-such-survey")
    assert result.exit_code == 2
    assert "there is no survey with the address 'no-such-survey'" in result.output
    result = runner("recompute-scores", "scored-survey", "--version", "3")
    assert result.exit_code == 2
    assert "has no version 3 (its versions: 1)" in result.output
    with app.app_context():
        assert db.session().execute(select(Survey.slug)).scalar_one() == "scored-survey"
