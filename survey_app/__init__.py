"""A survey and questionnaire platform for civil-society research."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from survey_app.hookspecs import hookimpl

__all__ = ["create_app", "hookimpl"]


def create_app(config: Mapping[str, Any] | None = None, plugins: Iterable[object] = ()) -> Flask:
    """Build the Flask application.

    ``config`` overrides settings (tests pass their database here); ``plugins``
    are extra plugin objects registered beside the discovered ones.
    """
    app = Flask(__name__, instance_relative_config=True)
    from survey_app.config import load_config

    app.config.update(load_config(Path(app.instance_path), config))

    from survey_app import db, extensions, plugins as plugin_system, question_types

    db.init_app(app)
    extensions.init_app(app)
    plugin_system.init_app(app, extra_plugins=plugins)
    question_types.init_app(app)

    from survey_app import errors, security, templating
    from survey_app.auth import views as auth_views
    from survey_app.admin import views as admin_views
    from survey_app.design import views as design_views
    from survey_app.respondent import views as respondent_views
    from survey_app.results import views as results_views

    errors.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    app.register_blueprint(auth_views.blueprint)
    app.register_blueprint(admin_views.blueprint)
    app.register_blueprint(design_views.blueprint)
    app.register_blueprint(respondent_views.blueprint)
    app.register_blueprint(results_views.blueprint)
    plugin_system.hook(app).register_routes(app=app)
    return app
