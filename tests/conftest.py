"""Fixtures: an app per test on SQLite and on PostgreSQL, a client, a CLI runner, accounts.

Every test that uses ``app`` runs once per database backend. PostgreSQL is the
server on 127.0.0.1:5432 (database ``test``; override with
``SURVEY_APP_TEST_POSTGRES``). When it cannot be reached the PostgreSQL runs
fail with a clear message; set ``SURVEY_APP_SKIP_POSTGRES=1`` to skip them.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from survey_app import create_app, db, migrate
from survey_app.auth.passwords import hash_password
from survey_app.cli import build_cli
from survey_app.models import Base, Role, User
from tests.helpers import PASSWORD

POSTGRES_URL = os.environ.get("SURVEY_APP_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SKIP_POSTGRES = os.environ.get("SURVEY_APP_SKIP_POSTGRES") == "1"
ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _base_config(tmp_path: Path, url: str) -> dict:
    return {"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "test-" + uuid.uuid4().hex,
            "WTF_CSRF_ENABLED": True, "BABEL_DEFAULT_LOCALE": "en", "JOBS_FOLDER": str(tmp_path / "jobs")}


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite database file, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    app = create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "template"})
    migrate.upgrade(app)
    db.database(app).engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema():
    """A fresh, migrated schema in the PostgreSQL test database, dropped at the end."""
    if SKIP_POSTGRES:
        pytest.skip("SURVEY_APP_SKIP_POSTGRES=1")
    schema = f"survey_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL)
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is not reachable ({error.orig}); "
                    "start it or set SURVEY_APP_SKIP_POSTGRES=1 to skip the PostgreSQL runs", pytrace=False)
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "template"})
    migrate.upgrade(app)
    db.database(app).engine.dispose()
    yield url
    with admin.begin() as connection:
        connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path) -> str:
    """The URL of an empty, migrated database of the backend under test."""
    if request.param == "sqlite":
        target = tmp_path / "survey.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    url = request.getfixturevalue("postgres_schema")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
        connection.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    engine.dispose()
    return url


@pytest.fixture
def app(database_url, tmp_path):
    """An app on a fresh database, with CSRF protection on (as in production)."""
    application = create_app(_base_config(tmp_path, database_url))
    yield application
    db.database(application).engine.dispose()


@pytest.fixture
def client(app):
    """A test client of ``app``."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """Invoke ``survey-app`` commands against ``app``."""
    cli = build_cli(app)

    def invoke(*args: str, **kwargs):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)

    return invoke


@pytest.fixture
def make_user(app):
    """Create an account: ``make_user("staff", email=...)``."""

    def make(role: str = "researcher", email: str | None = None) -> User:
        with app.app_context():
            session = db.session()
            user = User(email=email or f"{role}-{uuid.uuid4().hex[:6]}@example.org", name=role.title(),
                        role=Role(role), password_hash=hash_password(PASSWORD))
            session.add(user)
            session.commit()
            return user

    return make
