"""Responses and their answers, stored so that the database can count them."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Enum, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey_app.db import Base
from survey_app.models.surveys import QuestionnaireVersion
from survey_app.models.types import BigId, UTCDateTime, utcnow


class ResponseStatus(enum.Enum):
    """A response is partial until its final submit."""

    PARTIAL = "partial"
    COMPLETE = "complete"


class Response(Base):
    """One respondent's answers to one questionnaire version.

    ``submission_id`` is generated once in the respondent's browser session and
    sent with every page, so retries and double clicks find the same row
    (unique per survey, as ODK Central's instanceId). ``data`` is the canonical
    answer document; :class:`Answer` rows are its queryable projection.
    ``revision`` counts the saves and the submit that changed it (the
    results' kept counts notice a change by it).
    """

    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("survey_id", "submission_id"),
        Index("ix_responses_survey_status_submitted", "survey_id", "status", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("questionnaire_versions.id"), index=True)
    submission_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[ResponseStatus] = mapped_column(
        Enum(ResponseStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=ResponseStatus.PARTIAL,
    )
    language: Mapped[str] = mapped_column(String(16))
    current_page: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    content_hash: Mapped[str | None] = mapped_column(String(64))
    resume_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    version: Mapped[QuestionnaireVersion] = relationship()


class Answer(Base):
    """One stored value of a response, in a shape SQL can aggregate.

    * choice, yes/no, matrix cell: ``code`` (the choice value); multiple choice
      and ranking store one row per chosen value in ``item`` (ranking: the rank in
      ``number``); matrix rows use ``item`` for the row.
    * numbers and ratings: ``number``; texts, e-mails and dates: ``text``; a plugin's
      question type: ``number`` or ``text``, as its ``value_kind`` says.
    * "other, please specify" text: ``item`` = ``"#other"``, in ``text``.
    * ``entry`` is 0 outside repeat groups, 1, 2, ... for a repeat group's entries.
    """

    __tablename__ = "answers"
    __table_args__ = (
        UniqueConstraint("response_id", "question_id", "entry", "item"),
        # Covers the results' counting statements (index-only) and the choice filters' lookups.
        Index("ix_answers_counting", "survey_id", "question_id", "code", "item", "number", "response_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"))
    question_id: Mapped[str] = mapped_column(String(64))
    entry: Mapped[int] = mapped_column(Integer, default=0)
    item: Mapped[str] = mapped_column(String(64), default="")
    code: Mapped[str | None] = mapped_column(String(64))
    number: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(Text)
