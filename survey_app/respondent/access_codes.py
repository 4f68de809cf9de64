"""One-time access codes for closed surveys: generated once, stored only as hashes."""
from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from survey_app.models import AccessCode, Response, ResponseStatus, Survey
from survey_app.models.types import utcnow

# No 0/O, 1/I/L: codes are read aloud and typed on phones.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10  # about 50 bits: unguessable under login-style throttling


def normalize(code: str) -> str:
    """The code as stored: upper case, without spaces or dashes."""
    return "".join(code.upper().split()).replace("-", "")


def _hash(survey: Survey, code: str) -> str:
    return hashlib.sha256(f"{survey.id}:{normalize(code)}".encode()).hexdigest()


def generate_codes(session: Session, survey: Survey, count: int) -> list[str]:
    """Create ``count`` new codes for ``survey`` (shown once, as ``XXXXX-XXXXX``)."""
    codes = ["".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)) for _ in range(count)]
    session.add_all(AccessCode(survey_id=survey.id, code_hash=_hash(survey, code)) for code in codes)
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def redeem(session: Session, survey: Survey, code: str, submission_id: str) -> AccessCode | None:
    """The code's row if it may still be used, bound to a submission id.

    A fresh code is bound to ``submission_id``; a code already bound keeps its own
    (so the code resumes its response from any browser). A code whose response was
    submitted is spent: None.
    """
    if len(code) > 40:
        return None
    row = session.execute(select(AccessCode).where(
        AccessCode.survey_id == survey.id, AccessCode.code_hash == _hash(survey, code)).with_for_update()
    ).scalar_one_or_none()
    if row is None or row.used_at is not None:
        return None
    if row.submission_id is not None:
        status = session.execute(select(Response.status).where(
            Response.survey_id == survey.id, Response.submission_id == row.submission_id)).scalar_one_or_none()
        if status is ResponseStatus.COMPLETE:
            return None
    else:
        row.submission_id = submission_id
    return row


def spend(session: Session, survey: Survey, submission_id: str) -> None:
    """Mark the code bound to a response as used (in the transaction that submits it)."""
    session.execute(update(AccessCode).where(AccessCode.survey_id == survey.id,
                                             AccessCode.submission_id == submission_id).values(used_at=utcnow()))
