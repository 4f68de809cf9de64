"""The browser reads the questionnaire's logic exactly as the server does."""
from __future__ import annotations

import json

import pytest

from survey_app.questionnaire.expressions import parse_expression
from survey_app.responses.logic import resolve
from tests.browser.conftest import ROOT

pytestmark = pytest.mark.browser

CASES = json.loads((ROOT / "tests" / "expression_cases.json").read_text(encoding="utf-8"))


def same(a: object, b: object) -> bool:
    """Equal as JSON values: 2 and 2.0 are the same, 1 and true are not."""
    def kind(value: object) -> str:
        return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__

    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(same, a, b))
    return kind(a) == kind(b) and a == b


def test_the_browser_interpreter_gives_the_expected_value_of_every_shared_case(tabs):
    page = tabs.open(javascript=True)
    page.goto("/s/access-to-information/p/body")  # a page with rules loads logic.js from the app
    assert page.locator('script[src="/static/js/logic.js"]').count() == 1
    page.wait_for_function("() => typeof window.SurveyLogic === 'object'")
    items = [{"tree": parse_expression(case["source"]).to_json(), "values": case["values"]} for case in CASES]
    results = page.evaluate("items => items.map(item => window.SurveyLogic.evaluate(item.tree, item.values))", items)
    assert len(results) == len(CASES) > 150
    wrong = [f"{case['source']}  with {json.dumps(case['values'], ensure_ascii=False)}: "
             f"expected {json.dumps(case['expected'])}, the browser gives {json.dumps(result)}"
             for case, result in zip(CASES, results, strict=True) if not same(result, case["expected"])]
    assert not wrong, "\n".join(wrong)


def test_a_question_hidden_on_the_page_no_longer_counts_in_the_rules(respondent):
    person = respondent("access-to-information", "en")
    person.page.goto("/s/access-to-information/p/information_request?lang=en")
    person.choose("request_sent", "yes")
    person.choose("request_response_timely", "no")
    person.expect_shown("request_response_timely", "request_problem_details")

    person.choose("request_sent", "no")  # the timeliness question goes, and its "no" with it
    server = resolve(person.questionnaire, {"request_sent": "no", "request_response_timely": "no"})
    assert "request_problem_details" not in server.visible_questions
    person.expect_hidden("request_response_timely")
    person.expect_hidden("request_problem_details")  # still shown: its rule read the hidden "no"
