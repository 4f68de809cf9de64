"""A question page is light enough for a slow mobile connection."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

BUDGET = 60 * 1024  # bytes of HTML, CSS and JavaScript on a first visit, before any compression

ASSETS = """() => Array.from(document.querySelectorAll('link[rel="stylesheet"], script[src], img[src]'))
  .map(element => element.href || element.src)"""


def first_load(page, path: str) -> dict[str, int]:
    """Bytes of each file ``page`` (with an empty cache) fetches to show ``path``."""
    replies = []
    listener = lambda reply: replies.append(reply)  # noqa: E731
    page.on("response", listener)
    page.goto(path, wait_until="load")
    page.remove_listener("response", listener)
    return {reply.url: len(reply.body()) for reply in replies if reply.status == 200}


def test_the_first_load_of_every_question_page_is_under_60_kb(tabs, live_server):
    page = tabs.open(javascript=True)
    asset_sizes: dict[str, int] = {}
    totals = {}
    for slug, questionnaire in live_server.questionnaires.items():
        for survey_page in questionnaire.pages:
            if survey_page.show_if is None:  # the others are only reached through earlier answers
                path = f"/s/{slug}/p/{survey_page.id}"
                html = len(page.goto(path).body())
                assets = page.evaluate(ASSETS)
                for url in assets:
                    if url not in asset_sizes:
                        asset_sizes[url] = len(page.request.get(url).body())
                totals[path] = html + sum(asset_sizes[url] for url in assets)
    too_heavy = {path: total for path, total in totals.items() if total >= BUDGET}
    assert not too_heavy, f"over {BUDGET} bytes: {too_heavy}"

    heaviest = max(totals, key=totals.get)  # measured again, as a real first visit
    files = first_load(tabs.open(javascript=True), heaviest)
    print(f"\nheaviest first load: {heaviest}: {sum(files.values())} bytes {files}")
    assert any(url.endswith(".css") for url in files), files
    assert sum(files.values()) == totals[heaviest] < BUDGET
