"""The researcher's dashboard: my surveys; new ones from scratch, from an example or from a
file (always as a draft); duplicate; open, close and archive.

Importing this module registers every route of the ``design`` blueprint.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePath

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from survey_app import db
from survey_app.access import Permission, permissions, survey_or_404, visible_surveys
from survey_app.design import blueprint
from survey_app.design.drafts import (
    SLUG, check, draft_text, new_survey, pretty, published_digest, slug_base, unique_slug,
)
from survey_app.design.examples import example, examples
from survey_app.design.uploads import file_text, flash_draft_state, xlsform_converter
from survey_app.design.forms import CreateForm, StatusForm, UploadForm
from survey_app.design.outline import placeholder, skeleton
from survey_app.models import (
    PluginFailure, QuestionnaireVersion, Response, ResponseStatus, Role, Survey, SurveyStatus,
)
from survey_app.questionnaire import Problem
from survey_app.questionnaire.jsonsafe import parse_json

__all__ = ["blueprint"]


@dataclass
class Row:
    """One survey on the dashboard."""

    survey: Survey
    can_edit: bool
    versions: int = 0
    latest: int | None = None
    complete: int = 0
    partial: int = 0
    last_response: datetime | None = None
    unpublished: bool = False


def can_create() -> bool:
    """Researchers and administrators make surveys; staff only read results shared with them."""
    return current_user.role in (Role.ADMIN, Role.RESEARCHER)


def _require_creator() -> None:
    if not can_create():
        abort(403)


@blueprint.route("/")
@login_required
def dashboard():
    """My surveys with their status, versions and responses; forms to make new ones."""
    return _dashboard()


def _dashboard(create_form: CreateForm | None = None, upload_form: UploadForm | None = None, status: int = 200):
    session = db.session()
    surveys = session.execute(visible_surveys(current_user).options(selectinload(Survey.members))).scalars().all()
    rows = _rows(surveys)
    creating = can_create()
    language = str(get_locale())
    return render_template(
        "design/dashboard.html", rows=[row for row in rows if row.survey.status is not SurveyStatus.ARCHIVED],
        archived=[row for row in rows if row.survey.status is SurveyStatus.ARCHIVED],
        failures=_plugin_failures(surveys),
        create_form=(create_form or CreateForm()) if creating else None,
        upload_form=(upload_form or UploadForm()) if creating else None,
        examples=[(found, found.title(language)) for found in examples()] if creating else [],
        xlsform=xlsform_converter() is not None,
    ), status


def _rows(surveys) -> list[Row]:
    if not surveys:
        return []
    session = db.session()
    ids = [survey.id for survey in surveys]
    rows = {survey.id: Row(survey, Permission.EDIT in permissions(current_user, survey)) for survey in surveys}
    for survey_id, count, latest in session.execute(
            select(QuestionnaireVersion.survey_id, func.count(), func.max(QuestionnaireVersion.number))
            .where(QuestionnaireVersion.survey_id.in_(ids)).group_by(QuestionnaireVersion.survey_id)):
        rows[survey_id].versions, rows[survey_id].latest = count, latest
    for survey_id, status, count, last in session.execute(
            select(Response.survey_id, Response.status, func.count(), func.max(Response.submitted_at))
            .where(Response.survey_id.in_(ids)).group_by(Response.survey_id, Response.status)):
        if status is ResponseStatus.COMPLETE:
            rows[survey_id].complete, rows[survey_id].last_response = count, last
        else:
            rows[survey_id].partial = count
    hashes = dict(session.execute(
        select(QuestionnaireVersion.survey_id, QuestionnaireVersion.sha256)
        .where(QuestionnaireVersion.survey_id.in_(ids))
        .where(QuestionnaireVersion.number == select(func.max(QuestionnaireVersion.number))
               .where(QuestionnaireVersion.survey_id == Survey.id).correlate_except(QuestionnaireVersion)
               .scalar_subquery())
        .join(Survey, Survey.id == QuestionnaireVersion.survey_id)).all())
    published = [row.survey.id for row in rows.values() if row.can_edit and row.latest is not None]
    if published:  # the drafts are read only here: the column is deferred
        for survey_id, draft in session.execute(select(Survey.id, Survey.draft_definition)
                                                .where(Survey.id.in_(published))):
            rows[survey_id].unpublished = draft is not None and published_digest(draft) != hashes.get(survey_id)
    return [rows[survey.id] for survey in surveys]


def _plugin_failures(surveys) -> dict[int, tuple[int, str]]:
    """Per survey: how many plugin failures were recorded, and the latest message."""
    if not surveys:
        return {}
    session = db.session()
    ids = [survey.id for survey in surveys]
    counts = session.execute(select(PluginFailure.survey_id, func.count(), func.max(PluginFailure.id))
                             .where(PluginFailure.survey_id.in_(ids)).group_by(PluginFailure.survey_id)).all()
    latest = dict(session.execute(select(PluginFailure.id, PluginFailure.message)
                                  .where(PluginFailure.id.in_([row[2] for row in counts]))).all()) if counts else {}
    return {survey_id: (count, f"{latest.get(last_id, '')}") for survey_id, count, last_id in counts}


# ---------------------------------------------------------------- new surveys


def _create_draft(text: str, wanted_slug: str, fallback_title: str = "") -> Survey:
    """Store a new draft survey owned by the current user (retrying if its address was just taken)."""
    session = db.session()
    for attempt in range(3):
        db.begin_write(session)
        survey = new_survey(session, text, current_user._get_current_object(), wanted_slug if attempt == 0
                            else f"{wanted_slug}-{attempt + 1}", fallback_title)
        try:
            session.commit()
            return survey
        except IntegrityError:
            session.rollback()
    abort(409)


def blank_questionnaire(title: str, languages: list[str], slug: str) -> dict:
    """The smallest questionnaire that loads: one page with one text question."""
    interface = str(get_locale())
    ordered = sorted(dict.fromkeys(languages), key=lambda code: code != interface)
    document: dict = {"id": slug, "version": "1", "languages": ordered, "default_language": ordered[0],
                      "title": {code: title for code in ordered}}
    question = skeleton("text", document)
    document["pages"] = [{"id": "page_1", "title": placeholder(document, "page"), "questions": [question]}]
    return document


@blueprint.route("/surveys/new", methods=["POST"])
@login_required
def create():
    """A new draft survey: from scratch (a title and languages) or from an example questionnaire."""
    _require_creator()
    form = CreateForm()
    if not form.validate_on_submit():
        return _dashboard(create_form=form, status=422)
    if form.template.data:
        chosen = example(form.template.data)
        if chosen is None:
            form.template.errors = [_("Choose one of the example questionnaires.")]
            return _dashboard(create_form=form, status=422)
        survey = _create_draft(chosen.path.read_text("utf-8"), chosen.id)
        flash(_("A draft copy of the example “%(title)s” was created. Change it as you need, then publish it.",
                title=survey.title), "success")
        return redirect(url_for("design.edit", slug=survey.slug))
    title = (form.title.data or "").strip()
    if not title:
        form.title.errors = [_("Give the survey a title.")]
    if not form.languages.data:
        form.languages.errors = [_("Choose at least one language.")]
    if form.title.errors or form.languages.errors:
        return _dashboard(create_form=form, status=422)
    slug = unique_slug(db.session(), slug_base(title))
    survey = _create_draft(pretty(blank_questionnaire(title, form.languages.data, slug)), slug, title)
    flash(_("The draft “%(title)s” was created. Add your questions, then publish it.", title=survey.title), "success")
    return redirect(url_for("design.edit", slug=survey.slug))


@blueprint.route("/surveys/upload", methods=["POST"])
@login_required
def upload():
    """A new draft survey from a questionnaire file; its problems are listed in the editor."""
    _require_creator()
    form = UploadForm()
    problems: list[Problem] = []
    if form.validate_on_submit():
        text, problems = file_text(form.file.data)
        if text is not None:
            document, _json_problems = parse_json(text)
            wanted = document.get("id") if isinstance(document, dict) and isinstance(document.get("id"), str) else ""
            if not SLUG.match(wanted):
                wanted = PurePath(form.file.data.filename or "survey").stem
            survey = _create_draft(text, wanted, PurePath(form.file.data.filename or "").stem)
            found = check(survey.draft_definition)
            flash_draft_state(found, created=True)
            return redirect(url_for("design.edit", slug=survey.slug))
    return render_template("design/upload_problems.html", problems=problems, form=form), 422


# ---------------------------------------------------------------- existing surveys


@blueprint.route("/surveys/<slug>/duplicate", methods=["POST"])
@login_required
def duplicate(slug: str):
    """A new draft survey (mine, at a new address) with a copy of this survey's draft."""
    survey = survey_or_404(slug, Permission.EDIT)
    copy = _create_draft(draft_text(survey), f"{survey.slug}-copy", survey.title)
    flash(_("“%(title)s” was copied to a new draft at /%(slug)s.", title=copy.title, slug=copy.slug), "success")
    return redirect(url_for("design.edit", slug=copy.slug))


@blueprint.route("/surveys/<slug>/status", methods=["POST"])
@login_required
def set_status(slug: str):
    """Open, close or archive a survey."""
    survey = survey_or_404(slug, Permission.EDIT)
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    if survey.latest_version is None and form.status.data == SurveyStatus.OPEN.value:
        abort(400, _("Publish a questionnaire before opening the survey."))
    db.begin_write(db.session())  # SQLite: a read transaction cannot take the write lock once another wrote
    survey.status = SurveyStatus(form.status.data)
    db.session().commit()
    title = survey.title
    messages = {
        SurveyStatus.OPEN: lambda: _("“%(title)s” is open: respondents can answer it.", title=title),
        SurveyStatus.CLOSED: lambda: _("“%(title)s” is closed: it takes no new responses.", title=title),
        SurveyStatus.ARCHIVED: lambda: _("“%(title)s” was archived.", title=title),
        SurveyStatus.DRAFT: lambda: _("“%(title)s” is a draft again: respondents cannot answer it.", title=title),
    }
    flash(messages[survey.status](), "success")
    if request.form.get("return_to") == "editor":
        return redirect(url_for("design.edit", slug=survey.slug))
    return redirect(url_for("design.dashboard"))


def status_label(status: SurveyStatus) -> str:
    """A survey status in the interface language."""
    return {SurveyStatus.DRAFT: _("Draft"), SurveyStatus.OPEN: _("Open"), SurveyStatus.CLOSED: _("Closed"),
            SurveyStatus.ARCHIVED: _("Archived")}[status]


@blueprint.app_template_global("design_has_endpoint")
def has_endpoint(endpoint: str) -> bool:
    """Whether the app has a route ``endpoint`` (the results pages are another blueprint's)."""
    return endpoint in current_app.view_functions


@blueprint.app_template_global("design_status_label")
def _status_label_global(status: SurveyStatus) -> str:
    return status_label(status)


# The other modules add their routes to the blueprint when imported.
from survey_app.design import editor, preview, publishing, sharing  # noqa: E402,F401
