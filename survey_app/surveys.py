"""Creating surveys and publishing questionnaire versions."""
from __future__ import annotations

import hashlib
import threading
import json
from collections import OrderedDict

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_app import plugins, question_types
from survey_app.models import QuestionnaireVersion, Survey, SurveyStatus, User
from survey_app.questionnaire import Problem, Questionnaire, QuestionnaireInvalid, find_problems, load_questionnaire
from survey_app.questionnaire.plugin_types import QuestionTypes
from survey_app.questionnaire.texts import localize
from survey_app.xlsform import find_xlsform_problems, is_xlsform, load_xlsform


def load_checked(source: bytes | str, app: Flask | None = None) -> Questionnaire:
    """Load a questionnaire (JSON, or an XLSForm workbook's bytes) with the core checks
    and every plugin's checks. Raises :class:`~survey_app.questionnaire.QuestionnaireInvalid`."""
    app = app or current_app
    limits = {"max_bytes": app.config["MAX_QUESTIONNAIRE_BYTES"], "check_plugins": plugins.questionnaire_checker(app)}
    if isinstance(source, bytes) and is_xlsform(source):
        return load_xlsform(source, **limits)  # XLSForm has no plugin types: it refuses unknown types by name
    return load_questionnaire(source, **limits, question_types=question_types.registry(app))


def checked_problems(source: bytes | str, app: Flask | None = None) -> list[Problem]:
    """Every problem :func:`load_checked` would report (an empty list: it loads)."""
    app = app or current_app
    limits = {"max_bytes": app.config["MAX_QUESTIONNAIRE_BYTES"], "check_plugins": plugins.questionnaire_checker(app)}
    if isinstance(source, bytes) and is_xlsform(source):
        return find_xlsform_problems(source, **limits)
    return find_problems(source, **limits, question_types=question_types.registry(app))


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


#: Loaded questionnaires by the hash of their JSON and the plugins' question types:
#: versions never change, so this process-wide cache is always right, whichever app
#: or database asks.
_LOADED: OrderedDict[tuple[str, QuestionTypes], Questionnaire] = OrderedDict()
_CACHE_SIZE = 256
_LOADED_LOCK = threading.Lock()


class VersionUnavailable(Exception):
    """A published version that no longer loads here, e.g. because the plugin that adds
    one of its question types was uninstalled or disabled."""

    def __init__(self, version: QuestionnaireVersion, problems: list[Problem]):
        super().__init__(f"version {version.number} of survey {version.survey_id} does not load: "
                         + "; ".join(map(str, problems[:3])))
        self.problems = problems


def questionnaire_of(version: QuestionnaireVersion, app: Flask | None = None) -> Questionnaire:
    """The loaded questionnaire of a stored version, parsed once per process; the
    (deferred) JSON text is read from the database only on a cache miss.

    Raises :class:`VersionUnavailable` when the version does not load with the
    question types of ``app``'s plugins (default: the current app).
    """
    key = (version.sha256, question_types.registry(app))
    found = _LOADED.get(key)
    if found is None:
        definition = version.definition
        try:
            found = load_questionnaire(definition, max_bytes=len(definition.encode("utf-8")) + 1,
                                       question_types=key[1])
        except QuestionnaireInvalid as error:
            raise VersionUnavailable(version, error.problems) from None
    with _LOADED_LOCK:  # threaded servers: keep the order and the size consistent
        _LOADED[key] = found
        _LOADED.move_to_end(key)
        while len(_LOADED) > _CACHE_SIZE:
            _LOADED.popitem(last=False)
    return found
