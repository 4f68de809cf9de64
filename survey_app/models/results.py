"""Counts of complete responses kept for the results pages, one block of response ids at a time.

See :mod:`survey_app.results.cache`: a block's counts are used only while the
number of complete responses in the block is the one they were counted from.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from survey_app.db import Base
from survey_app.models.types import BigId


class ResultBlock(Base):
    """The counts ``name`` (e.g. the frequencies, or the crosstabs by one variable) of one block of responses.

    The block holds the responses whose id divided by the block size is
    ``block``; ``responses`` is how many there were when counted and
    ``revisions`` the sum of their revisions (see
    :attr:`~survey_app.models.Response.revision`), and ``definition``
    identifies what was counted (the questions and how).
    """

    __tablename__ = "result_blocks"
    __table_args__ = (UniqueConstraint("survey_id", "name", "block"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[str] = mapped_column(String(64))
    block: Mapped[int] = mapped_column(Integer)
    responses: Mapped[int] = mapped_column(Integer)
    revisions: Mapped[int] = mapped_column(BigInteger)


class ResultCount(Base):
    """One count of a block: respondents (or values) per question, answer, column (the breakdown variable's
    code) and ``within`` (a filter question's code), of one version and status.

    A count of a question's numbers (kind ``values``) also keeps their sum, minimum and maximum.
    """

    __tablename__ = "result_counts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    block_id: Mapped[int] = mapped_column(BigId, ForeignKey("result_blocks.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    question_id: Mapped[str] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(String(64))
    code: Mapped[str | None] = mapped_column(String(64))
    number: Mapped[float | None] = mapped_column(Float)
    col: Mapped[str | None] = mapped_column(String(64))
    within: Mapped[str | None] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[float | None] = mapped_column(Float)
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
