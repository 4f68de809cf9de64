"""Configuration: safe defaults, then environment variables, then a test mapping.

Every setting can be given as an environment variable of the same name
(``DATABASE_URL``, ``SECRET_KEY``, ``REDIS_URL``...). Nothing secret is a constant
in the code: without ``SECRET_KEY`` a random key is generated once and kept in the
instance folder, so sessions survive restarts and are shared by every worker that
uses the same instance folder.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any, Mapping

#: Settings read from the environment, with their defaults and types.
ENVIRONMENT_SETTINGS: dict[str, Any] = {
    "DATABASE_URL": None,  # default: SQLite file in the instance folder
    "REDIS_URL": None,
    "SECRET_KEY": None,
    "SESSION_COOKIE_SECURE": False,  # set true behind HTTPS
    "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
    "MAX_QUESTIONNAIRE_BYTES": 2 * 1024 * 1024,
    "DISABLED_PLUGINS": "",  # comma-separated plugin names
    "LOGIN_ATTEMPTS_PER_15_MINUTES": 10,
    "JOBS_FOLDER": None,  # background jobs' result files; default: the instance folder's "jobs"
    "JOB_QUEUE": "survey_app",  # the RQ queue of background jobs (with REDIS_URL)
    "EXPORT_BACKGROUND_THRESHOLD": 5000,  # exports of more responses are prepared in the background
    "RESULTS_BACKGROUND_THRESHOLD": 20000,  # more responses without kept result counts are counted in the background
}


def _coerce(value: str, default: Any) -> Any:
    """Turn an environment string into the type of the default value."""
    if isinstance(default, bool):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(value)
    return value


def load_config(instance_path: Path, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the app's configuration: defaults, environment, then ``overrides``."""
    config: dict[str, Any] = {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,  # a respondent may take hours on one page
        "WTF_I18N_ENABLED": False,  # WTForms' own messages are never shown: ours are translated
        "BABEL_DEFAULT_LOCALE": "ru",
        "INTERFACE_LANGUAGES": ("kk", "ru", "en"),
    }
    for name, default in ENVIRONMENT_SETTINGS.items():
        raw = os.environ.get(name)
        config[name] = default if raw in (None, "") else _coerce(raw, default)
    config.update(overrides or {})
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{instance_path / 'survey.sqlite3'}"
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _instance_secret(instance_path)
    config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    return config


def _instance_secret(instance_path: Path) -> str:
    """Read the instance's secret key, creating it (owner-readable only) exactly once.

    The key is written to a temporary file and linked into place, so a worker
    starting at the same moment never reads a half-written key.
    """
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        temporary = instance_path / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(temporary, key_file)
        except FileExistsError:
            pass  # another worker won the race: use its key
        finally:
            temporary.unlink()
    return key_file.read_text().strip()
