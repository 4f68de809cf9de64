"""The researcher's workspace: surveys, the questionnaire editor, preview, publishing, sharing.

One blueprint, ``design``, defined here; each module adds its routes to it:
:mod:`~survey_app.design.views` (the dashboard: create, upload, duplicate,
status), :mod:`~survey_app.design.editor` (the JSON editor and the outline),
:mod:`~survey_app.design.preview`, :mod:`~survey_app.design.publishing` and
:mod:`~survey_app.design.sharing`. Every route takes ``Permission.EDIT`` on its
survey (404 for anyone else), and every change is a POST with a CSRF token.
"""
from flask import Blueprint

blueprint = Blueprint("design", __name__)
