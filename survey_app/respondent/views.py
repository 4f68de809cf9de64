"""The respondent's pages: /s/<slug> welcome, one URL per page, review, submit, thank you."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import Blueprint, abort, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, select

from survey_app import db, plugins, throttle
from survey_app.models import QuestionnaireVersion, Response, ResponseStatus, Survey, SurveyStatus
from survey_app.questionnaire.model import Page, Questionnaire
from survey_app.respondent import access_codes, progress
from survey_app.respondent.forms import (
    CodeForm, PageForm, answers_from, form_data, has_radio_buttons, options, page_form,
)
from survey_app.respondent.page_checks import FieldError, check_page
from survey_app.respondent.page_logic import logic_payload
from survey_app.respondent.rendering import plugin_input, questions_html
from survey_app.respondent.wording import Wording
from survey_app.responses.logic import resolve
from survey_app.responses.storage import AlreadySubmitted, Incomplete, save_page, submit
from survey_app.responses.validation import without_unparsable
from survey_app.surveys import questionnaire_of

blueprint = Blueprint("respondent", __name__, url_prefix="/s")
blueprint.add_app_template_global(plugin_input)  # also drawn by the designer's preview


@dataclass
class Visit:
    """The survey being answered, its current questionnaire and the respondent's language."""

    survey: Survey
    version: QuestionnaireVersion
    questionnaire: Questionnaire
    language: str

    @property
    def slug(self) -> str:
        return self.survey.slug

    def wording(self, answers) -> Wording:
        return Wording(self.questionnaire, self.language, answers)


#: The survey, its latest version and the respondent's response (if any) in one
#: query, built once: most respondent requests need nothing else from the database.
_VISIT_QUERY = (
    select(Survey, QuestionnaireVersion, Response)
    .join(QuestionnaireVersion, QuestionnaireVersion.survey_id == Survey.id)
    .outerjoin(Response, and_(Response.survey_id == Survey.id, Response.submission_id == bindparam("submission_id")))
    .where(Survey.slug == bindparam("slug")).order_by(QuestionnaireVersion.number.desc()).limit(1)
)


def _visit(slug: str, *, check_code: bool = True) -> Visit:
    """The open survey ``slug``; a friendly page (not an error) when it is not open, and
    the access-code page when the survey is closed to people without one."""
    return _visit_and_response(slug, None, check_code=check_code)[0]


def _visit_and_response(slug: str, submission_id: str | None, *,
                        check_code: bool = True) -> tuple[Visit, Response | None]:
    """:func:`_visit` and the response ``submission_id`` (None: there is none yet)."""
    found = db.reads_outside_transaction().execute(_VISIT_QUERY, {"slug": slug, "submission_id": submission_id}).first()
    if found is None:
        abort(404)
    survey, version, response = found
    questionnaire = questionnaire_of(version)
    visit = Visit(survey, version, questionnaire, progress.language(slug, questionnaire))
    g.interface_language = visit.language
    if survey.status is not SurveyStatus.OPEN:
        abort(_unavailable(visit))
    if check_code and survey.requires_access_code and not progress.has_access(slug):
        abort(redirect(url_for(".access_code", slug=slug)))
    return visit, response


def _unavailable(visit: Visit):
    wording = visit.wording({})
    closed = visit.survey.status in (SurveyStatus.CLOSED, SurveyStatus.ARCHIVED)
    message = _("This survey has closed. Thank you for your interest.") if closed else \
        _("This survey is not open yet. Please come back later.")
    return make_response(render_template("respondent/unavailable.html", visit=visit,
                                         title=wording(visit.questionnaire.title), message=message))


def _response(visit: Visit, submission_id: str | None) -> Response | None:
    if submission_id is None:
        return None
    return db.session().execute(select(Response).where(
        Response.survey_id == visit.survey.id, Response.submission_id == submission_id)).scalar_one_or_none()


def _answers(response: Response | None) -> dict:
    return dict((response.data or {}).get("answers", {})) if response is not None else {}


@blueprint.route("/<slug>")
def welcome(slug: str):
    """The welcome page: title, description, language choice, start or continue."""
    visit, response = _visit_and_response(slug, progress.submission_id(slug, create=False))
    if response is not None and response.status is ResponseStatus.COMPLETE:
        progress.forget_submission(slug)
        response = None
    first = resolve(visit.questionnaire, _answers(response)).visible_pages[0]
    resume_page = response.current_page if response is not None else None
    return render_template("respondent/welcome.html", visit=visit, wording=visit.wording({}),
                           start=url_for(".page", slug=slug, page_id=resume_page or first), resuming=resume_page is not None)


@blueprint.route("/<slug>/p/<page_id>", methods=["GET", "POST"])
def page(slug: str, page_id: str):
    """One page of questions: show it, or check and save what was posted."""
    posted = request.form.get("submission_id") if request.method == "POST" else None
    visit, response = _visit_and_response(slug, progress.requested_submission_id(slug, posted))
    questionnaire = visit.questionnaire
    page = questionnaire.page(page_id) or abort(404)
    if request.method == "POST":
        submission_id = progress.adopt_submission_id(slug, posted)
    else:
        submission_id = progress.submission_id(slug)
    if response is not None and response.status is ResponseStatus.COMPLETE and request.method == "GET":
        return redirect(url_for(".done", slug=slug))
    stored = _answers(response)
    resolution = resolve(questionnaire, stored)
    if not resolution.shows_page(page.id):
        return redirect(_after(visit, resolution, page.id))
    wording = visit.wording(resolution.answers)
    questions = page.questions

    def questions_form() -> PageForm:
        return page_form(questionnaire, page, formdata=request.form if request.method == "POST" else None,
                         data=form_data(questions, stored), submission_id=submission_id)

    checking = request.method == "GET" and bool(request.args.get("check"))  # sent back by the final submit
    # A plain GET may draw its questions from the cache: their fields are bound only to draw them.
    form = questions_form() if request.method == "POST" or checking else None
    errors: list[FieldError] = []
    if checking:
        errors = check_page(visit.questionnaire, visit.language, page, form, stored, stored)
    if request.method == "POST":
        if not form.validate():  # the CSRF token and the shape of the posted data
            abort(400)
        action = request.form.get("action", "next")
        if action.startswith(("add:", "remove:")):
            _change_entries(form, action)
        else:
            answers = answers_from(form, questions)
            errors = check_page(visit.questionnaire, visit.language, page, form, stored, answers)
            if not errors or action in ("back", "save_later"):
                return _save_and_move(visit, page, submission_id, stored, answers, errors, action)
    untouched = not errors and request.method == "GET" and not any(question.id in stored for question in questions)

    def draw() -> str:
        return render_template("respondent/_page_questions.html", page=page, wording=wording,
                               form=form if form is not None else questions_form(),
                               options=options, has_radio_buttons=has_radio_buttons,
                               field_errors={error.field_id: error.message for error in errors})

    return render_template(
        "respondent/page.html", visit=visit, page=page, wording=wording, errors=errors, submission_id=submission_id,
        questions_html=questions_html(questionnaire, page, visit.language, draw, untouched=untouched),
        logic=logic_payload(questionnaire, page, resolution.answers),
        position=_position(resolution, page.id), back=progress.previous_page(resolution, page.id),
    ), (422 if errors else 200)


def _position(resolution, page_id: str) -> tuple[int, int]:
    pages = resolution.visible_pages
    return pages.index(page_id) + 1, len(pages)


def _after(visit: Visit, resolution, page_id: str) -> str:
    following = progress.next_page(resolution, page_id)
    return url_for(".page", slug=visit.slug, page_id=following) if following else url_for(".review", slug=visit.slug)


def _change_entries(form, action: str) -> None:
    """Add an entry to a repeat group, or remove one (no JavaScript needed)."""
    parts = action.split(":")
    group = parts[1]
    if group not in form._fields:
        abort(400)
    entries = form[group]
    if parts[0] == "add" and len(entries.entries) < 100:
        entries.append_entry()
    elif parts[0] == "remove" and len(parts) == 3 and parts[2].isdigit():
        index = int(parts[2])
        kept = [entry.data for number, entry in enumerate(entries.entries) if number != index]
        while entries.entries:
            entries.pop_entry()
        for data in kept:
            entries.append_entry(data)


def _save_and_move(visit: Visit, page: Page, submission_id: str, stored: dict, answers: dict,
                   errors: list, action: str):
    """Save the page's acceptable answers and go on (or back)."""
    if errors:  # going back or saving for later: keep what could be read (the final submit checks it all)
        answers = without_unparsable(answers)
    resolution = resolve(visit.questionnaire, {**stored, **answers})
    if action == "back":
        target_page = progress.previous_page(resolution, page.id) or page.id
    elif action == "save_later":
        target_page = page.id
    else:
        target_page = progress.next_page(resolution, page.id)
    session = db.session()
    try:
        response = save_page(session, visit.survey, visit.version, visit.questionnaire,
                             submission_id=submission_id, language=visit.language, page_answers=answers,
                             next_page=target_page or page.id, metadata=_metadata(visit))
    except AlreadySubmitted as already:
        if already.same:
            return redirect(url_for(".done", slug=visit.slug))
        abort(409, _("This response was already submitted, with other answers. It cannot be changed now."))
    plugins.call_safely("page_saved", session, response, questionnaire=visit.questionnaire, page=page)
    if action == "save_later" and visit.questionnaire.setting("allow_resume"):
        return _resume_link(visit, submission_id)
    if target_page is None:
        if not visit.questionnaire.setting("show_review"):
            return _submit(visit, submission_id)
        return redirect(url_for(".review", slug=visit.slug))
    return redirect(url_for(".page", slug=visit.slug, page_id=target_page))


def _metadata(visit: Visit) -> dict:
    questionnaire = visit.questionnaire
    return {
        "ip_address": request.remote_addr if questionnaire.setting("record_ip") else None,
        "user_agent": (request.user_agent.string or "")[:500] if questionnaire.setting("record_user_agent") else None,
    }


@blueprint.route("/<slug>/review")
def review(slug: str):
    """Every answer given, with a link to change it, and the final submit button."""
    visit, response = _visit_and_response(slug, progress.submission_id(slug, create=False))
    submission_id = progress.submission_id(slug)
    if response is None:
        return redirect(url_for(".welcome", slug=slug))
    if response.status is ResponseStatus.COMPLETE:
        return redirect(url_for(".done", slug=slug))
    resolution = resolve(visit.questionnaire, _answers(response))
    return render_template("respondent/review.html", visit=visit, resolution=resolution,
                           wording=visit.wording(resolution.answers), submission_id=submission_id)


@blueprint.route("/<slug>/submit", methods=["POST"])
def submit_response(slug: str):
    """The final submit: idempotent, so a double click or a retry stores one response."""
    visit = _visit(slug)  # the submit reads the response itself, under a lock
    submission_id = progress.adopt_submission_id(slug, request.form.get("submission_id"))
    if submission_id is None:
        return redirect(url_for(".welcome", slug=slug))
    return _submit(visit, submission_id)


def _submit(visit: Visit, submission_id: str):
    session = db.session()

    def complete(response: Response) -> None:
        if visit.survey.requires_access_code:
            access_codes.spend(session, visit.survey, submission_id)
        plugins.call_in_savepoints("response_completed", session, response, questionnaire=visit.questionnaire)

    try:
        outcome = submit(session, visit.survey, visit.questionnaire, submission_id, before_commit=complete)
    except Incomplete as incomplete:
        first = incomplete.problems[0]
        return redirect(url_for(".page", slug=visit.slug, page_id=first.page_id, check=1))
    if outcome is None:
        return redirect(url_for(".welcome", slug=visit.slug))
    return redirect(url_for(".done", slug=visit.slug, receipt=submission_id))


@blueprint.route("/<slug>/done")
def done(slug: str):
    """The thank-you page with a receipt; the next visit starts a new response."""
    submission_id = request.args.get("receipt") or progress.submission_id(slug, create=False)
    visit, response = _visit_and_response(slug, submission_id if progress.is_submission_id(submission_id) else None)
    if response is None or response.status is not ResponseStatus.COMPLETE:
        return redirect(url_for(".welcome", slug=slug))
    if progress.submission_id(slug, create=False) == submission_id:
        progress.forget_submission(slug)
    snippets = [snippet for found in plugins.hook().page_snippets(
        slot="thank_you", questionnaire=visit.questionnaire, response=response, language=visit.language)
        for snippet in found or ()]
    return render_template("respondent/done.html", visit=visit, wording=visit.wording(_answers(response)),
                           receipt=submission_id[:8].upper(), snippets=snippets)


@blueprint.route("/<slug>/code", methods=["GET", "POST"])
def access_code(slug: str):
    """Ask for the one-time access code of a closed survey."""
    visit = _visit(slug, check_code=False)
    error = None
    if request.method == "POST":
        form = CodeForm()
        if not form.validate():
            abort(400)
        if not throttle.hit(f"access-code:{request.remote_addr}", 20, timedelta(minutes=15)):
            abort(429, _("Too many attempts. Wait 15 minutes and try again."))
        session = db.session()
        db.begin_write(session)
        row = access_codes.redeem(session, visit.survey, form.code.data or "", progress.submission_id(slug))
        if row is not None:
            submission_id = row.submission_id
            session.commit()
            progress.grant_access(slug, submission_id)
            return redirect(url_for(".welcome", slug=slug))
        session.rollback()
        error = _("This code is not valid, or it has already been used.")
    return render_template("respondent/code.html", visit=visit, wording=visit.wording({}), form=CodeForm(),
                           error=error), (422 if error else 200)


def _resume_link(visit: Visit, submission_id: str):
    """Give the respondent a link to continue later, in any browser (only its hash is kept)."""
    token = secrets.token_urlsafe(24)
    session = db.session()
    db.begin_write(session)
    response = _response(visit, submission_id)
    response.resume_token_hash = hashlib.sha256(token.encode()).hexdigest()
    session.commit()
    link = url_for(".resume", slug=visit.slug, token=token, _external=True)
    return render_template("respondent/later.html", visit=visit, wording=visit.wording({}), link=link)


@blueprint.route("/<slug>/resume/<token>")
def resume(slug: str, token: str):
    """Continue a response from a resume link, in any browser."""
    visit = _visit(slug)
    digest = hashlib.sha256(token.encode()).hexdigest()
    response = db.session().execute(select(Response).where(
        Response.survey_id == visit.survey.id, Response.resume_token_hash == digest)).scalar_one_or_none()
    if response is None or response.status is ResponseStatus.COMPLETE:
        abort(404)
    progress.adopt_submission_id(slug, response.submission_id)
    return redirect(url_for(".page", slug=slug, page_id=response.current_page or visit.questionnaire.pages[0].id,
                            lang=response.language))
