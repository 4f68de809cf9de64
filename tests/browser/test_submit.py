"""The final submit stores one response, however often it arrives."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.browser

SLUG = "women-local-elections"
SEND = f'form[action="/s/{SLUG}/submit"] button[type="submit"]'

RESEND = """async ([url, form]) => {
  const reply = await fetch(url, {method: "POST", body: new URLSearchParams(form)});
  return {status: reply.status, url: reply.url, html: await reply.text()};
}"""


def test_a_double_click_a_resent_post_and_a_stale_tab_store_one_response(respondent, tabs, live_server, completed):
    count = completed(SLUG)
    person = respondent(SLUG, "ru", viewport="desktop")
    page = person.page
    person.start()
    assert person.answer_all() == ["election", "results", "source"]  # no women candidates by default
    form = {"csrf_token": page.locator(f'form[action="/s/{SLUG}/submit"] input[name="csrf_token"]').input_value(),
            "submission_id": person.submission_id}
    stale = tabs.another(page)  # a second tab still showing the review page
    stale.goto(f"/s/{SLUG}/review")
    assert stale.locator('input[name="submission_id"]').input_value() == form["submission_id"]

    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.locator(SEND).dblclick()  # two rapid clicks
    page.wait_for_url(f"**/s/{SLUG}/done?receipt={form['submission_id']}")
    receipt = person.check_thank_you()
    assert receipt == form["submission_id"][:8].upper()
    assert posts and set(posts) == {f"{live_server.url}/s/{SLUG}/submit"}, posts
    clicks = len(posts)

    again = page.evaluate(RESEND, [f"/s/{SLUG}/submit", form])  # the same POST once more (a retry)
    assert again["status"] == 200 and urlsplit(again["url"]).path == f"/s/{SLUG}/done"
    assert f'<strong class="receipt">{receipt}</strong>' in again["html"]

    with stale.expect_navigation():
        stale.locator(SEND).click()
    assert urlsplit(stale.url).path == f"/s/{SLUG}/done"
    assert stale.locator(".receipt").inner_text() == receipt

    [stored] = count.new()
    assert stored.submission_id == form["submission_id"]
    assert stored.answers == person.expected_answers()  # no candidates: no shares calculated
    assert [r.submission_id for r in live_server.responses(SLUG)].count(form["submission_id"]) == 1
    print(f"the double click sent {clicks} POST(s) to /submit")
