"""The survey-app command line, against a real database."""
import json
from pathlib import Path

from sqlalchemy import func, select

from survey_app import db
from survey_app.models import QuestionnaireVersion, Role, Survey, SurveyStatus, User

MINIMAL = {
    "id": "tiny-survey", "version": "1", "languages": ["ru", "en"],
    "title": {"ru": "Опрос", "en": "Survey"},
    "pages": [{"id": "p1", "questions": [
        {"id": "age", "type": "integer", "min": 16, "label": {"ru": "Возраст", "en": "Age"}},
    ]}],
}


def write(tmp_path: Path, document: dict, name: str = "q.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_validate_lists_every_problem_and_fails(runner, tmp_path):
    broken = json.loads(json.dumps(MINIMAL))
    broken["pages"][0]["questions"][0].update({"max": 10, "show_if": "agee > 3"})
    result = runner("validate", str(write(tmp_path, MINIMAL, "good.json")), str(write(tmp_path, broken, "bad.json")))
    assert result.exit_code == 1
    assert "good.json: ok" in result.output
    assert "bad.json: 2 problems" in result.output
    assert "/pages/0/questions/0/min: 'min' (16) is greater than 'max' (10)" in result.output
    assert "did you mean 'age'?" in result.output
    assert "Traceback" not in result.output


def test_validate_reports_malformed_json_with_line_and_column(runner, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "id": "x",\n  "version": 1,,\n}', encoding="utf-8")
    result = runner("validate", str(path))
    assert result.exit_code == 1
    assert "line 3, column 16" in result.output


def test_import_creates_a_survey_then_a_second_version(app, runner, tmp_path, make_user):
    owner = make_user("researcher", email="owner@example.org")
    path = write(tmp_path, MINIMAL)
    assert runner("import", str(path), "--owner", "owner@example.org").exit_code == 0
    assert runner("import", str(path), "--owner", "owner@example.org").exit_code == 0  # identical: no new version
    changed = json.loads(json.dumps(MINIMAL))
    changed["version"] = "2"
    result = runner("import", str(write(tmp_path, changed)), "--owner", "owner@example.org", "--open")
    assert result.exit_code == 0, result.output
    assert "version 2 (open)" in result.output
    with app.app_context():
        survey = db.session().execute(select(Survey)).scalar_one()
        assert (survey.slug, survey.status, survey.owner_id, survey.title) == ("tiny-survey", SurveyStatus.OPEN, owner.id, "Опрос")
        numbers = db.session().execute(select(QuestionnaireVersion.number).order_by(QuestionnaireVersion.number)).scalars().all()
        assert numbers == [1, 2]


def test_import_refuses_a_slug_owned_by_someone_else(runner, tmp_path, make_user):
    make_user("researcher", email="first@example.org")
    make_user("researcher", email="second@example.org")
    path = write(tmp_path, MINIMAL)
    assert runner("import", str(path), "--owner", "first@example.org").exit_code == 0
    try:
        runner("import", str(path), "--owner", "second@example.org")
    except ValueError as error:
        assert "already taken" in str(error)
    else:
        raise AssertionError("a second owner took over the survey")


def test_create_user_hashes_the_password(app, runner):
    result = runner("create-user", "--email", "Staff@Example.org", "--role", "staff", "--password", "long enough password")
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session().execute(select(User)).scalar_one()
        assert (user.email, user.role) == ("staff@example.org", Role.STAFF)
        assert user.password_hash.startswith("$argon2id$")


def test_setup_creates_one_admin_and_loads_every_example(app, runner):
    first = runner("setup")
    assert first.exit_code == 0, first.output
    assert "First admin account: admin@example.org  password: " in first.output
    second = runner("setup", "--no-examples")
    assert "First admin account" not in second.output
    examples = sorted(Path(__file__).resolve().parent.parent.glob("questionnaires/*.json"))
    with app.app_context():
        session = db.session()
        assert session.execute(select(func.count()).select_from(User)).scalar_one() == 1
        slugs = set(session.execute(select(Survey.slug).where(Survey.status == SurveyStatus.OPEN)).scalars())
    assert slugs == {json.loads(path.read_text("utf-8"))["id"] for path in examples}


def test_every_example_questionnaire_validates(runner):
    examples = sorted(str(path) for path in Path(__file__).resolve().parent.parent.glob("questionnaires/*.json"))
    assert len(examples) == 5
    result = runner("validate", *examples)
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok") == 5


def test_an_xlsform_workbook_validates_and_imports(app, runner, make_user):
    workbook = Path(__file__).parent / "xlsform" / "multilingual.xlsx"
    make_user("researcher", email="owner@example.org")
    assert runner("validate", str(workbook)).output.endswith(": ok\n")
    result = runner("import", str(workbook), "--owner", "owner@example.org")
    assert result.exit_code == 0, result.output
    with app.app_context():
        survey = db.session().execute(select(Survey)).scalar_one()
        assert survey.latest_version.number == 1


def test_an_unsupported_xlsform_feature_is_reported_by_row(runner):
    result = runner("validate", str(Path(__file__).parent / "xlsform" / "choice_filter.xlsx"))
    assert result.exit_code == 1
    assert "/xlsform/survey/row/" in result.output and "choice_filter" in result.output
