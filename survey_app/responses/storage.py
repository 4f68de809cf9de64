"""Saving responses: each page as a partial response, then one idempotent final submit.

A response is found by (survey, submission id), an id the respondent's browser
session gets once and sends with every page, so retries, double clicks and
reloads always reach the same row. Every write is one transaction.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from survey_app import db
from survey_app.models import Answer, QuestionnaireVersion, Response, ResponseStatus, Survey
from survey_app.models.types import utcnow
from survey_app.questionnaire.model import Question, Questionnaire
from survey_app.responses.logic import Answers, other_key, resolve
from survey_app.responses.validation import AnswerProblem, response_problems

OTHER_ITEM = "#other"


class AlreadySubmitted(Exception):
    """The response was submitted before; ``same`` tells whether with these very answers."""

    def __init__(self, response: Response, same: bool):
        super().__init__("this response has already been submitted")
        self.response, self.same = response, same


class Incomplete(Exception):
    """The final submit found problems (e.g. a required answer missing)."""

    def __init__(self, problems: list[AnswerProblem]):
        super().__init__(f"{len(problems)} answer(s) need attention")
        self.problems = problems


def content_hash(answers: Answers) -> str:
    """A stable hash of a response's answers (key order does not matter)."""
    canonical = json.dumps(answers, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def answer_rows(questionnaire: Questionnaire, answers: Answers) -> Iterator[dict[str, Any]]:
    """The :class:`Answer` rows (without ids) that store ``answers``."""
    for question in questionnaire.all_questions():
        if question.repeat_id is None:
            yield from _rows(question, answers, entry=0)
    for question in questionnaire.all_questions():
        if question.type == "repeat":
            for number, entry in enumerate(answers.get(question.id) or (), start=1):
                for child in question.questions:
                    yield from _rows(child, entry, entry=number)


def _rows(question: Question, answers: Mapping[str, Any], entry: int) -> Iterator[dict[str, Any]]:
    value = answers.get(question.id)
    if value is None or question.type == "repeat":
        return
    row = {"question_id": question.id, "entry": entry, "item": "", "code": None, "number": None, "text": None}
    match question.type:
        case _ if question.plugin_type is not None:  # its value kind decides: a number or a text
            yield {**row, question.plugin_type.column: value}
        case "single_choice" | "yes_no":
            yield {**row, "code": value}
        case "multiple_choice":
            yield from ({**row, "item": choice, "code": choice} for choice in value)
        case "ranking":
            yield from ({**row, "item": choice, "code": choice, "number": rank} for rank, choice in enumerate(value, 1))
        case "matrix":
            yield from ({**row, "item": line, "code": cell} for line, cell in value.items())
        case "integer" | "decimal" | "rating":
            yield {**row, "number": value}
        case "calculated":
            if isinstance(value, bool):
                yield {**row, "code": "true" if value else "false"}
            elif isinstance(value, (int, float)):
                yield {**row, "number": value}
            else:
                yield {**row, "text": str(value)}
        case _:
            yield {**row, "text": value}
    other = answers.get(other_key(question.id))
    if other:
        yield {**row, "item": OTHER_ITEM, "text": other}


#: A submission's response, locked until the transaction ends (built once: every save and submit runs it).
_LOCKED_RESPONSE = select(Response).where(
    Response.survey_id == bindparam("survey_id"), Response.submission_id == bindparam("submission_id"),
).with_for_update().execution_options(populate_existing=True)  # the row as locked, not as read before


def _locked_response(session: Session, survey: Survey, submission_id: str) -> Response | None:
    found = session.execute(_LOCKED_RESPONSE, {"survey_id": survey.id, "submission_id": submission_id})
    return found.scalar_one_or_none()


def _write_answers(session: Session, response: Response, questionnaire: Questionnaire, answers: Answers) -> None:
    session.execute(delete(Answer).where(Answer.response_id == response.id))
    rows = [{**row, "survey_id": response.survey_id, "response_id": response.id} for row in answer_rows(questionnaire, answers)]
    if rows:  # one Core executemany: the ORM would split rows by which columns are null
        session.execute(insert(Answer.__table__), rows)


def save_page(session: Session, survey: Survey, version: QuestionnaireVersion, questionnaire: Questionnaire, *,
              submission_id: str, language: str, page_answers: Answers, next_page: str | None,
              metadata: Mapping[str, str | None] | None = None) -> Response:
    """Merge one page's answers into the partial response (creating it on the first page).

    Raises :class:`AlreadySubmitted` when the response is complete: a page cannot
    change a submitted response.
    """
    for attempt in range(2):
        db.begin_write(session)
        response = _locked_response(session, survey, submission_id)
        if response is not None and response.status is ResponseStatus.COMPLETE:
            merged = resolve(questionnaire, {**response.data.get("answers", {}), **page_answers}).answers
            session.rollback()
            raise AlreadySubmitted(response, same=content_hash(merged) == response.content_hash)
        if response is None:
            response = Response(survey_id=survey.id, version_id=version.id, submission_id=submission_id,
                                language=language, data={}, **(metadata or {}))
            session.add(response)
        answers = resolve(questionnaire, {**(response.data or {}).get("answers", {}), **page_answers}).answers
        response.data = {"answers": answers}
        response.language, response.current_page = language, next_page
        response.updated_at = utcnow()
        response.revision = (response.revision or 0) + 1
        try:
            session.flush()
        except IntegrityError:  # the same submission's first page arrived twice at once
            session.rollback()
            if attempt:
                raise
            continue
        _write_answers(session, response, questionnaire, answers)
        session.commit()
        return response
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Submitted:
    """The outcome of a final submit: the response, and whether this call completed it."""

    response: Response
    first_time: bool


def submit(session: Session, survey: Survey, questionnaire: Questionnaire, submission_id: str,
           before_commit: Callable[[Response], None] | None = None) -> Submitted | None:
    """Complete the response once; a repeat (double click, retry) finds it complete.

    ``before_commit`` runs in the same transaction once the response is complete
    (plugins computing scores, each in a savepoint): the completion and what is
    derived from it are stored together, or not at all. Returns None when there
    is no such response. Raises :class:`Incomplete` when an answer is missing or
    wrong (the server's check is the one that counts).
    """
    db.begin_write(session)
    response = _locked_response(session, survey, submission_id)
    if response is None:
        session.rollback()
        return None
    if response.status is ResponseStatus.COMPLETE:
        session.commit()
        return Submitted(response, first_time=False)
    resolution = resolve(questionnaire, response.data.get("answers", {}))
    answers = resolution.answers
    problems = response_problems(questionnaire, answers, resolution)
    if problems:
        session.rollback()
        raise Incomplete(problems)
    if answers != response.data.get("answers"):  # else the page saves already wrote these rows
        response.data = {"answers": answers}
        _write_answers(session, response, questionnaire, answers)
    response.status = ResponseStatus.COMPLETE
    response.submitted_at = response.updated_at = utcnow()
    response.revision += 1
    response.current_page = None
    response.content_hash = content_hash(answers)
    if before_commit is not None:
        before_commit(response)
    session.commit()
    return Submitted(response, first_time=True)
