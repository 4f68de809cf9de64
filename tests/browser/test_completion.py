"""Respondents complete each example questionnaire in Chromium, with JavaScript on and off.

Each scenario gives, per page, the answers that exercise the questionnaire's logic
(everything else gets the generic valid answer of ``BrowserRespondent.answer_page``),
the pages the respondent should see, and what the database should then hold.
With JavaScript on, ``live_checks`` change answers back and forth and watch the
dependent questions appear and disappear on the same page, without a reload;
after every page the questions the browser hides must be those the server hides.
With JavaScript off, every question is shown and filled in, and the server must
drop the answers its rules hide (``dropped``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import pytest

pytestmark = pytest.mark.browser


# ---------------------------------------------------------------- show/hide on the page, live


def opening_violation_reveals_details(person) -> None:
    details = ("opening_problems", "opening_problems_description")
    with person.no_reload():
        person.expect_hidden(*details)
        person.choose("boxes_sealed", "no")  # a violation: describe it
        person.expect_shown(*details)
        person.choose("boxes_sealed", "yes")  # changed back: nothing to describe
        person.expect_hidden(*details)


def protocol_copy_questions_follow_the_answer(person) -> None:
    violations = ("counting_violations", "counting_violations_description")
    with person.no_reload():
        person.expect_hidden("protocol_copy_certified", *violations)
        person.choose("protocol_copy_given", "yes")
        person.expect_shown("protocol_copy_certified")
        person.expect_hidden(*violations)
        person.choose("protocol_copy_given", "no")
        person.expect_hidden("protocol_copy_certified")
        person.expect_shown(*violations)
        person.choose("protocol_copy_given", "yes")
        person.expect_shown("protocol_copy_certified")
        person.expect_hidden(*violations)


def channel_questions_follow_awareness_and_use(person) -> None:
    rows = ("public_hearings", "akimat_reception", "online_portals", "petitions", "maslikhat_sessions", "public_council")
    with person.no_reload():
        for row in rows:
            person.choose(f"channel_awareness.{row}", "not_aware")
        person.expect_hidden("channels_used", "experience_rating", "opinion_considered", "reasons_not_used")
        person.choose("channel_awareness.public_hearings", "heard_of")  # a matrix row in the rule
        person.expect_shown("channels_used")
        person.expect_hidden("experience_rating", "opinion_considered", "reasons_not_used")
        person.choose("channels_used", "none_used")
        person.expect_shown("reasons_not_used")
        person.expect_hidden("experience_rating", "opinion_considered")
        person.choose("channels_used", "none_used")  # unticked
        person.choose("channels_used", "online_portals")
        person.expect_shown("experience_rating", "opinion_considered")
        person.expect_hidden("reasons_not_used")
        person.choose("channel_awareness.public_hearings", "not_aware")  # nothing known: nothing used
        person.expect_hidden("channels_used", "experience_rating", "opinion_considered", "reasons_not_used")


def legal_follow_ups_follow_the_answers(person) -> None:
    with person.no_reload():
        person.expect_hidden("legal_gaps_description", "trend_explanation")
        person.choose("legal_framework_adequacy", "not_at_all")
        person.expect_shown("legal_gaps_description")
        person.choose("legal_framework_adequacy", "fully")
        person.expect_hidden("legal_gaps_description")
        person.choose("trend_five_years", "narrowed")
        person.expect_shown("trend_explanation")
        person.choose("trend_five_years", "hard_to_say")
        person.expect_hidden("trend_explanation")


def email_only_with_consent(person) -> None:
    with person.no_reload():
        person.expect_hidden("contact_email")
        person.choose("follow_up_consent", "yes")
        person.expect_shown("contact_email")
        person.choose("follow_up_consent", "no")
        person.expect_hidden("contact_email")


def region_only_for_regional_and_local_bodies(person) -> None:
    with person.no_reload():
        person.expect_hidden("region")
        person.choose("level", "local")
        person.expect_shown("region")
        person.choose("level", "central")
        person.expect_hidden("region")


def request_questions_follow_the_answers(person) -> None:
    asked = ("request_date", "request_channel", "request_response_timely")
    with person.no_reload():
        person.expect_hidden(*asked, "request_response_complete", "request_problem_details")
        person.choose("request_sent", "yes")
        person.expect_shown(*asked)
        person.choose("request_response_timely", "partly")
        person.expect_shown("request_response_complete")
        person.expect_hidden("request_problem_details")
        person.choose("request_response_complete", "no")  # either "no" asks for a description
        person.expect_shown("request_problem_details")
        person.choose("request_response_timely", "no")  # no longer asked how complete
        person.expect_hidden("request_response_complete")
        person.expect_shown("request_problem_details")
    # Answering "no" to request_sent now must hide everything, the description too (its
    # rule reads the answers of questions that are then hidden): test_logic.py checks it.


def election_type_switches_the_follow_up(person) -> None:
    with person.no_reload():
        person.expect_hidden("maslikhat_level", "akim_election_method")
        person.choose("election_type", "rural_akim")
        person.expect_shown("akim_election_method")
        person.expect_hidden("maslikhat_level")
        person.choose("election_type", "maslikhat")
        person.expect_shown("maslikhat_level")
        person.expect_hidden("akim_election_method")


def link_only_for_published_sources(person) -> None:
    with person.no_reload():
        person.expect_hidden("source_url")
        person.choose("data_source", "own_observation")
        person.expect_hidden("source_url")
        person.choose("data_source", "local_media")
        person.expect_shown("source_url")
        person.choose("data_source", "local_media")  # unticked again
        person.expect_hidden("source_url")


# ---------------------------------------------------------------- the scenarios


@dataclass(frozen=True)
class Scenario:
    slug: str
    language: str
    pages: list[str]  # the pages the respondent sees, in order
    answers: dict[str, dict[str, Any]]  # page id -> answers, as stored; the rest get generic ones
    dropped: frozenset[str] = frozenset()  # questions the answers hide: never stored
    calculated: dict[str, Any] = field(default_factory=dict)
    live_checks: dict[str, Callable] = field(default_factory=dict)  # page id -> check (JavaScript on)
    viewport: str = "mobile"
    lang_in_url: bool = True  # else the browser's Accept-Language chooses

    def __str__(self) -> str:
        return f"{self.slug}-{self.language}"


POLLING_STATION = Scenario(
    "polling-station-observation", "ru",
    pages=["visit", "opening", "counting", "observers", "incidents_page", "overall"],  # no voting page
    answers={
        "visit": {"station_number": "0417", "region": "almaty_city", "settlement_type": "urban",
                  "premises_type": "other", "premises_type:other": "Спорткомплекс «Жастар»",
                  "visit_date": "2024-03-19", "arrival_time": "06:45", "visit_stages": ["opening", "counting"]},
        "opening": {"booths_ready": "no", "opening_problems": ["booths_missing"],
                    "opening_problems_description": "Две кабины на восемь столов, одна без света."},
        "observers": {"commission_attitude": "neutral"},
        "incidents_page": {"incidents": [{
            "incident_time": "08:15", "incident_type": "observer_obstruction",
            "incident_description": "Секретарь комиссии потребовала отойти от стола выдачи бюллетеней.",
            "incident_reported_to_chair": "yes"}]},
        "overall": {"overall_assessment": "good", "general_comment": None},
    },
    dropped=frozenset({"ballot_issue_procedure", "family_voting_seen", "counting_violations"}),
    live_checks={"opening": opening_violation_reveals_details, "counting": protocol_copy_questions_follow_the_answer},
)

CITIZEN_PARTICIPATION = Scenario(
    "citizen-participation", "kk", viewport="desktop", lang_in_url=False,  # chosen by Accept-Language
    pages=["about_you", "channels", "quiz", "motivation"],
    answers={
        "about_you": {"gender": "female", "age_group": "age_25_34", "district": "bostandyk",
                      "group": "other", "group:other": "Зейнеткер"},
        "channels": {"info_sources": ["social_media", "friends_neighbours"],
                     "channel_awareness": {"public_hearings": "heard_of", "akimat_reception": "not_aware",
                                           "online_portals": "know_well", "petitions": "not_aware",
                                           "maslikhat_sessions": "not_aware", "public_council": "heard_of"},
                     "channels_used": ["online_portals"], "experience_rating": 4, "opinion_considered": "formal_reply"},
        "quiz": {"quiz_maslikhat_elected": "residents", "quiz_akim_appointment": "president_with_maslikhat",
                 "quiz_budget_approval": "maslikhat", "quiz_draft_acts_portal": "open_nla",
                 "quiz_info_request_deadline": "working_days_15"},
        "motivation": {"motivators": ["online_format", "feedback", "other"],
                       "motivators:other": "Ауладағы кездесулер", "participation_intent": "probably_yes",
                       "comment": "Ақпарат қазақ тілінде де уақытында жариялансын."},
    },
    dropped=frozenset({"reasons_not_used"}),
    live_checks={"channels": channel_questions_follow_awareness_and_use},
)

EXPERT_SURVEY = Scenario(
    "expert-survey", "en",
    pages=["expert_profile", "assessment", "legal_framework", "recommendations_page"],
    answers={
        "expert_profile": {"expertise": "lawyer", "years_experience": 12, "organisation_type": "ngo",
                           "participated_personally": "yes"},
        "assessment": {"hearings_effectiveness": 2, "akimat_openness": 3, "maslikhat_accountability": 1,
                       "online_tools_rating": 4,
                       "mechanisms_effectiveness": {"public_hearings": "rather_ineffective", "akimat_reception": "ineffective",
                                                    "e_otinish": "rather_effective", "open_nla": "effective",
                                                    "petitions": "cannot_assess", "maslikhat_sessions": "ineffective",
                                                    "public_council": "rather_ineffective", "akim_public_reports": "ineffective",
                                                    "participatory_budget": "rather_effective"},
                       "barriers_ranking": ["no_feedback", "formal_procedures", "distrust", "low_awareness",
                                            "closed_information", "legal_gaps", "civic_passivity"]},
        "legal_framework": {"legal_framework_adequacy": "partly",
                            "legal_gaps_description": "No duty to publish hearing minutes.",
                            "trend_five_years": "unchanged"},
        "recommendations_page": {"good_practices": "Open budget hearings in Shymkent.",
                                 "recommendations": "Publish drafts 30 days before adoption.",
                                 "additional_comments": None, "follow_up_consent": "yes",
                                 "contact_email": "a.expert@example.kz"},
    },
    dropped=frozenset({"trend_explanation"}),
    live_checks={"legal_framework": legal_follow_ups_follow_the_answers, "recommendations_page": email_only_with_consent},
)

ACCESS_TO_INFORMATION = Scenario(
    "access-to-information", "kk", viewport="desktop",
    pages=["body", "published_information", "information_request", "summary"],
    answers={
        "body": {"monitor_code": "ALA-07", "body_name": "Алматы қаласының қаржы басқармасы",
                 "body_type": "akimat_department", "level": "regional", "region": "almaty_city",
                 "website_url": "https://www.gov.kz/memleket/entities/almaty-finance", "platform": "gov_kz",
                 "check_date": "2024-05-14"},
        "published_information": {"budget_published": "no", "budget_missing_details": "2023 жылғы атқару есебі жоқ",
                                  "decisions_published": "partly", "language_parity": "partly",
                                  "accessibility_version": "na"},
        "information_request": {"request_sent": "yes", "request_date": "2024-04-20", "request_channel": "e_otinish",
                                "request_response_timely": "no",
                                "request_problem_details": "Жауап 15 жұмыс күнінен кейін келді."},
        "summary": {"general_comment": "Сайт мобильді телефонда баяу ашылады."},
    },
    dropped=frozenset({"decisions_missing_details", "procurement_missing_details", "request_response_complete"}),
    live_checks={"body": region_only_for_regional_and_local_bodies,
                 "information_request": request_questions_follow_the_answers},
)

WOMEN_LOCAL_ELECTIONS = Scenario(
    "women-local-elections", "ru", viewport="desktop",  # a long link answer: see test_layout.py
    pages=["election", "results", "women_candidates_page", "source"],
    answers={
        "election": {"region": "turkistan", "district_name": "Сайрамский район", "election_type": "maslikhat",
                     "maslikhat_level": "district", "election_date": "2023-03-19"},
        "results": {"seats_total": 10, "candidates_total": 25, "women_candidates": 8, "winners_total": 10,
                    "women_winners": 3},
        "women_candidates_page": {"women_nominated_by": ["party", "self_nomination"], "women_interviewed": 5,
                                  "obstacles": ["family_duties", "gender_stereotypes"]},
        "source": {"data_source": ["cec_website", "local_media"],
                   "source_url": "https://www.election.gov.kz/rus/news/releases/", "comment": None},
    },
    dropped=frozenset({"akim_election_method"}),
    calculated={"women_candidate_share": 32.0, "women_winner_share": 30.0, "women_success_rate": 37.5,
                "men_success_rate": 41.2},
    live_checks={"election": election_type_switches_the_follow_up, "source": link_only_for_published_sources},
)

WITH_JAVASCRIPT = [POLLING_STATION, CITIZEN_PARTICIPATION, EXPERT_SURVEY, ACCESS_TO_INFORMATION, WOMEN_LOCAL_ELECTIONS]

# Without JavaScript every question is shown and filled in; the server drops what its rules hide.
WITHOUT_JAVASCRIPT = [
    Scenario(
        "polling-station-observation", "kk",
        pages=["visit", "voting", "observers", "incidents_page", "overall"],
        answers={
            "visit": {"visit_stages": ["voting"]},
            "voting": {"absentee_voting_seen": "no", "family_voting_seen": "no", "unauthorised_persons": "no"},
            "incidents_page": {"incidents": [{"incident_time": "10:05", "incident_type": "voter_rights"},
                                             {"incident_time": "13:30", "incident_reported_to_chair": "no"}]},
        },
        dropped=frozenset({"absentee_ballots_marked", "voting_violations", "voting_violations_description",
                           "observer_problems", "observer_problems_description"}),
    ),
    Scenario(
        "women-local-elections", "en",
        pages=["election", "results", "source"],  # no women candidates: no page about them
        answers={
            "election": {"election_type": "rural_akim", "akim_election_method": "indirect"},
            "results": {"seats_total": 3, "candidates_total": 7, "women_candidates": 0, "winners_total": 3,
                        "women_winners": 0},
            "source": {"data_source": ["own_observation"]},
        },
        dropped=frozenset({"maslikhat_level", "source_url"}),
        calculated={"women_candidate_share": 0, "women_winner_share": 0, "men_success_rate": 42.9},
    ),
    Scenario(
        "access-to-information", "ru", viewport="desktop",  # a long link answer: see test_layout.py
        pages=["body", "published_information", "information_request", "summary"],
        answers={"body": {"level": "central"}, "information_request": {"request_sent": "no"}},
        dropped=frozenset({"region", "budget_missing_details", "decisions_missing_details",
                           "procurement_missing_details", "request_date", "request_channel",
                           "request_response_timely", "request_response_complete", "request_problem_details"}),
    ),
]


def complete(scenario: Scenario, respondent, completed, *, javascript: bool) -> None:
    count = completed(scenario.slug)
    person = respondent(scenario.slug, scenario.language, javascript=javascript, viewport=scenario.viewport,
                        locale="en-US" if scenario.lang_in_url else f"{scenario.language}-KZ")
    person.start(lang_in_url=scenario.lang_in_url)
    assert person.answer_all(scenario.answers, scenario.live_checks if javascript else {}) == scenario.pages

    review = person.page.locator("main").inner_text()
    for page_id in scenario.pages:
        title = person.questionnaire.page(page_id).title
        assert person.text(title) in review, f"the review page lacks the page {page_id}"
    for question_id, value in person.given.items():
        question = person.questionnaire.questions.get(question_id)
        if question is not None and question.type in ("text", "long_text", "email") and question_id not in scenario.dropped:
            assert value in review, f"the review page lacks the answer to {question_id}"
    submission_id = person.submission_id
    assert person.submit() == submission_id[:8].upper()

    [stored] = count.new()  # exactly one new complete response
    assert (stored.submission_id, stored.language) == (submission_id, scenario.language)
    expected = person.expected_answers(dropped=scenario.dropped, calculated=scenario.calculated)
    assert stored.answers == expected
    assert not scenario.dropped & set(stored.answers)


@pytest.mark.parametrize("scenario", WITH_JAVASCRIPT, ids=str)
def test_a_respondent_completes_the_questionnaire_with_javascript(scenario, respondent, completed):
    complete(scenario, respondent, completed, javascript=True)


@pytest.mark.parametrize("scenario", WITHOUT_JAVASCRIPT, ids=str)
def test_a_respondent_completes_the_questionnaire_without_javascript(scenario, respondent, completed):
    complete(scenario, respondent, completed, javascript=False)
