"""Creating surveys and publishing questionnaire versions."""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app import plugins
from survey_app.models import QuestionnaireVersion, Survey, SurveyStatus, User
from survey_app.questionnaire import Questionnaire, load_questionnaire
from survey_app.questionnaire.texts import localize


def load_checked(source: bytes | str, app: Flask | None = None) -> Questionnaire:
    """Load a questionnaire with the core checks and every plugin's checks.

    Raises :class:`~survey_app.questionnaire.QuestionnaireInvalid`.
    """
    app = app or current_app
    return load_questionnaire(
        source, max_bytes=app.config["MAX_QUESTIONNAIRE_BYTES"], check_plugins=plugins.questionnaire_checker(app)
    )


def canonical_json(questionnaire: Questionnaire) -> str:
    """The questionnaire's document as stored: compact, key order kept, UTF-8 text."""
    return json.dumps(questionnaire.document, ensure_ascii=False, separators=(",", ":"))


def publish(session: Session, survey: Survey, questionnaire: Questionnaire, author: User | None) -> QuestionnaireVersion:
    """Store ``questionnaire`` as the survey's next version (or return the latest if identical)."""
    definition = canonical_json(questionnaire)
    digest = hashlib.sha256(definition.encode("utf-8")).hexdigest()
    latest = survey.latest_version
    if latest is not None and latest.sha256 == digest:
        return latest
    version = QuestionnaireVersion(
        survey=survey, number=(latest.number + 1) if latest else 1, definition=definition, sha256=digest,
        created_by_id=author.id if author else None,
    )
    session.add(version)
    survey.title = localize(questionnaire.title, questionnaire.default_language, questionnaire.default_language)[:500]
    return version


def import_survey(session: Session, questionnaire: Questionnaire, owner: User, *,
                  status: SurveyStatus = SurveyStatus.DRAFT) -> tuple[Survey, QuestionnaireVersion]:
    """Create a survey for ``questionnaire`` (slug from its id) or publish a new version of
    the owner's survey with that slug. Raises ValueError if another user owns the slug."""
    survey = session.execute(select(Survey).where(Survey.slug == questionnaire.id)).scalar_one_or_none()
    if survey is None:
        survey = Survey(slug=questionnaire.id, title="", owner=owner, status=status)
        session.add(survey)
    elif survey.owner_id != owner.id:
        raise ValueError(f"the survey address '{questionnaire.id}' is already taken by another account")
    return survey, publish(session, survey, questionnaire, owner)


@lru_cache(maxsize=256)
def _parse_version(sha256: str, definition: str) -> Questionnaire:
    return load_questionnaire(definition, max_bytes=len(definition.encode("utf-8")) + 1)


def questionnaire_of(version: QuestionnaireVersion) -> Questionnaire:
    """The loaded questionnaire of a stored version (parsed once per process, by hash)."""
    return _parse_version(version.sha256, version.definition)
