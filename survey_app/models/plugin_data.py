"""Where plugins keep what they derive from responses, and where their failures are logged."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from survey_app.db import Base
from survey_app.models.types import BigId, UTCDateTime, utcnow


class ResponseMetric(Base):
    """A number and/or code a plugin derived from one response (e.g. a score and its band).

    Kept in its own rows so that results pages and exports aggregate it in SQL
    like any answer.
    """

    __tablename__ = "response_metrics"
    __table_args__ = (Index("ix_response_metrics_survey_plugin_name", "survey_id", "plugin", "name", "code"),)

    response_id: Mapped[int] = mapped_column(BigId, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    plugin: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    number: Mapped[float | None] = mapped_column(Float)
    code: Mapped[str | None] = mapped_column(String(64))


class PluginFailure(Base):
    """An exception a plugin raised in a hook, shown to the survey's staff."""

    __tablename__ = "plugin_failures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int | None] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    response_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("responses.id", ondelete="SET NULL"))
    plugin: Mapped[str] = mapped_column(String(200))
    hook: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
