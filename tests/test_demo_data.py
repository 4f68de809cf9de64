"""The demo-data generator and the ``survey-app demo-data`` command.

The generator is checked on its own (fast, no database) with many responses,
then through the command against both databases: every stored response of
every example questionnaire is re-checked answer by answer as the final submit
would, hidden questions have no answers, the Answer rows are exactly the
projection of the answers, and proportions, partial share and seeds behave.
"""
from __future__ import annotations

import copy
import json
import random
import uuid
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from survey_app import db, plugins
from survey_app.cli import build_cli
from survey_app.demo_data import DEMO_USER_AGENT, DemoDataError, DemoGenerator, generate_answers
from survey_app.models import Answer, Response, ResponseMetric, ResponseStatus, Survey
from survey_app.models.types import utcnow
from survey_app.questionnaire import load_questionnaire
from survey_app.questionnaire.patterns import matches
from survey_app.responses.logic import resolve
from survey_app.responses.storage import answer_rows, content_hash
from survey_app.responses.validation import response_problems

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "questionnaires").glob("*.json"))
ALL_TYPES = load_questionnaire((ROOT / "tests" / "data" / "all-types.json").read_bytes())


def _choices(*values: str, exclusive: tuple[str, ...] = ()) -> list[dict]:
    return [{"value": value, "label": value, **({"exclusive": True} if value in exclusive else {})} for value in values]


#: Every rule the generator must respect, in one small questionnaire.
RULES = {
    "id": "demo-rules", "version": "1", "languages": ["ru", "en"], "title": "Rules",
    "pages": [
        {"id": "p1", "questions": [
            {"id": "gender", "type": "single_choice", "required": True, "label": "Gender",
             "choices": _choices("female", "male", "prefer_not_to_say")},
            {"id": "kind", "type": "single_choice", "required": True, "label": "Kind", "other": "Other",
             "choices": _choices("a", "b", "c", "d", "dont_know")},
            {"id": "code", "type": "text", "required": True, "label": "Code", "pattern": "^[A-Z]{2,4}-[0-9]{2,3}$"},
            {"id": "station", "type": "text", "required": True, "label": "Station", "pattern": "^[0-9]{1,4}$"},
            {"id": "site", "type": "text", "required": True, "label": "Site", "pattern": "^https?://\\S+$"},
            {"id": "arrival", "type": "text", "required": True, "label": "Arrival",
             "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
            {"id": "opinion", "type": "single_choice", "label": "Optional", "choices": _choices("x", "y", "z")},
            {"id": "score", "type": "rating", "required": True, "label": "Score", "min": 0, "max": 10},
            {"id": "day", "type": "date", "required": True, "label": "Day", "min": "2023-01-01", "max": "2023-12-31"},
            {"id": "ratio", "type": "decimal", "required": True, "label": "Ratio", "min": 0, "max": 1, "decimals": 2},
        ]},
        {"id": "p2", "questions": [
            {"id": "seats", "type": "integer", "required": True, "label": "Seats", "min": 1, "max": 10000},
            {"id": "candidates", "type": "integer", "required": True, "label": "Candidates", "min": 0, "max": 10000},
            {"id": "winners", "type": "integer", "required": True, "label": "Winners", "min": 0, "max": 10000,
             "constraints": [{"expression": "winners <= candidates", "message": "no"},
                             {"expression": "winners <= seats", "message": "no"}]},
            {"id": "losers", "type": "integer", "label": "Losers", "min": 0,
             "constraints": [{"expression": "losers < candidates - winners", "message": "no"}]},
            {"id": "later", "type": "date", "required": True, "label": "Later",
             "constraints": [{"expression": "later > day", "message": "no"}]},
            {"id": "media", "type": "multiple_choice", "required": True, "label": "Media", "min_selected": 2,
             "max_selected": 3, "other": "Other", "choices": _choices("tv", "web", "radio", "press", "none",
                                                                    exclusive=("none",))},
            {"id": "why_none", "type": "text", "required": True, "label": "Why", "show_if": "selected(media, 'none')"},
            {"id": "events", "type": "repeat", "label": "Events", "min_count": 1, "max_count": 4, "questions": [
                {"id": "event_time", "type": "text", "required": True, "label": "Time",
                 "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"},
                {"id": "event_kind", "type": "single_choice", "required": True, "label": "Kind",
                 "choices": _choices("x", "y")},
                {"id": "event_note", "type": "text", "required": True, "label": "Note", "show_if": "event_kind = 'x'"},
            ]},
        ]},
        {"id": "p3", "show_if": "gender = 'female'", "questions": [
            {"id": "female_only", "type": "yes_no", "required": True, "label": "Only for women"},
        ]},
    ],
}


def _questionnaire(document: dict):
    return load_questionnaire(json.dumps(document))


def _many(questionnaire, count: int, seed: int = 3) -> list[dict]:
    generator = DemoGenerator(questionnaire, seed)
    rng = random.Random(seed)
    return [generator.answers(rng) for _ in range(count)]


# --- The generator alone -----------------------------------------------------------


@pytest.mark.parametrize("questionnaire", [ALL_TYPES, _questionnaire(RULES)], ids=["all-types", "rules"])
def test_generated_answers_pass_the_final_checks(questionnaire):
    for answers in _many(questionnaire, 600):
        assert response_problems(questionnaire, answers) == [], answers
        assert resolve(questionnaire, answers).answers == answers  # nothing hidden, calculated values included


def test_patterns_constraints_exclusive_and_repeats_are_respected_with_varied_answers():
    questionnaire = _questionnaire(RULES)
    responses = _many(questionnaire, 800)
    for answers in responses:
        assert matches("^[A-Z]{2,4}-[0-9]{2,3}$", answers["code"])
        assert 7 <= int(answers["arrival"][:2]) <= 21  # daytime arrivals
        assert answers["winners"] <= min(answers["candidates"], answers["seats"])
        assert answers["later"] > answers["day"]
        media = answers["media"]
        assert media == ["none"] or 2 <= len(media) <= 3 and "none" not in media
        assert ("why_none" in answers) == (media == ["none"])
        assert 1 <= len(answers["events"]) <= 4
        for event in answers["events"]:
            assert ("event_note" in event) == (event["event_kind"] == "x")
        assert ("female_only" in answers) == (answers["gender"] == "female")
    # not one fallback value over and over: the constrained and pattern answers vary
    winners = Counter(answers["winners"] for answers in responses)
    assert len(winners) > 10 and winners.most_common(1)[0][1] < 0.4 * len(responses)
    assert len({answers["station"] for answers in responses}) > 300
    assert len({answers["site"] for answers in responses}) > 50
    assert 2 < sum(answers["media"] == ["none"] for answers in responses) < 300
    assert len({len(answers["events"]) for answers in responses}) == 4
    assert sum("other" in answers["media"] for answers in responses) > 5
    assert all(answers["media:other"] for answers in responses if "other" in answers["media"])
    # an optional question is answered most of the time, not always
    assert 0.75 <= sum("opinion" in answers for answers in responses) / len(responses) <= 0.95
    # "losers < candidates - winners" can be impossible; it is then left out, else answered
    assert any("losers" in answers for answers in responses)
    assert all(answers["losers"] < answers["candidates"] - answers["winners"]
               for answers in responses if "losers" in answers)


def test_proportions_are_skewed_and_rare_choices_rare():
    responses = _many(_questionnaire(RULES), 2000)
    gender = Counter(answers["gender"] for answers in responses)
    assert gender["prefer_not_to_say"] < 0.15 * len(responses)
    assert gender.most_common(1)[0][1] > 1.3 * len(responses) / 3
    kind = Counter(answers["kind"] for answers in responses)
    assert kind["dont_know"] < kind.most_common(1)[0][1] / 3
    assert kind["other"] < kind.most_common(1)[0][1] / 3
    # ratings lean to the middle-high end, and not uniformly
    scores = Counter(answers["score"] for answers in responses)
    assert 5 < sum(answers["score"] for answers in responses) / len(responses) < 9
    assert scores[0] + scores[1] < 0.05 * len(responses)
    # numbers on a wide range are not uniform on it
    seats = sorted(answers["seats"] for answers in responses)
    assert seats[len(seats) // 2] < 1000


def test_answers_depend_on_the_group_question():
    responses = _many(_questionnaire(RULES), 4000)
    by_gender = defaultdict(Counter)
    for answers in responses:
        by_gender[answers["gender"]][answers["kind"]] += 1
    female, male = by_gender["female"], by_gender["male"]
    shares = {value: (female[value] / sum(female.values()), male[value] / sum(male.values()))
              for value in ("a", "b", "c", "d")}
    assert max(abs(f - m) for f, m in shares.values()) > 0.05, shares


def test_same_seed_and_state_same_answers_other_seed_other_answers():
    questionnaire = _questionnaire(RULES)
    first = [generate_answers(questionnaire, random.Random(9), seed=1) for _ in range(3)]
    assert first[0] == first[1] == first[2]
    assert _many(questionnaire, 50, seed=4) == _many(questionnaire, 50, seed=4)
    assert _many(questionnaire, 50, seed=4) != _many(questionnaire, 50, seed=5)


def test_unsatisfiable_required_question_is_reported():
    document = copy.deepcopy(RULES)
    document["pages"][1]["questions"][2]["constraints"].append({"expression": "winners > seats", "message": "no"})
    with pytest.raises(DemoDataError, match="winners"):
        _many(_questionnaire(document), 1)


def test_pattern_the_generator_cannot_produce_is_reported_when_required():
    document = copy.deepcopy(RULES)
    document["pages"][0]["questions"][2]["pattern"] = "^\\p{Greek}+$"
    with pytest.raises(DemoDataError, match="code"):
        DemoGenerator(_questionnaire(document))
    document["pages"][0]["questions"][2]["required"] = False
    assert all("code" not in answers for answers in _many(_questionnaire(document), 20))


# --- The command, against the database ---------------------------------------------


@pytest.fixture
def demo(app, make_user):
    """Import questionnaires and run ``demo-data`` through the CLI group, as the lead will register it."""
    make_user("researcher", email="owner@example.org")
    cli = build_cli(app)

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def _import(demo, path: Path) -> str:
    result = demo("import", str(path), "--owner", "owner@example.org")
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text(encoding="utf-8"))["id"]


def _stored(app, slug: str) -> tuple[list[Response], dict[int, list[tuple]]]:
    with app.app_context():
        session = db.session()
        survey = session.execute(select(Survey).where(Survey.slug == slug)).scalar_one()
        query = select(Response).where(Response.survey_id == survey.id).order_by(Response.id)
        responses = session.execute(query).scalars().all()
        rows = defaultdict(list)
        for answer in session.execute(select(Answer).where(Answer.survey_id == survey.id)).scalars():
            rows[answer.response_id].append(_row(answer.question_id, answer.entry, answer.item, answer.code,
                                                 answer.number, answer.text))
        return responses, rows


def _row(question_id, entry, item, code, number, text) -> tuple:
    return (question_id, entry, item, code, None if number is None else float(number), text)


def _expected_rows(questionnaire, answers) -> list[tuple]:
    return sorted(_row(**row) for row in answer_rows(questionnaire, answers))


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_every_stored_response_passes_the_final_checks(app, demo, path):
    slug = _import(demo, path)
    questionnaire = load_questionnaire(path.read_bytes())
    before = utcnow()
    result = demo("demo-data", slug, "--responses", "200", "--seed", "11", "--no-plugins")
    assert result.exit_code == 0, result.output
    assert f"Generating 200 responses for '{slug}'" in result.output  # the progress bar's label
    assert "Added 200 responses" in result.output

    responses, rows = _stored(app, slug)
    assert len(responses) == 200
    complete = [response for response in responses if response.status is ResponseStatus.COMPLETE]
    partial = [response for response in responses if response.status is ResponseStatus.PARTIAL]
    assert 0.04 <= len(partial) / len(responses) <= 0.18  # --partial-share 0.1 by default
    assert len({response.submission_id for response in responses}) == 200
    page_ids = [page.id for page in questionnaire.pages]
    for response in responses:
        answers = response.data["answers"]
        assert set(response.data) == {"answers"}
        assert resolve(questionnaire, answers).answers == answers  # no answer to a hidden question
        assert sorted(rows[response.id]) == _expected_rows(questionnaire, answers)
        assert uuid.UUID(response.submission_id).version == 4
        assert response.language in questionnaire.languages
        assert response.user_agent == DEMO_USER_AGENT
        assert before - timedelta(days=29) <= response.started_at <= response.updated_at <= utcnow()
    for response in complete:
        answers = response.data["answers"]
        assert response_problems(questionnaire, answers) == []
        assert response.content_hash == content_hash(answers)
        assert response.submitted_at == response.updated_at and response.current_page is None
    for response in partial:
        answers = response.data["answers"]
        assert response.submitted_at is None and response.content_hash is None
        assert response.current_page in page_ids
        # only answers are missing (the pages not reached), never a wrong answer
        later = page_ids[page_ids.index(response.current_page):]
        assert all(problem.issue.code in ("required", "too_few_entries") and problem.page_id in later
                   for problem in response_problems(questionnaire, answers))
        assert answers  # stopped after a page, not before the first
        assert all(questionnaire.questions[key.split(":")[0]].page_id not in later[1:] for key in answers)
    # spread over days, not all at one moment
    assert max(r.started_at for r in responses) - min(r.started_at for r in responses) > timedelta(days=5)

    # realistic, not uniform: the first choice question with 3-8 choices is clearly skewed
    question = next(q for q in questionnaire.all_questions()
                    if q.type == "single_choice" and 3 <= len(q.choice_values()) <= 8)
    counts = Counter(r.data["answers"].get(question.id) for r in complete if question.id in r.data["answers"])
    frequencies = [counts[value] for value in question.choice_values()]
    assert max(frequencies) >= 3 * min(frequencies), (question.id, frequencies)


def test_same_seed_same_answers_in_process_or_in_a_worker(app, demo):
    slug = _import(demo, ROOT / "questionnaires" / "citizen-participation.json")
    assert demo("demo-data", slug, "--responses", "40", "--seed", "5", "--no-plugins", "--workers", "0").exit_code == 0
    assert demo("demo-data", slug, "--responses", "40", "--seed", "5", "--no-plugins", "--workers", "1",
                "--batch-size", "7").exit_code == 0
    assert demo("demo-data", slug, "--responses", "40", "--seed", "6", "--no-plugins").exit_code == 0
    responses, _ = _stored(app, slug)

    def key(response):
        return response.data["answers"], response.status, response.current_page, response.language

    first, second, other = (list(map(key, responses[i:i + 40])) for i in (0, 40, 80))
    assert first == second
    assert sum(a != b for a, b in zip(first, other)) > 30


def test_partial_share_extremes(app, demo):
    slug = _import(demo, ROOT / "questionnaires" / "expert-survey.json")
    for seed, share in (("1", "0"), ("2", "1")):
        assert demo("demo-data", slug, "--responses", "30", "--seed", seed, "--partial-share", share,
                    "--no-plugins").exit_code == 0
    statuses = [response.status for response in _stored(app, slug)[0]]
    assert statuses == [ResponseStatus.COMPLETE] * 30 + [ResponseStatus.PARTIAL] * 30


def test_plugins_process_complete_responses_unless_told_not_to(app, demo):
    slug = _import(demo, ROOT / "questionnaires" / "citizen-participation.json")
    with app.app_context():
        assert plugins.hook().response_completed.get_hookimpls(), "the scoring plugin is not loaded"
    result = demo("demo-data", slug, "--responses", "25", "--seed", "3")
    assert result.exit_code == 0 and "plugins" in result.output
    assert demo("demo-data", slug, "--responses", "25", "--seed", "4", "--no-plugins").exit_code == 0
    responses, _ = _stored(app, slug)
    with app.app_context():
        scored = set(db.session().execute(select(ResponseMetric.response_id).where(
            ResponseMetric.name == "knowledge_score.points")).scalars())
    complete = {response.id for response in responses[:25] if response.status is ResponseStatus.COMPLETE}
    assert complete and scored == complete  # partial responses and the --no-plugins run are not scored


def test_unknown_survey_is_a_usage_error(app, demo):
    result = CliRunner().invoke(_group(app), ["demo-data", "no-such-survey"])
    assert result.exit_code == 2
    assert "no survey with the address 'no-such-survey'" in result.output
    with app.app_context():
        assert db.session().execute(select(func.count()).select_from(Response)).scalar_one() == 0


def _group(app):
    cli = build_cli(app)
    return cli
