"""The breakdowns plugin: its questionnaire section's checks, and its crosstab section of the results."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from survey_app import create_app, db, plugins
from survey_app.models import Survey
from survey_app.questionnaire import Problem, find_problems, load_questionnaire
from survey_app.results import queries
from survey_app.results.tables import ResultFilters
from survey_app.surveys import load_checked, questionnaire_of
from survey_plugins.breakdowns import config
from tests.test_results import DOCUMENT, build_survey

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def checker():
    """An app for checking questionnaires only: its database is never used."""
    return create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "checks"})


def with_section(section) -> dict:
    """The test questionnaire (plus a repeat group) with ``section`` as its breakdowns section."""
    document = copy.deepcopy(DOCUMENT)
    document["pages"].append({"id": "p2", "questions": [
        {"id": "visits", "type": "repeat", "label": "Visits", "questions": [
            {"id": "kind", "type": "single_choice", "label": "Kind",
             "choices": [{"value": "a", "label": "A"}, {"value": "b", "label": "B"}]},
        ]},
    ]})
    document["plugins"] = {"breakdowns": section}
    return document


def problems(checker, section) -> list[Problem]:
    return find_problems(with_section(section), check_plugins=plugins.questionnaire_checker(checker))


@pytest.mark.parametrize("section, expected", [
    ({"gender": "gender", "variables": ["member", "group"]}, []),
    ({"variables": ["member"]}, []),
    (["gender"], [Problem("/plugins/breakdowns", "must be an object, not a list")]),
    ({}, [Problem("/plugins/breakdowns", "name at least one question to break results down by, "
                                         "in 'gender' or 'variables'")]),
    ({"gender": "gender", "varaibles": ["member"]},
     [Problem("/plugins/breakdowns/varaibles", "unknown key 'varaibles' (did you mean 'variables'?)")]),
    ({"gender": 5, "variables": "member"},
     [Problem("/plugins/breakdowns/gender", "must be a question id, not a number"),
      Problem("/plugins/breakdowns/variables", "must be a list of question ids, not a string")]),
    ({"variables": ["member", None, {"id": "group"}]},
     [Problem("/plugins/breakdowns/variables/1", "must be a question id, not null"),
      Problem("/plugins/breakdowns/variables/2", "must be a question id, not an object")]),
    ({"gender": "gendr", "variables": ["membr", "zzzz"]},
     [Problem("/plugins/breakdowns/gender", "unknown question 'gendr' (did you mean 'gender'?)"),
      Problem("/plugins/breakdowns/variables/0", "unknown question 'membr' (did you mean 'member'?)"),
      Problem("/plugins/breakdowns/variables/1", "unknown question 'zzzz'")]),
    ({"variables": ["topics", "age"]},
     [Problem("/plugins/breakdowns/variables/0", "'topics' is of type multiple_choice; results can be broken down "
                                                 "only by a single_choice or yes_no question"),
      Problem("/plugins/breakdowns/variables/1", "'age' is of type integer; results can be broken down "
                                                 "only by a single_choice or yes_no question")]),
    ({"variables": ["kind"]},
     [Problem("/plugins/breakdowns/variables/0", "'kind' is inside the repeat group 'visits'; results can be "
                                                 "broken down only by a question outside repeat groups")]),
    ({"gender": "gender", "variables": ["member", "gender", "member"]},
     [Problem("/plugins/breakdowns/variables/1", "'gender' is already named at /plugins/breakdowns/gender"),
      Problem("/plugins/breakdowns/variables/2", "'member' is already named at /plugins/breakdowns/variables/0")]),
])
def test_section_problems(checker, section, expected):
    assert problems(checker, section) == expected


def test_shipped_questionnaires_have_valid_sections():
    for path in sorted((ROOT / "questionnaires").glob("*.json")):
        questionnaire = load_questionnaire(path.read_bytes())
        assert config.variables(questionnaire), path.name
        assert config.find_problems(questionnaire) == [], path.name


def test_offers_gender_first_then_the_variables(checker):
    questionnaire = load_checked(json.dumps(DOCUMENT), checker)
    offered = plugins.hook(checker).breakdown_variables(questionnaire=questionnaire)
    assert offered == [["gender", "member", "group"]]


def test_result_section_is_the_core_crosstabs(app, make_user):
    survey_id = build_survey(app, make_user())
    with app.app_context():
        session = db.session()
        questionnaire = questionnaire_of(session.get(Survey, survey_id).latest_version)

        def sections(**filters):
            chosen = ResultFilters(**filters)
            found = plugins.hook().result_sections(
                survey_id=survey_id, questionnaire=questionnaire, filters=chosen, session=session,
                results=queries.SurveyResults(session, survey_id, questionnaire, chosen))
            return [section for returned in found for section in returned or ()]

        assert sections() == []
        assert sections(breakdown="topics") == []  # not a variable this questionnaire offers
        [section] = sections(breakdown="gender", completed_only=False)
        assert (section.plugin, section.title) == ("breakdowns", "Gender")
        expected = queries.crosstabs(session, survey_id, questionnaire, ResultFilters(completed_only=False), "gender",
                                     cached=False)
        assert list(section.tables) == expected  # from the kept counts, as counted afresh
        member = next(table for table in section.tables if table.question_id == "member")
        # yes: female r1 r6, male r3 r4 r7 (partial); no: female r2, not stated r5.
        assert member.counts == ((2, 3, 0, 0, 0), (1, 0, 0, 1, 0))
