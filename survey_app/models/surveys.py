"""Surveys, who may work on them, and their immutable questionnaire versions."""
from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.db import Base
from survey_app.models.types import UTCDateTime, utcnow
from survey_app.models.users import User


def _enum(enum_class: type[enum.Enum]) -> Enum:
    """A portable enum column storing the members' values as short strings."""
    return Enum(enum_class, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e])


class SurveyStatus(enum.Enum):
    """Whether respondents can answer a survey."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    ARCHIVED = "archived"


class SurveyRole(enum.Enum):
    """What a colleague a survey is shared with may do."""

    EDITOR = "editor"  # a researcher: design, publish, results
    VIEWER = "viewer"  # staff: results and exports only


class Survey(Base):
    """A survey: a public slug, an owner and a series of questionnaire versions."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[SurveyStatus] = mapped_column(_enum(SurveyStatus), default=SurveyStatus.DRAFT)
    # Closed surveys: only people given a one-time access code may answer.
    requires_access_code: Mapped[bool] = mapped_column(default=False)
    # The researcher's working copy: JSON text, possibly invalid, never shown to respondents.
    draft_definition: Mapped[str | None] = mapped_column(Text, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship()
    members: Mapped[list[SurveyMember]] = relationship(back_populates="survey", cascade="all, delete-orphan")
    versions: Mapped[list[QuestionnaireVersion]] = relationship(
        back_populates="survey", order_by="QuestionnaireVersion.number", cascade="all, delete-orphan"
    )

    @property
    def latest_version(self) -> QuestionnaireVersion | None:
        """The most recently published questionnaire version, if any."""
        return self.versions[-1] if self.versions else None


class SurveyMember(Base):
    """A colleague a survey is shared with."""

    __tablename__ = "survey_members"

    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True)
    role: Mapped[SurveyRole] = mapped_column(_enum(SurveyRole))

    survey: Mapped[Survey] = relationship(back_populates="members")
    user: Mapped[User] = relationship()


class QuestionnaireVersion(Base):
    """A published questionnaire, exactly as published; never changed afterwards.

    ``definition`` holds the JSON text and ``sha256`` its hash, so a response can
    always be read with the questions it was answered with.
    """

    __tablename__ = "questionnaire_versions"
    __table_args__ = (UniqueConstraint("survey_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    definition: Mapped[str] = mapped_column(Text, deferred=True)  # read only when not cached by hash
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    survey: Mapped[Survey] = relationship(back_populates="versions")


class AccessCode(Base):
    """A one-time code inviting one respondent to a closed survey (only its hash is kept).

    The code starts one response; until that response is submitted, the same code
    resumes it (from any browser); afterwards it is spent.
    """

    __tablename__ = "access_codes"
    __table_args__ = (UniqueConstraint("survey_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    submission_id: Mapped[str | None] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
