"""Database migrations with Alembic (scripts in the top-level ``migrations/`` folder)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask

from survey_app.db import database

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(app: Flask) -> Config:
    """An Alembic configuration bound to ``app``'s database engine."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = database(app).engine
    return config


def upgrade(app: Flask, revision: str = "head") -> None:
    """Bring ``app``'s database up to ``revision`` (default: the newest)."""
    command.upgrade(alembic_config(app), revision)
