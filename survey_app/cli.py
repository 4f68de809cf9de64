"""The ``survey-app`` command line: set up, migrate, validate and import questionnaires, serve."""
from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, ScriptInfo, pass_script_info, with_appcontext
from sqlalchemy import func, select

from survey_app import create_app, db, migrate, plugins
from survey_app.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from survey_app.demo_data import demo_data_command
from survey_app.jobs.command import worker_command
from survey_app.models import Role, SurveyStatus, User
from survey_app.questionnaire.jsonsafe import too_large
from survey_app.surveys import checked_problems, import_survey, load_checked

EXAMPLES = Path(__file__).resolve().parent.parent / "questionnaires"


@click.group("db")
def db_group() -> None:
    """Manage the database schema."""


@db_group.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply every pending migration."""
    migrate.upgrade(current_app)
    click.echo("Database is up to date.")


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", default="")
@click.option("--role", type=click.Choice([role.value for role in Role]), default=Role.RESEARCHER.value)
@click.password_option(help=f"At least {MIN_PASSWORD_LENGTH} characters.")
@with_appcontext
def create_user(email: str, name: str, role: str, password: str) -> None:
    """Create an account."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.UsageError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    _add_user(email, name, Role(role), password)
    click.echo(f"Created {role} account {email.lower()}.")


def _add_user(email: str, name: str, role: Role, password: str) -> User:
    session = db.session()
    email = email.strip().lower()
    if session.execute(select(User).where(func.lower(User.email) == email)).scalar_one_or_none():
        raise click.UsageError(f"an account with the e-mail {email} already exists")
    user = User(email=email, name=name or email, role=role, password_hash=hash_password(password))
    db.begin_write(session)  # the server may be writing meanwhile
    session.add(user)
    session.commit()
    return user


@click.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def validate(files: tuple[Path, ...]) -> None:
    """Check questionnaire files (JSON or XLSForm .xlsx) and list every problem; exit 1 if any file has one."""
    failed = 0
    limit = current_app.config["MAX_QUESTIONNAIRE_BYTES"]
    for path in files:
        if path.stat().st_size > limit:  # never read a huge file into memory
            problems = [too_large(path.stat().st_size, limit)]
        else:
            problems = checked_problems(path.read_bytes())
        if problems:
            failed += 1
            click.echo(f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
            for problem in problems:
                click.echo(f"  {problem}")
        else:
            click.echo(f"{path}: ok")
    if failed:
        sys.exit(1)


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--owner", "owner_email", help="E-mail of the owning account (default: the first admin).")
@click.option("--open", "open_survey", is_flag=True, help="Open the survey to respondents at once.")
@with_appcontext
def import_command(files: tuple[Path, ...], owner_email: str | None, open_survey: bool) -> None:
    """Create surveys from questionnaire files, JSON or XLSForm .xlsx (a new version if the survey exists)."""
    owner = _owner(owner_email)
    for path in files:
        _import_file(path, owner, open_survey)


def _owner(email: str | None) -> User:
    session = db.session()
    query = select(User).where(func.lower(User.email) == email.lower()) if email else \
        select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1)
    owner = session.execute(query).scalar_one_or_none()
    if owner is None:
        raise click.UsageError("no such account; create one with `survey-app create-user`")
    return owner


def _import_file(path: Path, owner: User, open_survey: bool) -> None:
    from survey_app.questionnaire import QuestionnaireInvalid

    try:
        questionnaire = load_checked(path.read_bytes())
    except QuestionnaireInvalid as error:
        click.echo(f"{path}: not imported, {len(error.problems)} problem(s):")
        for problem in error.problems:
            click.echo(f"  {problem}")
        sys.exit(1)
    session = db.session()
    db.begin_write(session)
    survey, version = import_survey(session, questionnaire, owner)
    if open_survey:
        survey.status = SurveyStatus.OPEN
    session.commit()
    click.echo(f"{path}: survey '{survey.slug}' version {version.number} ({survey.status.value}) at /s/{survey.slug}")


@click.command("setup")
@click.option("--admin-email", default="admin@example.org", show_default=True)
@click.option("--examples/--no-examples", default=True, help="Import and open the example questionnaires.")
@with_appcontext
def setup(admin_email: str, examples: bool) -> None:
    """Migrate the database, create the first admin (once) and load the example questionnaires."""
    migrate.upgrade(current_app)
    session = db.session()
    if session.execute(select(User).where(User.role == Role.ADMIN)).first() is None:
        password = secrets.token_urlsafe(12)
        _add_user(admin_email, "Administrator", Role.ADMIN, password)
        click.secho(f"First admin account: {admin_email}  password: {password}", bold=True)
        click.echo("Log in at http://127.0.0.1:5000/account/login and change the password.")
    if examples:
        owner = _owner(None)
        for path in sorted(EXAMPLES.glob("*.json")):
            _import_file(path, owner, open_survey=True)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@pass_script_info
def serve(info: ScriptInfo, host: str, port: int) -> None:
    """Serve the platform for local use (in production run `gunicorn wsgi:app`)."""
    from werkzeug.serving import run_simple

    run_simple(host, port, info.load_app(), use_reloader=False, use_debugger=False, threaded=True)


@click.command("access-codes")
@click.argument("slug")
@click.option("--count", default=10, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def access_codes_command(slug: str, count: int) -> None:
    """Close a survey to invited respondents and print COUNT new one-time codes (shown only now)."""
    from survey_app.models import Survey
    from survey_app.respondent.access_codes import generate_codes

    session = db.session()
    db.begin_write(session)
    survey = session.execute(select(Survey).where(Survey.slug == slug)).scalar_one_or_none()
    if survey is None:
        raise click.UsageError(f"there is no survey '{slug}'")
    survey.requires_access_code = True
    codes = generate_codes(session, survey, count)
    session.commit()
    click.echo("\n".join(codes))


@click.command("plugins")
@with_appcontext
def plugins_command() -> None:
    """List the loaded plugins, where they come from, and the hooks each implements."""
    for info in plugins.describe_plugins(current_app):
        version = f" {info.version}" if info.version else ""
        click.echo(f"{info.name}{version} ({info.source})")
        click.echo(f"  hooks: {', '.join(info.hooks) or '-'}")


CORE_COMMANDS = (db_group, create_user, validate, import_command, setup, serve, plugins_command, access_codes_command,
                 demo_data_command, worker_command)


def build_cli(app: Flask | None = None) -> click.Group:
    """The command group for ``app`` (default: a new app), with every plugin's commands."""
    app = app or create_app()
    group = FlaskGroup(name="survey-app", create_app=lambda: app, add_version_option=False, load_dotenv=False,
                       help="Survey platform administration.")
    for command in CORE_COMMANDS:
        group.add_command(command)
    plugins.hook(app).register_commands(cli=group)
    return group


def main() -> None:
    """Entry point of the ``survey-app`` console script."""
    build_cli()()
