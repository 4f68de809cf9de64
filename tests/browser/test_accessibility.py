"""Every kind of respondent page: axe-core finds nothing serious, it fits a phone, and a
screenshot of it at 360 and 1280 px goes to test-artifacts/screenshots/ for people to look at."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import VIEWPORTS, Axe

pytestmark = pytest.mark.browser

PHONE = VIEWPORTS["mobile"]["width"]


def tour(respondent, page) -> Iterator[str]:
    """Walk ``page`` through each kind of page, yielding a name for each stop."""
    expert = respondent("expert-survey", "kk", page=page)
    expert.welcome()
    yield "welcome"
    expert.start()
    yield "question"  # choices, a number, yes/no
    expert.press("next")
    yield "errors"  # nothing answered
    expert.answer_page()
    expert.continue_()
    yield "matrix"  # ratings with labelled ends, a matrix, a ranking
    expert.answer_page()
    expert.continue_()
    expert.answer_page({"legal_framework_adequacy": "partly", "trend_five_years": "expanded"})
    yield "shown-by-logic"
    expert.continue_()
    expert.answer_page()
    expert.continue_()
    yield "review"
    expert.submit()
    yield "thank-you"

    observer = respondent("polling-station-observation", "ru", page=page)
    page.goto("/s/polling-station-observation/p/visit?lang=ru")
    yield "dropdown-date-text"
    page.goto("/s/polling-station-observation/p/incidents_page")
    observer.press("add:incidents")
    yield "repeat"
    observer.press("save_later")
    yield "save-later"


def overflow(page) -> list[str]:
    """What sticks out to the right of the window (the page then scrolls sideways)."""
    return page.evaluate("""() => {
      const width = document.documentElement.clientWidth;
      if (document.documentElement.scrollWidth <= width) return [];
      return Array.from(document.querySelectorAll("main *, header *"))
        .filter(e => e.getBoundingClientRect().right > width + 1 && !e.closest(".visually-hidden"))
        .map(e => `<${e.tagName.toLowerCase()} class="${e.className}"> ends at ${Math.round(e.getBoundingClientRect().right)}px: `
                  + (e.textContent || e.value || "").trim().slice(0, 60));
    }""")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_each_kind_of_page_is_photographed_and_has_no_serious_accessibility_violation(
        respondent, tabs, axe, screenshots, viewport, capsys):
    """One tour per viewport does both (to keep the suite fast): a full-page screenshot of
    each stop, then axe-core; the violations are reported together at the end."""
    page = tabs.open(viewport=viewport, bypass_csp=True)  # the CSP would block the injected axe-core
    width = VIEWPORTS[viewport]["width"]
    severe, minor, taken = [], [], []
    for stop in tour(respondent, page):
        path = screenshots / f"{stop}-{width}.png"
        page.screenshot(path=path, full_page=True)  # before axe-core is injected
        taken.append(path)
        violations = axe.violations(page)
        where = f"{stop} page ({viewport}, {page.url})"
        severe += [Axe.describe(where, [v]) for v in violations if v["impact"] in Axe.SEVERE]
        minor += [Axe.describe(where, [v]) for v in violations if v["impact"] not in Axe.SEVERE]
    assert len(taken) == 10 and all(path.stat().st_size > 1000 for path in taken)
    with capsys.disabled():
        if minor:
            print("\naxe-core, moderate and minor (not failing):\n" + "\n".join(minor))
    assert not severe, "axe-core found serious or critical violations:\n" + "\n".join(severe)


def question_pages(live_server, languages=("kk", "ru", "en")) -> Iterator[str]:
    """The address of every question page reached without earlier answers, in ``languages``."""
    for slug, questionnaire in live_server.questionnaires.items():
        for language in languages:
            for survey_page in questionnaire.pages:
                if survey_page.show_if is None:
                    yield f"/s/{slug}/p/{survey_page.id}?lang={language}"


def test_every_question_page_fits_a_phone(tabs, live_server):
    page = tabs.open(viewport="mobile")
    too_wide = {}
    for path in question_pages(live_server, languages=("kk", "ru")):  # the longest words
        page.goto(path)
        if found := overflow(page):
            too_wide[path] = found
    assert not too_wide, f"wider than a {PHONE}px phone: {too_wide}"


BROKEN_REFERENCES = r"""() => {
  const problems = [];
  const exists = id => document.getElementById(id) !== null;
  for (const element of document.querySelectorAll("[aria-describedby], [aria-labelledby], label[for]")) {
    for (const name of ["aria-describedby", "aria-labelledby", "for"]) {
      for (const id of (element.getAttribute(name) || "").split(/\s+/).filter(Boolean)) {
        if (!exists(id)) problems.push(`${name}="${element.getAttribute(name)}" on <${element.tagName.toLowerCase()} id="${element.id}">: no element has the id ${id}`);
      }
    }
  }
  for (const link of document.querySelectorAll('a[href^="#"]')) {
    const id = decodeURIComponent(link.getAttribute("href").slice(1));
    if (id && !exists(id)) problems.push(`<a href="${link.getAttribute("href")}">: no element has the id ${id}`);
  }
  for (const element of document.querySelectorAll("*")) {
    for (const attribute of element.attributes) {
      if (attribute.value === "None") problems.push(`${attribute.name}="None" on <${element.tagName.toLowerCase()} id="${element.id}">`);
    }
  }
  const ids = Array.from(document.querySelectorAll("[id]"), element => element.id);
  ids.filter((id, index) => ids.indexOf(id) !== index).forEach(id => problems.push(`the id ${id} is used twice`));
  return problems;
}"""


def test_every_reference_between_elements_resolves(tabs, live_server):
    page = tabs.open(javascript=False)
    problems = {}
    for path in [*question_pages(live_server, languages=("en",))]:
        page.goto(path)
        if found := page.evaluate(BROKEN_REFERENCES):
            problems[path] = sorted(set(found))
    page.goto("/s/expert-survey/p/expert_profile")
    page.locator('button[name="action"][value="next"]').click()  # a page with errors and their links
    page.wait_for_selector(".error-summary")
    if found := page.evaluate(BROKEN_REFERENCES):
        problems["errors on /s/expert-survey/p/expert_profile"] = sorted(set(found))
    assert not problems, "\n".join(f"{path}:\n    " + "\n    ".join(found) for path, found in problems.items())


def test_the_review_page_fits_a_phone_when_an_answer_is_a_long_link(respondent):
    person = respondent("women-local-elections", "ru", viewport="mobile")
    person.start()
    person.answer_all({"results": {"candidates_total": 3, "women_candidates": 1},
                       "source": {"data_source": ["cec_website"],
                                  "source_url": "https://www.election.gov.kz/rus/news/releases/"}})
    assert overflow(person.page) == []
