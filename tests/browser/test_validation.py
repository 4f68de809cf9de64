"""A page with mistakes comes back with an error summary at the top, linked to each field."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def focused_id(page) -> str:
    return page.evaluate("() => document.activeElement && document.activeElement.id")


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_errors_are_summarised_at_the_top_linked_to_each_field_and_can_be_fixed(respondent, javascript):
    person = respondent("expert-survey", "en", javascript=javascript)
    page = person.page
    person.start()
    person.answer_page({"expertise": None, "years_experience": 75})  # required left empty; at most 60
    reply = person.press("next")
    assert reply.status == 422 and person.page_id == "expert_profile"

    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    first_question = page.locator(".question").first
    assert summary.bounding_box()["y"] < page.locator("h1").bounding_box()["y"] < first_question.bounding_box()["y"]
    assert summary.bounding_box()["y"] < 200, "the summary is at the top of the page, seen without scrolling"
    links = summary.locator("a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == ["#expertise-0", "#years_experience"]
    labels = person.questionnaire.questions
    assert person.text(labels["expertise"].label) in links.nth(0).inner_text()
    assert person.text(labels["years_experience"].label) in links.nth(1).inner_text()

    links.nth(1).click()  # each link takes the respondent to the field, ready to type
    assert focused_id(page) == "years_experience"
    assert page.evaluate("() => location.hash") == "#years_experience"
    links.nth(0).click()
    assert focused_id(page) == "expertise-0"

    for question_id in ("expertise", "years_experience"):  # and each message stands next to its field
        message = person.block(question_id).locator(f'[id="{question_id}-error"]')
        expect(message).to_be_visible()
        assert question_id + "-error" in person.block(question_id).locator("[aria-describedby]").first.get_attribute("aria-describedby")
    assert "60" in person.block("years_experience").locator(".error-message").inner_text()
    assert page.locator("#years_experience").input_value() == "75"  # what was typed is kept

    person.answer_page({"expertise": "sociologist", "years_experience": 20})
    person.continue_()
    assert person.page_id == "assessment"
    person.press("back")
    assert page.locator(".error-summary").count() == 0
    assert page.locator('input[name="expertise"][value="sociologist"]').is_checked()
    assert page.locator("#years_experience").input_value() == "20"


def test_an_error_on_a_question_the_logic_shows_stays_visible(respondent):
    """The page comes back from the server with JavaScript deciding again what to show:
    a question shown by an earlier answer, and its error, must not disappear."""
    person = respondent("access-to-information", "ru")
    page = person.page
    person.start()
    person.answer_page({"monitor_code": "ala7", "level": "local", "region": None})
    reply = person.press("next")
    assert reply.status == 422
    hrefs = page.locator(".error-summary a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert hrefs == ["#monitor_code", "#region"]
    person.expect_shown("region")
    expect(page.locator('[id="region-error"]')).to_be_visible()
    pattern_message = person.text(person.questionnaire.questions["monitor_code"].options["pattern_message"])
    assert pattern_message in page.locator('[id="monitor_code-error"]').inner_text()

    page.locator('.error-summary a[href="#region"]').click()
    assert focused_id(page) == "region"
    person.answer_page({"monitor_code": "ALA-07", "level": "local", "region": "zhetysu"})
    person.continue_()
    assert person.page_id == "published_information"
