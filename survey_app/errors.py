"""Friendly error pages: never a traceback, and a "try again" page when the database is away."""
from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError, PendingRollbackError
from werkzeug.exceptions import HTTPException

from survey_app import db
from survey_app.questionnaire.plugin_types import QuestionTypeFailed
from survey_app.surveys import VersionUnavailable

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    """Register the error handlers on ``app``."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(DBAPIError, _database_unavailable)
    app.register_error_handler(PendingRollbackError, _database_unavailable)  # after a connection died mid-flush
    app.register_error_handler(VersionUnavailable, _version_unavailable)
    app.register_error_handler(QuestionTypeFailed, _version_unavailable)
    app.register_error_handler(Exception, _unexpected_error)


def _page(status: int, title: str, message: str):
    return render_template("error.html", status=status, title=title, message=message), status


def _http_error(error: HTTPException):
    titles = {
        400: _("Something in this request was not right"),
        403: _("You do not have access to this page"),
        404: _("Page not found"),
        405: _("This action is not allowed here"),
        409: _("This conflicts with what was already saved"),
        413: _("The upload is too large"),
        429: _("Too many attempts"),
    }
    title = titles.get(error.code or 500, error.name)
    return _page(error.code or 500, title, error.description if error.code in (400, 409, 413, 429) else "")


def _csrf_error(_error: CSRFError):
    return _page(400, _("This form has expired"), _("Go back, reload the page and send it again. Nothing was saved."))


def _database_unavailable(error: Exception):
    log.warning("database unavailable: %s", error)
    db.roll_back_request()
    return _page(503, _("Please try again in a moment"),
                 _("The service is busy or restarting. Your earlier answers are safe; send this page again."))


def _version_unavailable(error: VersionUnavailable | QuestionTypeFailed):
    log.error("%s", error, exc_info=error.__cause__)  # for the admins: what is missing, or the plugin's traceback
    return _page(503, _("This survey is not available at the moment"),
                 _("It needs a part of the platform that is not installed or is turned off here. "
                   "Please try again later."))


def _unexpected_error(error: Exception):
    log.exception("unexpected error", exc_info=error)
    db.roll_back_request()
    return _page(500, _("Something went wrong on our side"), _("The problem has been logged. Please try again."))
