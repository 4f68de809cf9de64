"""Publishing the draft as a new immutable version, after reviewing what changes.

GET shows the difference between the latest published version and the draft;
changes that would orphan collected answers (a removed question or choice, a
changed type) are flagged, and once the survey has responses publishing them
needs an explicit confirmation. POST publishes exactly the draft that was
reviewed (its fingerprint travels with the form); responses keep the version
they were answered with.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from survey_app import db
from survey_app.access import Permission, survey_or_404
from survey_app.design import blueprint
from survey_app.design.drafts import Checked, check, digest, draft_text, lock
from survey_app.design.editor import publish_state, response_count
from survey_app.design.forms import PublishForm
from survey_app.models import Survey, SurveyStatus
from survey_app.surveys import publish as publish_version
from survey_app.surveys import questionnaire_of
from survey_app.versions import Change, diff


def _changes(survey: Survey, checked: Checked) -> list[Change]:
    if survey.latest_version is None or not checked.valid:
        return []
    return diff(questionnaire_of(survey.latest_version), checked.questionnaire)


def _page(survey: Survey, checked: Checked, form: PublishForm, *, status: int = 200, error: str | None = None):
    changes = _changes(survey, checked)
    responses = response_count(survey)
    orphans = [change for change in changes if change.orphans]
    questionnaire = checked.questionnaire
    return render_template(
        "design/publish.html", survey=survey, checked=checked, form=form, changes=changes,
        added=[c for c in changes if c.kind == "added"], removed=[c for c in changes if c.kind == "removed"],
        changed=[c for c in changes if c.kind == "changed"], orphans=orphans, responses=responses,
        needs_confirmation=bool(orphans) and responses > 0, cannot_publish=publish_state(survey, checked),
        error=error, page_count=len(questionnaire.pages) if questionnaire else 0,
        question_count=len(questionnaire.questions) if questionnaire else 0,
    ), status


@blueprint.route("/surveys/<slug>/publish", methods=["GET", "POST"])
@login_required
def publish(slug: str):
    """Review the changes the draft makes (GET); publish it as the next version (POST)."""
    survey = survey_or_404(slug, Permission.EDIT)
    text = draft_text(survey)
    checked = check(text)
    form = PublishForm()
    if not form.is_submitted():
        form.base.data = digest(text)
        return _page(survey, checked, form)
    if not form.validate():
        abort(400)
    if form.base.data != digest(text):
        form.base.data = digest(text)
        return _page(survey, checked, form, status=409, error=_(
            "The draft was changed after you opened this page. Check the changes below again, then publish."))
    reason = publish_state(survey, checked)
    if reason is not None:
        return _page(survey, checked, form, status=422, error=reason)
    reviewed = survey.latest_version.number if survey.latest_version else None
    orphans = any(change.orphans for change in _changes(survey, checked))
    if orphans and response_count(survey) > 0 and not form.confirm.data:
        return _page(survey, checked, form, status=422, error=_(
            "Some changes would leave answers already collected without a question or choice. "
            "Tick the box to confirm that you want to publish them."))
    session = db.session()
    stored = lock(survey)
    latest = survey.latest_version
    if (latest.number if latest else None) != reviewed or digest(stored) != form.base.data:
        session.rollback()
        form.base.data = digest(draft_text(survey))
        return _page(survey, check(draft_text(survey)), form, status=409, error=_(
            "The draft was changed or another version was published meanwhile. "
            "Check the changes below again, then publish."))
    version = publish_version(session, survey, checked.questionnaire, current_user._get_current_object())
    opened = form.open_now.data and survey.status is not SurveyStatus.OPEN
    if opened:
        survey.status = SurveyStatus.OPEN
    try:
        session.commit()
    except IntegrityError:  # another publish took the same number at the same moment
        session.rollback()
        flash(_("Someone published another version meanwhile. Check the changes again, then publish."), "error")
        return redirect(url_for("design.publish", slug=survey.slug))
    message = _("Version %(number)s of “%(title)s” is published.", number=version.number, title=survey.title)
    if opened:
        message += " " + _("The survey is open to respondents.")
    flash(message, "success")
    return redirect(url_for("design.edit", slug=survey.slug))
