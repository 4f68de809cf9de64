"""Who may do what with a survey. Every route that takes a survey goes through here.

A survey the user may not see answers 404, never 403, so slugs cannot be probed.
"""
from __future__ import annotations

import enum

from flask import abort
from flask_login import current_user
from sqlalchemy import Select, exists, or_, select

from survey_app import db
from survey_app.models import Role, Survey, SurveyMember, SurveyRole, User


class Permission(enum.Enum):
    """What a user wants to do with a survey."""

    EDIT = "edit"  # design, publish, open and close, share
    RESULTS = "results"  # read results and export


def permissions(user: User, survey: Survey) -> frozenset[Permission]:
    """The permissions ``user`` has on ``survey``."""
    if not user.is_authenticated:
        return frozenset()
    if user.role is Role.ADMIN or survey.owner_id == user.id:
        return frozenset(Permission)
    member = next((m for m in survey.members if m.user_id == user.id), None)
    if member is None:
        return frozenset()
    if member.role is SurveyRole.EDITOR and user.role is Role.RESEARCHER:
        return frozenset(Permission)
    return frozenset({Permission.RESULTS})


def visible_surveys(user: User) -> Select[tuple[Survey]]:
    """A query for the surveys ``user`` may see at all (owned, shared, or all for admins)."""
    query = select(Survey).order_by(Survey.updated_at.desc())
    if user.role is Role.ADMIN:
        return query
    shared = exists().where(SurveyMember.survey_id == Survey.id, SurveyMember.user_id == user.id)
    return query.where(or_(Survey.owner_id == user.id, shared))


def survey_or_404(slug: str, permission: Permission) -> Survey:
    """The survey named ``slug`` if the current user holds ``permission`` on it; else 404."""
    survey = db.session().execute(select(Survey).where(Survey.slug == slug)).scalar_one_or_none()
    if survey is None or permission not in permissions(current_user, survey):
        abort(404)
    return survey
