"""Admin pages: manage accounts, see which plugins are loaded."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length

from survey_app import db
from survey_app.auth.passwords import MIN_PASSWORD_LENGTH, hash_password
from survey_app.models import Role, User
from survey_app.plugins import describe_plugins

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


def admin_required(view):
    """Only admins get in; anyone else is sent to log in or gets 403."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


class UserForm(FlaskForm):
    """A new account."""

    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = SelectField(_l("Role"), choices=[SelectChoice(role.value, role.value) for role in Role])
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=200)])


class EmptyForm(FlaskForm):
    """A form with only its CSRF token, for POST buttons."""


@blueprint.route("/users", methods=["GET", "POST"])
@admin_required
def users():
    """List accounts and create new ones."""
    form = UserForm()
    session = db.session()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        if session.execute(select(User).where(func.lower(User.email) == email)).scalar_one_or_none():
            form.email.errors.append(_("An account with this e-mail already exists."))
        else:
            password_hash = hash_password(form.password.data)  # slow: before taking the write lock
            db.begin_write(session)  # SQLite: a read transaction cannot take the write lock once another wrote
            session.add(User(email=email, name=form.name.data.strip(), role=Role(form.role.data),
                             password_hash=password_hash))
            session.commit()
            flash(_("Account created."), "success")
            return redirect(url_for("admin.users"))
    accounts = session.execute(select(User).order_by(User.email)).scalars().all()
    return render_template("admin/users.html", form=form, accounts=accounts, toggle_form=EmptyForm())


@blueprint.route("/users/<int:user_id>/toggle", methods=["POST"])
@admin_required
def toggle_user(user_id: int):
    """Disable an account (its sessions end at once) or enable it again."""
    if not EmptyForm().validate_on_submit():
        abort(400)
    session = db.session()
    user = session.get(User, user_id) or abort(404)
    if user.id == current_user.id:
        abort(400, _("You cannot disable your own account."))
    db.begin_write(session)
    user.is_enabled = not user.is_enabled
    user.session_generation += 1
    session.commit()
    return redirect(url_for("admin.users"))


@blueprint.route("/plugins")
@admin_required
def plugin_list():
    """The loaded plugins, where they come from, and the hooks they implement."""
    return render_template("admin/plugins.html", plugins=describe_plugins(current_app))
