"""The plugin system: discovery, per-survey sections, every hook, and failures that lose nothing."""
from __future__ import annotations

import ast
import io
import json
import re
from pathlib import Path

import pytest
from flask import template_rendered
from sqlalchemy import select

from survey_app import create_app, db, hookspecs, plugins, question_types
from survey_app.cli import build_cli
from survey_app.models import PluginFailure, Response, ResponseMetric, ResponseStatus, SurveyStatus
from survey_app.questionnaire import find_problems
from survey_app.surveys import import_survey, load_checked
from tests import plugin_example
from tests.conftest import _base_config
from tests.helpers import Respondent, login

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = json.loads((Path(__file__).parent / "data" / "all-types.json").read_text("utf-8"))
HOOKS = sorted(name for name in dir(hookspecs) if hasattr(getattr(hookspecs, name), "survey_app_spec"))


def with_section(section: dict) -> dict:
    return {**DOCUMENT, "plugins": {"example": section}}


@pytest.fixture
def plugin_app(database_url, tmp_path):
    """An app with the example plugin registered directly, as tests of third-party plugins do."""
    application = create_app(_base_config(tmp_path, database_url), plugins=[plugin_example])
    yield application
    db.database(application).engine.dispose()


@pytest.fixture
def survey(plugin_app, make_user_in):
    owner = make_user_in(plugin_app, "researcher")
    with plugin_app.app_context():
        session = db.session()
        questionnaire = load_checked(json.dumps(with_section({"message": "<b>merci</b>"})))
        survey, _ = import_survey(session, questionnaire, owner, status=SurveyStatus.OPEN)
        session.commit()
        return survey.slug


@pytest.fixture
def make_user_in():
    from survey_app.auth.passwords import hash_password
    from survey_app.models import Role, User
    from tests.helpers import PASSWORD

    def make(app, role: str, email: str = "owner@example.org"):
        with app.app_context():
            session = db.session()
            user = User(email=email, name=role, role=Role(role), password_hash=hash_password(PASSWORD))
            session.add(user)
            session.commit()
            return user

    return make


def complete(client, slug: str) -> str:
    respondent = Respondent(client, slug)
    for page, answers in (("first", {"gender": "male", "age": "30"}),
                          ("second", {"grid.row_a": "good", "grid.row_b": "bad"}), ("third", {})):
        respondent.open(page)
        assert respondent.post(page, answers).status_code == 302
    return respondent.submit().headers["Location"]


def metrics(app) -> dict[str, float]:
    with app.app_context():
        rows = db.session().execute(select(ResponseMetric).where(ResponseMetric.plugin == "example")).scalars()
        return {row.name: row.number for row in rows}


def test_every_hook_is_documented_and_tested():
    documentation = (ROOT / "docs" / "plugins.md").read_text("utf-8")
    tests = {node.name for node in ast.walk(ast.parse(Path(__file__).read_text("utf-8")))
             if isinstance(node, ast.FunctionDef)}
    assert HOOKS, "no hook specifications found"
    for name in HOOKS:
        assert re.search(rf"^### {name}\(", documentation, re.MULTILINE), f"docs/plugins.md lacks a section for {name}"
        assert f"test_hook_{name}" in tests, f"no test_hook_{name} in tests/test_plugins.py"
        assert getattr(hookspecs, name).__doc__, f"hook {name} has no docstring"


def test_the_built_in_plugins_are_found_through_entry_points(app):
    loaded = {info.name: info for info in plugins.describe_plugins(app)}
    assert {"scoring", "breakdowns"} <= set(loaded)
    assert loaded["scoring"].source == "entry point of survey-app"
    assert "validate_questionnaire" in loaded["scoring"].hooks


def test_the_core_never_imports_the_built_in_plugins():
    for path in (ROOT / "survey_app").rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(name.split(".")[0] in ("plugins", "survey_plugins") for name in names), path


def test_the_plugins_command_lists_plugins_and_their_hooks(runner):
    result = runner("plugins")
    assert result.exit_code == 0
    assert "scoring 0.1.0 (entry point of survey-app)" in result.output
    assert re.search(r"hooks: .*validate_questionnaire", result.output)


def test_a_disabled_plugin_is_not_loaded_and_its_section_is_still_accepted(database_url, tmp_path):
    application = create_app({**_base_config(tmp_path, database_url), "DISABLED_PLUGINS": "scoring, breakdowns"})
    names = {info.name for info in plugins.describe_plugins(application)}
    assert "scoring" not in names and "breakdowns" not in names
    document = {**DOCUMENT, "plugins": {"scoring": {"anything": True}}}
    assert find_problems(json.dumps(document), check_plugins=plugins.questionnaire_checker(application)) == []
    db.database(application).engine.dispose()


def test_the_platform_runs_with_every_built_in_plugin_disabled(database_url, tmp_path, make_user_in):
    disabled = ",".join(plugins.installed_entry_points())
    application = create_app({**_base_config(tmp_path, database_url), "DISABLED_PLUGINS": disabled})
    assert plugins.describe_plugins(application) == []
    owner = make_user_in(application, "researcher")
    with application.app_context():
        session = db.session()
        import_survey(session, load_checked(json.dumps(DOCUMENT), application), owner, status=SurveyStatus.OPEN)
        session.commit()
    client = application.test_client()
    assert "/done" in complete(client, "all-types")
    login(client, "owner@example.org")
    dashboard = client.get("/").get_data(as_text=True)
    assert "all-types" in dashboard and re.search(r'data-label="Responses">1\b', dashboard)
    db.database(application).engine.dispose()


def test_an_unknown_section_is_reported_with_a_suggestion(plugin_app):
    document = {**DOCUMENT, "plugins": {"exampel": {}}}
    problems = find_problems(json.dumps(document), check_plugins=plugins.questionnaire_checker(plugin_app))
    assert [(p.path, p.message) for p in problems] == [
        ("/plugins/exampel", "no installed plugin reads the section 'exampel' (did you mean 'example'?)")]


def test_hook_register_routes(plugin_app):
    assert plugin_app.test_client().get("/example/ping").get_data(as_text=True) == "pong"


def test_hook_register_commands(plugin_app):
    from click.testing import CliRunner

    result = CliRunner().invoke(build_cli(plugin_app), ["example-hello"])
    assert result.output == "hello from the example plugin\n"


def test_hook_register_question_types(plugin_app, make_user_in):
    assert question_types.registry(plugin_app)["geopoint"] is plugin_example.GEOPOINT
    page = {"id": "map", "questions": [{"id": "place", "type": "geopoint", "label": "Where?"}]}
    document = {**DOCUMENT, "pages": [*DOCUMENT["pages"], page]}
    assert "'geopoint' is not a question type installed here" in str(find_problems(json.dumps(document)))
    owner = make_user_in(plugin_app, "researcher")
    with plugin_app.app_context():
        session = db.session()
        questionnaire = load_checked(json.dumps(document))
        assert questionnaire.questions["place"].plugin_type is plugin_example.GEOPOINT
        import_survey(session, questionnaire, owner, status=SurveyStatus.OPEN)
        session.commit()
    respondent = Respondent(plugin_app.test_client(), "all-types")
    respondent.open("map")
    assert respondent.post("map", {"place": "43.2383 76.9453"}).status_code == 302
    with plugin_app.app_context():
        assert db.session().execute(select(Response)).scalar_one().data["answers"]["place"] == "43.2383, 76.9453"


def test_hook_plugin_sections(plugin_app):
    document = with_section({})
    assert find_problems(json.dumps(document), check_plugins=plugins.questionnaire_checker(plugin_app)) == []


def test_hook_validate_questionnaire(plugin_app):
    problems = find_problems(json.dumps(with_section({"forbidden": True})),
                             check_plugins=plugins.questionnaire_checker(plugin_app))
    assert [(p.path, p.message) for p in problems] == [("/plugins/example/forbidden", "the example plugin forbids this")]


def test_a_plugin_that_raises_while_validating_gives_a_problem_not_a_crash(plugin_app):
    class Broken:
        @staticmethod
        @plugins.hookspecs.hookimpl
        def validate_questionnaire(questionnaire):
            raise KeyError("oops")

    plugins.manager(plugin_app).register(Broken(), name="broken")
    problems = find_problems(json.dumps(DOCUMENT), check_plugins=plugins.questionnaire_checker(plugin_app))
    assert len(problems) == 1 and problems[0].path == "/plugins" and "KeyError" in problems[0].message


def test_hook_page_saved(plugin_app, survey):
    respondent = Respondent(plugin_app.test_client(), survey)
    respondent.open("first")
    respondent.post("first", {"gender": "male", "age": "30"})
    respondent.open("first")
    respondent.post("first", {"gender": "male", "age": "31"})
    assert metrics(plugin_app) == {"saved.first": 2}


def test_hook_response_completed(plugin_app, survey):
    complete(plugin_app.test_client(), survey)
    assert metrics(plugin_app)["completed"] == 1


def test_hook_response_columns(plugin_app):
    questionnaire = load_checked(json.dumps(with_section({})), plugin_app)
    [[column]] = [found for found in plugins.hook(plugin_app).response_columns(questionnaire=questionnaire) if found]
    assert column.key == "example.completed"


def test_hook_result_sections(plugin_app, survey, make_user_in):
    client = plugin_app.test_client()
    complete(client, survey)
    login(client, "owner@example.org")
    page = client.get(f"/surveys/{survey}/results")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Example section" in html and "Completed" in html
    with plugin_app.app_context():
        from survey_app.models import Survey
        from survey_app.results.tables import ResultFilters

        survey_id = db.session().execute(select(Survey.id).where(Survey.slug == survey)).scalar_one()
        from survey_app.results.queries import SurveyResults

        questionnaire = load_checked(json.dumps(with_section({})), plugin_app)
        sections = [found for found in plugins.hook(plugin_app).result_sections(
            survey_id=survey_id, questionnaire=questionnaire, filters=ResultFilters(), session=db.session(),
            results=SurveyResults(db.session(), survey_id, questionnaire, ResultFilters())) if found]
    [[section]] = sections
    assert section.tables[0].rows[0].count == 1


def test_hook_breakdown_variables(plugin_app, make_user_in):
    owner = make_user_in(plugin_app, "researcher")
    with plugin_app.app_context():
        session = db.session()
        document = with_section({"break_down_by": "gender"})
        import_survey(session, load_checked(json.dumps(document)), owner, status=SurveyStatus.OPEN)
        session.commit()
    client = plugin_app.test_client()
    login(client, "owner@example.org")
    html = client.get("/surveys/all-types/results").get_data(as_text=True)
    assert re.search(r'<option value="gender"', html), "the plugin's variable is offered"
    assert '<option value="pregnant_question"' not in html  # a yes/no question no plugin offered


def test_hook_register_export_formats(plugin_app):
    export_format = plugins.export_formats(plugin_app)["example-txt"]
    target = io.BytesIO()
    export_format.write(target, survey_id=7)
    assert (target.getvalue(), export_format.filename("s")) == (b"survey 7\n", "s.txt")


def test_two_formats_with_one_name_stop_the_app_at_start_up(database_url, tmp_path):
    class Twin:
        register_export_formats = staticmethod(plugins.hookspecs.hookimpl(plugin_example.register_export_formats))

    with pytest.raises(plugins.StartupError, match="example-txt"):
        create_app(_base_config(tmp_path, database_url), plugins=[plugin_example, Twin()])


def test_hook_extra_template_vars(plugin_app):
    seen = []

    def record(sender, template, context, **extra):
        seen.append(context.get("example_template_seen"))

    with template_rendered.connected_to(record, plugin_app):
        plugin_app.test_client().get("/account/login")
    assert seen == ["auth/login.html"]


def test_hook_page_snippets(plugin_app, survey):
    client = plugin_app.test_client()
    thanks = client.get(complete(client, survey)).get_data(as_text=True)
    assert '<p class="example-snippet">&lt;b&gt;merci&lt;/b&gt;</p>' in thanks


def test_a_failing_plugin_loses_no_answers_and_staff_see_the_failure(plugin_app, survey):
    class Failing:
        @staticmethod
        @plugins.hookspecs.hookimpl
        def response_completed(response):
            raise RuntimeError("score table missing")

    plugins.manager(plugin_app).register(Failing(), name="failing")
    client = plugin_app.test_client()
    thanks = client.get(complete(client, survey))
    assert thanks.status_code == 200
    with plugin_app.app_context():
        session = db.session()
        response = session.execute(select(Response)).scalar_one()
        assert response.status is ResponseStatus.COMPLETE
        failure = session.execute(select(PluginFailure)).scalar_one()
        assert (failure.plugin, failure.hook, failure.response_id) == ("failing", "response_completed", response.id)
        assert failure.message == "RuntimeError: score table missing"
    assert metrics(plugin_app)["completed"] == 1  # the other plugins still ran
    login(client, "owner@example.org")
    dashboard = client.get("/").get_data(as_text=True)
    assert "1 plugin failure" in dashboard and "score table missing" in dashboard
