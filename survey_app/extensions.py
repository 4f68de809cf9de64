"""Flask extensions: login sessions, CSRF protection, interface translations."""
from __future__ import annotations

from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel, get_locale
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from survey_app import db

csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


def init_app(app: Flask) -> None:
    """Initialise every extension on ``app``."""
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    babel.init_app(app, locale_selector=select_interface_language)
    app.jinja_env.globals["get_locale"] = get_locale


@login_manager.user_loader
def _load_user(session_id: str):
    """Find the logged-in user; a session from before a password change is void."""
    from survey_app.models import User

    user_id, _, generation = session_id.partition(":")
    if not (user_id.isdigit() and generation.isdigit()):
        return None
    user = db.session().get(User, int(user_id))
    if user is None or user.session_generation != int(generation):
        return None
    return user


def select_interface_language() -> str:
    """The interface language: the questionnaire language a respondent chose, an
    explicit ``?lang=``, else the browser's preference."""
    from flask import current_app

    languages = current_app.config["INTERFACE_LANGUAGES"]
    if not has_request_context():  # the command line, background jobs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = g.get("interface_language") or request.args.get("lang") or session.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
