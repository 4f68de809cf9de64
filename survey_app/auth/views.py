"""Log in, log out, change password."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from survey_app import db, throttle
from survey_app.auth.forms import LoginForm, PasswordForm
from survey_app.auth.passwords import hash_password, verify_password
from survey_app.models import User
from survey_app.models.types import utcnow

blueprint = Blueprint("auth", __name__, url_prefix="/account")

LOGIN_WINDOW = timedelta(minutes=15)


@blueprint.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; log in on a correct e-mail and password."""
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        limit = current_app.config["LOGIN_ATTEMPTS_PER_15_MINUTES"]
        keys = (f"login:ip:{request.remote_addr}", f"login:email:{email}")
        if not all([throttle.hit(key, limit, LOGIN_WINDOW) for key in keys]):
            abort(429, _("Too many login attempts. Wait 15 minutes and try again."))
        user = db.session().execute(select(User).where(func.lower(User.email) == email)).scalar_one_or_none()
        if verify_password(user.password_hash if user else None, form.password.data) and user.is_enabled:
            session.clear()  # a fresh session on login: no fixation
            login_user(user)
            db.begin_write(db.session())  # SQLite: a read transaction cannot take the write lock once another wrote
            user.last_login_at = utcnow()
            db.session().commit()
            for key in keys:
                throttle.reset(key)
            return redirect(_safe_next(request.args.get("next")))
        flash(_("The e-mail or password is not right."), "error")
    return render_template("auth/login.html", form=form)


def _safe_next(target: str | None) -> str:
    """Only follow ``next`` to a path on this site, never to another host."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("design.dashboard")


@blueprint.route("/logout", methods=["POST"])
def logout():
    """End the session (POST only: a link or an image cannot log anyone out)."""
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


@blueprint.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the password; every other session of this account ends."""
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not verify_password(user.password_hash, form.current.data):
            form.current.errors.append(_("This is not your current password."))
        else:
            password_hash = hash_password(form.new.data)  # slow: before taking the write lock
            db.begin_write(db.session())  # SQLite: a read transaction cannot take the write lock once another wrote
            user.password_hash = password_hash
            user.session_generation += 1
            db.session().commit()
            login_user(user)  # this session carries the new generation; the others are void
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("design.dashboard"))
    return render_template("auth/password.html", form=form)
