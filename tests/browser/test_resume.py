"""A respondent who reloads, comes back later or changes device keeps their answers."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

VISIT = {"station_number": "1234", "region": "abai", "settlement_type": "rural", "arrival_time": "19:55",
         "visit_stages": ["voting", "counting"]}


def test_a_reload_or_a_new_visit_resumes_with_the_answers_kept(respondent):
    person = respondent("polling-station-observation", "ru")
    page = person.page
    person.start()
    person.answer_page(VISIT)
    person.continue_()
    assert person.page_id == "voting"  # no opening page: that stage was not observed
    voting_title = person.text(person.questionnaire.page("voting").title)

    page.reload()
    assert person.page_id == "voting" and page.locator("h1").inner_text() == voting_title

    page.goto("/s/polling-station-observation")  # typed the address again
    start = page.locator("main a.button")
    assert urlsplit(start.get_attribute("href")).path == "/s/polling-station-observation/p/voting"
    with page.expect_navigation():
        start.click()
    assert person.page_id == "voting"

    person.press("back")
    assert person.page_id == "visit"
    assert page.locator('[name="station_number"]').input_value() == "1234"
    assert page.locator('[name="region"]').input_value() == "abai"
    assert page.locator('[name="arrival_time"]').input_value() == "19:55"
    assert page.locator('input[name="settlement_type"][value="rural"]').is_checked()
    stages = page.locator('input[name="visit_stages"]')
    assert [box.is_checked() for box in stages.all()] == [False, True, True]


def test_save_and_continue_later_gives_a_link_that_works_in_another_browser(respondent, live_server, completed):
    slug = "expert-survey"
    count = completed(slug)
    assessment = {"hearings_effectiveness": 5, "akimat_openness": 2,
                  "mechanisms_effectiveness": {"public_hearings": "ineffective", "petitions": "cannot_assess"},
                  "barriers_ranking": ["distrust", "civic_passivity", "legal_gaps", "low_awareness",
                                       "no_feedback", "formal_procedures", "closed_information"]}
    person = respondent(slug, "kk")
    person.start()
    person.answer_page({"expertise": "journalist", "years_experience": 7})
    person.continue_()
    page = person.page
    for question_id, value in assessment.items():  # part of the page only, then "later"
        person.fill(question_id, value)
    person.press("save_later")

    link = page.locator("input.resume-link").input_value()
    assert link.startswith(f"{live_server.url}/s/{slug}/resume/")
    assert page.locator(f'main a[href="{link}"]').count() == 1  # "continue now"

    other = respondent(slug, "kk", viewport="desktop", locale="kk-KZ")  # another device: no cookies shared
    other.page.goto(link)
    assert other.page_id == "assessment"
    kept = other.page
    assert kept.locator('input[name="hearings_effectiveness"][value="5"]').is_checked()
    assert kept.locator('input[name="akimat_openness"][value="2"]').is_checked()
    assert kept.locator('input[name="mechanisms_effectiveness.public_hearings"][value="ineffective"]').is_checked()
    assert kept.locator('input[name="mechanisms_effectiveness.petitions"][value="cannot_assess"]').is_checked()
    ranks = [kept.locator(f'select[name="barriers_ranking.{choice}"]').input_value() for choice in assessment["barriers_ranking"]]
    assert ranks == ["1", "2", "3", "4", "5", "6", "7"]

    other.given = dict(person.given)  # the first page was answered in the first browser
    rows = person.questionnaire.questions["mechanisms_effectiveness"].rows
    every_row = {row.value: "rather_effective" for row in rows} | assessment["mechanisms_effectiveness"]
    other.answer_all({"assessment": {**assessment, "mechanisms_effectiveness": every_row}})
    submission_id = other.submission_id
    assert other.submit() == submission_id[:8].upper()
    [stored] = count.new()
    assert stored.submission_id == submission_id
    assert stored.answers == other.expected_answers()
    assert stored.answers["expertise"] == "journalist" and stored.answers["years_experience"] == 7
