"""A question of a plugin's type in a real browser: live show/hide reads its input, and
the page the core draws around it passes axe-core."""
from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Iterator

import pytest

from survey_app import create_app, db, migrate
from survey_app.auth.passwords import hash_password
from survey_app.models import Role, SurveyStatus, User
from survey_app.surveys import import_survey, load_checked
from tests import plugin_example
from tests.browser.conftest import LIVE_MS, Axe, Tabs
from tests.helpers import PASSWORD
from tests.test_question_types import DOCUMENT

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def geo_url(tmp_path_factory) -> Iterator[str]:
    """An app with the example plugin on a fresh SQLite file, DOCUMENT open, served in a thread."""
    from werkzeug.serving import make_server

    path = tmp_path_factory.mktemp("geo") / "survey.sqlite3"
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": uuid.uuid4().hex},
                     plugins=[plugin_example])
    migrate.upgrade(app)
    with app.app_context():
        session = db.session()
        owner = User(email="researcher@example.org", name="Researcher", role=Role("researcher"),
                     password_hash=hash_password(PASSWORD))
        session.add(owner)
        import_survey(session, load_checked(json.dumps(DOCUMENT)), owner, status=SurveyStatus.OPEN)
        session.commit()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="geo-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        db.database(app).engine.dispose()


@pytest.fixture
def geo_tabs(browser, geo_url) -> Iterator[Tabs]:
    opened = Tabs(browser, geo_url)
    yield opened
    opened.close()
    if opened.problems:
        pytest.fail("problems in the browser:\n  " + "\n  ".join(dict.fromkeys(opened.problems)), pytrace=False)


def test_typing_a_point_shows_the_question_that_depends_on_it(geo_tabs):
    page = geo_tabs.open(javascript=True)
    page.goto("/s/incident-map/p/where?lang=en")
    note = page.locator("#question-place_note")
    note.wait_for(state="hidden", timeout=LIVE_MS)
    page.get_by_label("Where did it happen?").fill("43.2383, 76.9453")  # the core's label names the plugin's input
    note.wait_for(state="visible", timeout=LIVE_MS)
    page.get_by_label("Where did it happen?").fill("")
    note.wait_for(state="hidden", timeout=LIVE_MS)


def test_the_question_and_its_error_pass_axe(geo_tabs, axe: Axe):
    page = geo_tabs.open(javascript=True, bypass_csp=True)
    page.goto("/s/incident-map/p/where?lang=ru")
    page.get_by_label("Where did it happen?").fill("95, 10")
    page.locator("button[value=next]").click()
    error = page.locator("#place-error")
    assert "Широта должна быть от -90 до 90" in error.inner_text()
    assert page.get_by_label("Where did it happen?").get_attribute("aria-describedby") == "place-hint place-error"
    severe = [violation for violation in axe.violations(page) if violation["impact"] in Axe.SEVERE]
    assert not severe, Axe.describe("the geopoint page with an error", severe)
