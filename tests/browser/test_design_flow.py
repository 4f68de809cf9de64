"""A researcher's whole round trip in Chromium: a survey from an example, a mistake
explained and fixed in the JSON editor, a preview in Kazakh with its live logic,
publishing, a respondent's answers, then a removed choice: the diff warns that
collected answers no longer fit, and version 2 is published only once confirmed.
Also: the editor without JavaScript, and axe-core on the workspace pages.
"""
from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from survey_app import db
from survey_app.models import QuestionnaireVersion, Response, Survey
from tests.helpers import PASSWORD

pytestmark = pytest.mark.browser

EXAMPLE = "citizen-participation"  # the live server already has a survey at this address
QUICK = 3_000


def log_in(page, email: str = "researcher@example.org") -> None:
    page.goto("/account/login?lang=en")
    page.locator('input[name="email"]').fill(email)
    page.locator('input[name="password"]').fill(PASSWORD)
    with page.expect_navigation():
        page.locator('form button[type="submit"]').click()
    assert page.url.endswith("/"), page.url


def editor_text(page) -> str:
    return page.evaluate("() => document.querySelector('.CodeMirror').CodeMirror.getValue()")


def set_editor_text(page, text: str) -> None:
    page.evaluate("text => document.querySelector('.CodeMirror').CodeMirror.setValue(text)", text)


def save(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Save draft").click()


def problems(page) -> list[str]:
    return page.locator("#problems .problem-list li").all_inner_texts()


def versions_and_responses(live_server, slug: str) -> tuple[list[int], list[int]]:
    with live_server.app.app_context():
        session = db.session()
        survey = session.execute(select(Survey).where(Survey.slug == slug)).scalar_one()
        versions = session.execute(select(QuestionnaireVersion).where(QuestionnaireVersion.survey_id == survey.id)
                                   .order_by(QuestionnaireVersion.number)).scalars().all()
        numbers = {version.id: version.number for version in versions}
        answered = session.execute(select(Response.version_id).where(Response.survey_id == survey.id)).scalars().all()
        return [version.number for version in versions], [numbers[version_id] for version_id in answered]


def test_a_researcher_designs_previews_publishes_and_revises_a_survey(live_server, tabs, respondent, completed):
    page = tabs.open(viewport="desktop")
    log_in(page)

    # 1. A draft from an example questionnaire, picked by its title.
    page.get_by_label(re.compile("Citizen participation in decision-making in Almaty")).check()
    with page.expect_navigation():
        page.get_by_role("button", name="Create a draft from this example").click()
    slug = page.url.split("/surveys/", 1)[1].split("/", 1)[0]
    assert slug == f"{EXAMPLE}-2", page.url
    expect(page.locator(".CodeMirror")).to_be_visible()  # the textarea, enhanced
    expect(page.locator("#problems")).to_contain_text("No problems")
    original = editor_text(page)
    assert json.loads(original)["id"] == slug

    # 2. A typo in a question type: saved as a draft, explained with its line.
    broken = original.replace('"type": "single_choice"', '"type": "single_choise"', 1)
    set_editor_text(page, broken)
    save(page)
    expect(page.locator(".flash")).to_contain_text("problem")
    listed = problems(page)
    assert listed and any("/pages/0/questions/0" in item for item in listed), listed
    link = page.locator("#problems a.problem-link").first
    line = int(link.get_attribute("data-line"))
    assert "single_choise" in broken.split("\n")[line - 1], (line, broken.split("\n")[line - 1])
    link.click()  # jumps to that line in CodeMirror
    cursor_line = page.evaluate("() => document.querySelector('.CodeMirror').CodeMirror.getCursor().line + 1")
    assert cursor_line == line
    expect(page.locator(".CodeMirror-focused")).to_be_visible()
    expect(page.get_by_role("button", name="Publish", exact=True)).to_be_disabled()
    expect(page.locator("#publish-reason")).to_contain_text("Fix the problems")
    assert page.locator(".CodeMirror .problem-line").count() >= 1

    # 3. Fixed.
    set_editor_text(page, editor_text(page).replace("single_choise", "single_choice"))
    save(page)
    expect(page.locator("#problems")).to_contain_text("No problems")

    # 4. The preview in Kazakh: the respondent's page, its logic live, nothing stored.
    with page.expect_navigation():
        page.locator("a.preview-language[lang=kk]").click()
    assert page.locator("html").get_attribute("lang") == "kk"
    expect(page.locator(".preview-banner")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Жынысыңыз")
    page.goto(f"/surveys/{slug}/preview/channels")
    channels_used = page.locator('[id="question-channels_used"]')
    for row in ("public_hearings", "akimat_reception", "online_portals", "petitions", "maslikhat_sessions",
                "public_council"):
        page.locator(f'input[name="channel_awareness.{row}"][value="not_aware"]').check()
    expect(channels_used).to_be_hidden(timeout=QUICK)
    page.locator('input[name="channel_awareness.petitions"][value="heard_of"]').check()
    expect(channels_used).to_be_visible(timeout=QUICK)
    assert live_server.responses(slug) == []

    # 5. Published (the first version) and opened.
    page.goto(f"/surveys/{slug}/publish?lang=en")
    expect(page.locator("main")).to_contain_text("The first version")
    page.get_by_label("Open the survey to respondents now").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Publish version 1").click()
    expect(page.locator(".flash")).to_contain_text("Version 1")
    assert versions_and_responses(live_server, slug) == ([1], [])

    # 6. A respondent answers it (the generic answers choose each question's first choice).
    count = completed(slug)
    person = respondent(EXAMPLE, "ru")  # the same questionnaire as the example...
    person.slug = slug  # ...answered at the new survey's address
    person.start()
    person.answer_all()
    person.submit()
    assert len(count.new()) == 1 and count.new()[0].answers["gender"] == "female"

    # 7. A choice that was answered is removed: the diff warns, publishing needs a confirmation.
    page.goto(f"/surveys/{slug}/edit?lang=en")
    document = json.loads(editor_text(page))
    gender = document["pages"][0]["questions"][0]
    assert gender["id"] == "gender" and gender["choices"][0]["value"] == "female"
    gender["choices"].pop(0)
    set_editor_text(page, json.dumps(document, ensure_ascii=False, indent=2))
    save(page)
    expect(page.locator("#problems")).to_contain_text("No problems")
    with page.expect_navigation():
        page.get_by_role("link", name="Review the changes and publish").click()
    main = page.locator("main")
    expect(main).to_contain_text("Changes since version 1")
    expect(main).to_contain_text("choice 'female' removed")
    expect(page.locator(".change.orphans")).to_contain_text("Collected answers will not fit")
    expect(page.locator(".orphan-warning")).to_contain_text("1 response")
    with page.expect_navigation():
        page.get_by_role("button", name="Publish version 2").click()  # not confirmed: refused
    expect(page.locator("#publish-error")).to_contain_text("Tick the box")
    assert versions_and_responses(live_server, slug) == ([1], [1])
    page.locator('input[name="confirm"]').check()
    with page.expect_navigation():
        page.get_by_role("button", name="Publish version 2").click()
    expect(page.locator(".flash")).to_contain_text("Version 2")
    assert versions_and_responses(live_server, slug) == ([1, 2], [1])  # the response keeps its version


def test_the_editor_works_without_javascript(live_server, tabs):
    page = tabs.open(javascript=False, viewport="mobile")
    log_in(page)
    page.locator('input[name="title"]').fill("Без JavaScript")
    with page.expect_navigation():
        page.get_by_role("button", name="Create a draft", exact=True).click()
    textarea = page.locator("textarea#definition")
    expect(textarea).to_be_visible()
    text = textarea.input_value()
    textarea.fill(text.replace('"type": "text"', '"type": "txt"'))
    with page.expect_navigation():
        page.get_by_role("button", name="Save draft").click()
    link = page.locator("#problems a.problem-link").first
    assert link.get_attribute("href") == "#definition" and int(link.get_attribute("data-line")) > 0
    expect(page.locator("#problems .problem-excerpt").first).to_contain_text('"txt"')
    # the outline needs no JavaScript either
    with page.expect_navigation():
        page.get_by_role("button", name="Add the question").click()
    expect(page.locator(".flash")).to_contain_text("new question")
    assert page.locator("#outline .outline-item").count() == 2


def test_the_workspace_pages_pass_axe(live_server, tabs, axe):
    page = tabs.open(viewport="desktop", bypass_csp=True)
    log_in(page)
    found = []
    for path in ("/", f"/surveys/{EXAMPLE}/edit", f"/surveys/{EXAMPLE}/publish", f"/surveys/{EXAMPLE}/share",
                 f"/surveys/{EXAMPLE}/preview/about_you"):
        page.goto(path)
        severe = [violation for violation in axe.violations(page) if violation["impact"] in axe.SEVERE]
        if severe:
            found.append(axe.describe(path, severe))
    assert not found, "\n".join(found)
