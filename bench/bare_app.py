"""The bare baselines: the least a Flask app can do for the same work as ours.

``create_app(config)`` builds a Flask app (no extensions, no sessions, no CSRF,
no plugins) with

* ``GET /render``: the questionnaire's first page rendered with one plain Jinja
  template (every question with its label, hint and options or input), in
  ``config["LANGUAGE"]``;
* ``POST /insert``: the posted form stored as one ``responses`` row and one
  ``answers`` row per value, with SQLAlchemy Core, in one transaction, into the
  platform's own tables (reflected, so the same columns, indexes and constraints)
  of ``config["DATABASE_URL"]``; answers the way the platform does: 302.
* ``GET /ping``: for the server's readiness check.

``config``: ``QUESTIONNAIRE`` (path of the questionnaire JSON), ``LANGUAGE``,
``DATABASE_URL``, ``SURVEY_ID`` and ``VERSION_ID`` (the rows the responses belong to).
It imports nothing from ``survey_app``. SQLite gets the same connection settings
as the platform's (WAL, synchronous=NORMAL, busy timeout), so only the work differs.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timezone
from typing import Any

from flask import Flask, redirect, render_template, request
from jinja2 import DictLoader
from sqlalchemy import MetaData, Table, create_engine, event, insert

NUMBER_TYPES = {"integer", "decimal", "rating"}
CODE_TYPES = {"single_choice", "yes_no", "multiple_choice"}

TEMPLATES = {
    "base.html": """<!doctype html>
<html lang="{{ language }}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{% block title %}{% endblock %} · Survey</title>
<link rel="stylesheet" href="/static/css/app.css">
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="site-header"><span class="survey-name">{{ t(questionnaire.title) }}</span></header>
<main id="main" class="page">{% block content %}{% endblock %}</main>
</body>
</html>
""",
    "page.html": """{% extends "base.html" %}
{% block title %}{{ t(page.title) }}{% endblock %}
{% block content %}
<form method="post" action="/insert" novalidate class="survey-page">
  <input id="csrf_token" name="csrf_token" type="hidden" value="{{ token }}">
  <input id="submission_id" name="submission_id" type="hidden" value="{{ submission_id }}">
  <p class="progress-text">Page 1 of {{ questionnaire.pages|length }}</p>
  <h1>{{ t(page.title) }}</h1>
  {% for q in page.questions %}
  <div class="question" id="question-{{ q.id }}" data-question="{{ q.id }}">
  {% if q.type in ("single_choice", "yes_no", "rating", "multiple_choice") and q.display != "dropdown" %}
    <fieldset class="fieldset">
      <legend>{{ t(q.label) }}{% if not q.required %} <span class="optional">(optional)</span>{% endif %}</legend>
      {% if q.hint %}<p class="hint" id="{{ q.id }}-hint">{{ t(q.hint) }}</p>{% endif %}
      <div class="{{ 'choices-inline' if q.type == 'rating' else 'choices' }}">
      {% for option in options(q) %}
        <div class="choice"><input class="choice-input" id="{{ q.id }}-{{ loop.index0 }}" name="{{ q.id }}" type="{{ 'checkbox' if q.type == 'multiple_choice' else 'radio' }}" value="{{ option.value }}"> <label for="{{ q.id }}-{{ loop.index0 }}">{{ option.label }}</label></div>
      {% endfor %}
      </div>
    </fieldset>
  {% elif q.type == "single_choice" %}
    <div class="field">
      <label for="{{ q.id }}">{{ t(q.label) }}{% if not q.required %} <span class="optional">(optional)</span>{% endif %}</label>
      {% if q.hint %}<p class="hint" id="{{ q.id }}-hint">{{ t(q.hint) }}</p>{% endif %}
      <select id="{{ q.id }}" name="{{ q.id }}"><option value="">Choose…</option>{% for option in options(q) %}<option value="{{ option.value }}">{{ option.label }}</option>{% endfor %}</select>
    </div>
  {% else %}
    <div class="field">
      <label for="{{ q.id }}">{{ t(q.label) }}{% if not q.required %} <span class="optional">(optional)</span>{% endif %}</label>
      {% if q.hint %}<p class="hint" id="{{ q.id }}-hint">{{ t(q.hint) }}</p>{% endif %}
      <div class="input-with-unit">
      {% if q.type == "long_text" %}<textarea id="{{ q.id }}" name="{{ q.id }}" rows="5" maxlength="{{ q.max_length or 10000 }}"></textarea>
      {% else %}<input id="{{ q.id }}" name="{{ q.id }}" type="{{ input_types.get(q.type, 'text') }}" value=""{% if q.type in ('text', 'email') %} maxlength="{{ q.max_length or 500 }}"{% endif %}{% if q.type == 'date' and q.min %} min="{{ q.min }}"{% endif %}>{% endif %}
      {% if q.unit %}<span class="unit">{{ t(q.unit) }}</span>{% endif %}
      </div>
    </div>
  {% endif %}
  </div>
  {% endfor %}
  <div class="actions">
    <button type="submit" name="action" value="next" class="button">Continue</button>
    <button type="submit" name="action" value="save_later" class="link" formnovalidate>Save and continue later</button>
  </div>
</form>
{% endblock %}
""",
}


def create_app(config: dict[str, Any]) -> Flask:
    app = Flask(__name__)
    app.jinja_env.loader = DictLoader(TEMPLATES)
    with open(config["QUESTIONNAIRE"], encoding="utf-8") as handle:
        questionnaire = json.load(handle)
    language = config.get("LANGUAGE") or questionnaire["languages"][0]
    page = questionnaire["pages"][0]
    questions = {question["id"]: question for page_ in questionnaire["pages"] for question in page_["questions"]}

    def t(text: Any) -> str:
        return text.get(language, "") if isinstance(text, dict) else (text or "")

    def options(question: dict) -> list[dict]:
        if question["type"] == "yes_no":
            return [{"value": "yes", "label": "Yes"}, {"value": "no", "label": "No"}]
        if question["type"] == "rating":
            return [{"value": str(n), "label": str(n)} for n in range(question.get("min", 1), question.get("max", 5) + 1)]
        choices = question["choices"]
        if isinstance(choices, str):  # the name of a shared list
            choices = questionnaire["choice_lists"][choices]
        return [{"value": choice["value"], "label": t(choice["label"])} for choice in choices]

    @app.get("/ping")
    def ping():
        return "ok"

    @app.get("/render")
    def render():
        return render_template("page.html", questionnaire=questionnaire, page=page, language=language, t=t,
                               options=options, token=uuid.uuid4().hex, submission_id=str(uuid.uuid4()),
                               input_types={"email": "email", "date": "date"})

    engine = _engine(config["DATABASE_URL"])
    metadata = MetaData()
    responses = Table("responses", metadata, autoload_with=engine)
    answers = Table("answers", metadata, autoload_with=engine)
    survey_id, version_id = config["SURVEY_ID"], config["VERSION_ID"]

    @app.post("/insert")
    def insert_response():
        form = request.form
        values: dict[str, Any] = {}
        rows = []
        for question_id, question in questions.items():
            posted = [value for value in form.getlist(question_id) if value != ""]
            if not posted:
                continue
            kind = question["type"]
            values[question_id] = posted if kind == "multiple_choice" else posted[0]
            for value in posted:
                row = {"survey_id": survey_id, "question_id": question_id, "entry": 0,
                       "item": value if kind == "multiple_choice" else "", "code": None, "number": None, "text": None}
                if kind in CODE_TYPES:
                    row["code"] = value
                elif kind in NUMBER_TYPES:
                    row["number"] = float(value.replace(",", "."))
                else:
                    row["text"] = value
                rows.append(row)
        document = {"answers": values}
        now = datetime.now(timezone.utc)
        with engine.begin() as connection:
            response_id = connection.execute(insert(responses).returning(responses.c.id), {
                "survey_id": survey_id, "version_id": version_id, "submission_id": str(uuid.uuid4()),
                "status": "complete", "language": language, "data": document,
                "content_hash": hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest(),
                "started_at": now, "updated_at": now, "submitted_at": now,
            }).scalar_one()
            connection.execute(insert(answers), [{**row, "response_id": response_id} for row in rows])
        return redirect("/done")

    return app


def _engine(url: str):
    if not url.startswith("sqlite"):
        return create_engine(url, pool_size=5, max_overflow=5)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    return engine
