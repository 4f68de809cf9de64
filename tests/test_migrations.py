"""The Alembic migrations build exactly the models' schema, on every backend."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from survey_app import db
from survey_app.models import Base


def test_upgraded_database_matches_the_models(app):
    engine = db.database(app).engine
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


def test_upgrade_is_recorded_at_the_newest_revision(app):
    from alembic.script import ScriptDirectory

    from survey_app.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(app)).get_current_head()
    with db.database(app).engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head
