"""Sharing a survey with colleagues by the e-mail of their account.

A researcher becomes an editor (designs, publishes, reads results); staff become
viewers (results and exports only). Administrators see every survey already.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from survey_app import db
from survey_app.access import Permission, survey_or_404
from survey_app.design import blueprint
from survey_app.design.forms import ShareForm, UnshareForm
from survey_app.models import Role, Survey, SurveyMember, SurveyRole, User


def role_label(role: SurveyRole) -> str:
    return _("editor") if role is SurveyRole.EDITOR else _("viewer (results only)")


def _page(survey: Survey, form: ShareForm, status: int = 200):
    members = sorted(survey.members, key=lambda member: (member.role.value, member.user.email.lower()))
    return render_template("design/share.html", survey=survey, form=form, members=members, role_label=role_label,
                           unshare_form=UnshareForm(formdata=None)), status


@blueprint.route("/surveys/<slug>/share", methods=["GET", "POST"])
@login_required
def share(slug: str):
    """Who the survey is shared with (GET); share it with one more colleague (POST)."""
    survey = survey_or_404(slug, Permission.EDIT)
    form = ShareForm()
    if not form.is_submitted():
        return _page(survey, form)
    if not form.validate():
        return _page(survey, form, 422)
    email = form.email.data.strip()
    session = db.session()
    user = session.execute(select(User).where(func.lower(User.email) == email.lower())).scalar_one_or_none()
    if user is None or not user.is_enabled:
        form.email.errors = [_("No account uses this e-mail address. Ask an administrator to create one.")]
    elif user.id == survey.owner_id:
        form.email.errors = [_("This is the survey owner's account.")]
    elif user.role is Role.ADMIN:
        form.email.errors = [_("Administrators can already see every survey.")]
    if form.email.errors:
        return _page(survey, form, 422)
    role = SurveyRole.EDITOR if user.role is Role.RESEARCHER else SurveyRole.VIEWER
    db.begin_write(session)  # SQLite: a read transaction cannot take the write lock once another wrote
    member = next((member for member in survey.members if member.user_id == user.id), None)
    if member is None:
        survey.members.append(SurveyMember(user_id=user.id, role=role))
    else:
        member.role = role
    session.commit()
    flash(_("“%(title)s” is shared with %(name)s (%(email)s) as %(role)s.", title=survey.title, name=user.name,
            email=user.email, role=role_label(role)), "success")
    return redirect(url_for("design.share", slug=survey.slug))


@blueprint.route("/surveys/<slug>/share/remove", methods=["POST"])
@login_required
def unshare(slug: str):
    """Stop sharing the survey with one colleague."""
    survey = survey_or_404(slug, Permission.EDIT)
    form = UnshareForm()
    if not form.validate_on_submit() or not (form.user_id.data or "").isdigit():
        abort(400)
    member = next((member for member in survey.members if member.user_id == int(form.user_id.data)), None)
    if member is None:
        abort(404)
    name = member.user.name
    db.begin_write(db.session())
    survey.members.remove(member)
    db.session().commit()
    flash(_("“%(title)s” is no longer shared with %(name)s.", title=survey.title, name=name), "success")
    if member.user_id == current_user.id:
        return redirect(url_for("design.dashboard"))
    return redirect(url_for("design.share", slug=survey.slug))
