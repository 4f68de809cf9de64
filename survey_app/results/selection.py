"""Which responses a result counts: :class:`~survey_app.results.tables.ResultFilters` as SQL."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import ColumnElement, Select, exists, func, select

from survey_app.models import Answer, QuestionnaireVersion, Response, ResponseStatus
from survey_app.results.tables import ResultFilters


def passing(survey_id: int, filters: ResultFilters) -> Select:
    """The survey's responses that pass ``filters``: a SELECT of ``id``, ``version_id`` and ``status``."""
    query = select(Response.id, Response.version_id, Response.status).where(Response.survey_id == survey_id,
                                                                            *in_dates(filters))
    if filters.completed_only:
        query = query.where(Response.status == ResponseStatus.COMPLETE)
    if filters.version_numbers:
        query = query.where(Response.version_id.in_(version_ids(survey_id, filters.version_numbers)))
    for question_id, value in filters.choice_filters:
        chosen = Answer.__table__.alias()
        # A single-choice answer's row (no item, no number): one index lookup per response.
        query = query.where(exists().where(chosen.c.survey_id == survey_id, chosen.c.question_id == question_id,
                                           chosen.c.code == value, chosen.c.item == "", chosen.c.number.is_(None),
                                           chosen.c.response_id == Response.id, chosen.c.entry == 0))
    return query


def in_dates(filters: ResultFilters) -> list[ColumnElement[bool]]:
    """The conditions on a response of the date filters (none without them): its submit, or start
    when partial, falls on one of the UTC days ``date_from`` to ``date_to``."""
    when = func.coalesce(Response.submitted_at, Response.started_at)
    conditions = []
    if filters.date_from is not None:
        conditions.append(when >= _midnight(filters.date_from))
    if filters.date_to is not None:
        conditions.append(when < _midnight(filters.date_to + timedelta(days=1)))
    return conditions


def version_ids(survey_id: int, numbers: tuple[int, ...]) -> Select:
    """The ids of the survey's versions numbered ``numbers``."""
    return select(QuestionnaireVersion.id).where(QuestionnaireVersion.survey_id == survey_id,
                                                 QuestionnaireVersion.number.in_(numbers))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)
