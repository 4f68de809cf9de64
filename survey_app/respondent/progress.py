"""Where a respondent is: their submission id, language, and the pages ahead and behind."""
from __future__ import annotations

import uuid

from flask import request, session

from survey_app.questionnaire.model import Questionnaire
from survey_app.responses.logic import Resolution

_SUBMISSIONS = "submissions"
_LANGUAGES = "languages"
_ACCESS = "access"


def is_submission_id(text: str | None) -> bool:
    """Whether ``text`` is a submission id this platform would have issued (a UUID4)."""
    try:
        return text is not None and str(uuid.UUID(text, version=4)) == text
    except ValueError:
        return False


def submission_id(slug: str, *, create: bool = True) -> str | None:
    """The respondent's submission id for a survey, kept in the signed session cookie."""
    ids = session.get(_SUBMISSIONS, {})
    if slug not in ids and create:
        session[_SUBMISSIONS] = {**ids, slug: str(uuid.uuid4())}
    return session.get(_SUBMISSIONS, {}).get(slug)


def requested_submission_id(slug: str, posted: str | None) -> str | None:
    """The submission id a request is about, remembering nothing: a valid ``posted``
    one, else the session's."""
    return posted if is_submission_id(posted) else submission_id(slug, create=False)


def adopt_submission_id(slug: str, posted: str | None) -> str | None:
    """The submission id of a POST: the one the form carried, so a retry whose cookie was
    lost (or a second tab) still reaches the same response."""
    ids = session.get(_SUBMISSIONS, {})
    if is_submission_id(posted) and ids.get(slug) != posted:  # an unchanged session is not sent again
        session[_SUBMISSIONS] = {**ids, slug: posted}
    return requested_submission_id(slug, posted)


def forget_submission(slug: str) -> None:
    """Start afresh next time (after a submit, the next visit is a new response)."""
    session[_SUBMISSIONS] = {key: value for key, value in session.get(_SUBMISSIONS, {}).items() if key != slug}


def language(slug: str, questionnaire: Questionnaire) -> str:
    """The questionnaire language: ``?lang=``, else remembered, else the browser's, else the default."""
    chosen = request.args.get("lang")
    if chosen in questionnaire.languages:
        if session.get(_LANGUAGES, {}).get(slug) != chosen:  # an unchanged session is not sent again
            session[_LANGUAGES] = {**session.get(_LANGUAGES, {}), slug: chosen}
        return chosen
    remembered = session.get(_LANGUAGES, {}).get(slug)
    if remembered in questionnaire.languages:
        return remembered
    return request.accept_languages.best_match(questionnaire.languages) or questionnaire.default_language


def next_page(resolution: Resolution, current: str) -> str | None:
    """The next shown page after ``current`` (None: the end)."""
    pages = resolution.visible_pages
    index = pages.index(current) if current in pages else -1
    return pages[index + 1] if index + 1 < len(pages) else None


def previous_page(resolution: Resolution, current: str) -> str | None:
    """The shown page before ``current`` (None: it is the first)."""
    pages = resolution.visible_pages
    index = pages.index(current) if current in pages else len(pages)
    return pages[index - 1] if index > 0 else None


def grant_access(slug: str, submission_id: str) -> None:
    """Remember that this browser gave a valid access code, bound to ``submission_id``."""
    session[_SUBMISSIONS] = {**session.get(_SUBMISSIONS, {}), slug: submission_id}
    session[_ACCESS] = {**session.get(_ACCESS, {}), slug: submission_id}


def has_access(slug: str) -> bool:
    """Whether this browser gave the access code of its current response."""
    granted = session.get(_ACCESS, {}).get(slug)
    return granted is not None and granted == session.get(_SUBMISSIONS, {}).get(slug)
