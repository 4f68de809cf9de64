"""The researcher's dashboard: my surveys, upload a questionnaire, open and close a survey."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy import func, select
from wtforms import SelectField

from survey_app import db
from survey_app.access import Permission, permissions, survey_or_404, visible_surveys
from survey_app.models import PluginFailure, Response, ResponseStatus, Role, SurveyStatus
from survey_app.questionnaire import QuestionnaireInvalid
from survey_app.surveys import import_survey, load_checked

blueprint = Blueprint("design", __name__)


class UploadForm(FlaskForm):
    """A questionnaire file to create a survey from, or to publish as a new version."""

    file = FileField(_l("Questionnaire (JSON)"), validators=[FileRequired()])


class StatusForm(FlaskForm):
    """Open, close or archive a survey."""

    status = SelectField(_l("Status"), choices=[(status.value, status.value) for status in SurveyStatus])


@blueprint.route("/")
@login_required
def dashboard():
    """The surveys the user may see, with their status and response counts."""
    session = db.session()
    surveys = session.execute(visible_surveys(current_user)).scalars().all()
    counts = dict(session.execute(
        select(Response.survey_id, func.count()).where(Response.status == ResponseStatus.COMPLETE)
        .where(Response.survey_id.in_([survey.id for survey in surveys])).group_by(Response.survey_id)
    ).all()) if surveys else {}
    can_create = current_user.role in (Role.ADMIN, Role.RESEARCHER)
    return render_template("design/dashboard.html", surveys=surveys, counts=counts, failures=_plugin_failures(surveys),
                           upload_form=UploadForm() if can_create else None,
                           permissions=lambda survey: permissions(current_user, survey), Permission=Permission)


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


@blueprint.route("/surveys/upload", methods=["POST"])
@login_required
def upload():
    """Create a survey from an uploaded questionnaire, or publish it as a new version of mine."""
    if current_user.role not in (Role.ADMIN, Role.RESEARCHER):
        abort(403)
    form = UploadForm()
    problems = []
    if form.validate_on_submit():
        raw = form.file.data.read()
        try:
            questionnaire = load_checked(raw)
            session = db.session()
            db.begin_write(session)
            survey, version = import_survey(session, questionnaire, current_user._get_current_object())
            session.commit()
            flash(_("Published version %(number)s of “%(title)s”.", number=version.number, title=survey.title), "success")
            return redirect(url_for("design.dashboard"))
        except QuestionnaireInvalid as error:
            problems = error.problems
        except ValueError as error:
            flash(str(error), "error")
    return render_template("design/upload_problems.html", problems=problems, form=form), 422


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
    survey.status = SurveyStatus(form.status.data)
    db.session().commit()
    return redirect(url_for("design.dashboard"))
