"""Accounts: who may log in, with which role."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Enum, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from survey_app.db import Base
from survey_app.models.types import UTCDateTime, utcnow


class Role(enum.Enum):
    """What an account may do across the platform."""

    ADMIN = "admin"  # manages users; sees everything
    RESEARCHER = "researcher"  # designs and publishes their own surveys
    STAFF = "staff"  # reads results and exports of surveys shared with them


class User(UserMixin, Base):
    """A person who logs in. Respondents never need an account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20, values_callable=lambda r: [m.value for m in r]))
    is_enabled: Mapped[bool] = mapped_column(default=True)
    # Bumped on password change and logout-everywhere: it is part of the login
    # session's id, so every session made before stops working.
    session_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_active(self) -> bool:  # Flask-Login refuses disabled accounts
        return self.is_enabled

    def get_id(self) -> str:
        """The session id Flask-Login stores: the user id and the session generation."""
        return f"{self.id}:{self.session_generation}"

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


class RateLimit(Base):
    """A fixed-window counter (e.g. failed logins per address) kept in the database,
    so that every web worker sees the same count."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime())
    count: Mapped[int] = mapped_column(Integer, default=0)
