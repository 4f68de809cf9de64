"""The live preview of a draft, rendered by the respondent's own templates and forms.

Pages are answered exactly as a respondent would answer them (the same
``page_form``, checks, show/hide logic and ``respondent/page.html``), in any
of the questionnaire's languages, but the answers live only in this browser's
session: the preview never writes a response. The respondent templates link to
the respondent routes; the preview renders them with a ``url_for`` that sends
those links back into the preview.
"""
from __future__ import annotations

import json
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup

from survey_app.access import Permission, survey_or_404
from survey_app.design import blueprint
from survey_app.design.drafts import Checked, check, digest, draft_text
from survey_app.models import Survey
from survey_app.questionnaire.model import Questionnaire
from survey_app.respondent import progress
from survey_app.respondent.forms import answers_from, form_data, has_radio_buttons, options, page_form
from survey_app.respondent.page_checks import check_page
from survey_app.respondent.page_logic import logic_payload
from survey_app.respondent.views import Visit
from survey_app.respondent.wording import Wording
from survey_app.responses.logic import resolve
from survey_app.responses.validation import response_problems, without_unparsable

_STATE = "design_preview"
REVIEW = "_review"  # page ids start with a letter, so this is never one
#: The preview keeps its answers in the session cookie, which browsers cap at 4 kB.
MAX_STATE_CHARACTERS = 2_400
MAX_TEXT = 200
PREVIEW_SUBMISSION_ID = "preview"


# ---------------------------------------------------------------- the preview's memory


def _state(survey: Survey, fingerprint: str) -> dict[str, Any]:
    """This browser's preview of this draft (a new one when the draft or survey changed)."""
    state = session.get(_STATE)
    if not isinstance(state, dict) or state.get("slug") != survey.slug or state.get("draft") != fingerprint:
        state = {"slug": survey.slug, "draft": fingerprint, "answers": {}, "lang": None}
    return state


def _keep(state: dict[str, Any], answers: dict[str, Any]) -> bool:
    """Store the answers in the session; False if some long texts had to be shortened or dropped."""
    complete = True
    kept = {}
    for name, value in answers.items():
        if isinstance(value, str) and len(value) > MAX_TEXT:
            value, complete = value[:MAX_TEXT], False
        kept[name] = value
    while len(json.dumps(kept)) > MAX_STATE_CHARACTERS and kept:
        longest = max(kept, key=lambda name: len(json.dumps(kept[name])))
        kept.pop(longest)
        complete = False
    session[_STATE] = {**state, "answers": kept}
    return complete


def _forget() -> None:
    session.pop(_STATE, None)


# ---------------------------------------------------------------- rendering


def _language(questionnaire: Questionnaire, state: dict[str, Any]) -> str:
    chosen = request.args.get("lang")
    if chosen in questionnaire.languages:
        state["lang"] = chosen
        session[_STATE] = state
        return chosen
    if state.get("lang") in questionnaire.languages:
        return state["lang"]
    return questionnaire.default_language


def preview_url_for(slug: str):
    """``url_for`` for the respondent templates: their own routes lead back into the preview."""
    def build(endpoint: str, **values) -> str:
        if endpoint == "respondent.page":
            values.pop("slug", None)
            return url_for("design.preview", slug=slug, **values)
        if endpoint in ("respondent.review", "respondent.submit_response"):
            return url_for("design.preview", slug=slug, page_id=REVIEW)
        if endpoint.startswith("respondent."):
            return url_for("design.preview", slug=slug)
        return url_for(endpoint, **values)
    return build


def _render(template: str, visit: Visit, state: dict[str, Any], status: int = 200, **context):
    return render_template(template, visit=visit, url_for=preview_url_for(visit.slug), preview=True,
                           survey=visit.survey, languages=visit.questionnaire.languages, **context), status


def _draft(survey: Survey) -> tuple[Checked, str]:
    text = draft_text(survey)
    checked = check(text)
    if not checked.valid:
        flash(_("The preview shows a draft without problems: fix the problems listed first."), "error")
        abort(redirect(url_for("design.edit", slug=survey.slug)))
    return checked, digest(text)


@blueprint.route("/surveys/<slug>/preview", methods=["GET", "POST"])
@blueprint.route("/surveys/<slug>/preview/<page_id>", methods=["GET", "POST"])
@login_required
def preview(slug: str, page_id: str | None = None):
    """A page of the draft as respondents will see it; the review page is ``_review``."""
    survey = survey_or_404(slug, Permission.EDIT)
    checked, fingerprint = _draft(survey)
    questionnaire = checked.questionnaire
    state = _state(survey, fingerprint)
    language = _language(questionnaire, state)
    g.interface_language = language
    visit = Visit(survey, survey.latest_version, questionnaire, language)  # the draft stands in for a version
    if request.method == "POST" and request.form.get("action") == "restart":
        _forget()
        return redirect(url_for("design.preview", slug=slug, lang=language))
    stored = dict(state.get("answers") or {})
    resolution = resolve(questionnaire, stored)
    if page_id is None:
        return redirect(url_for("design.preview", slug=slug, page_id=resolution.visible_pages[0], lang=language))
    if page_id == REVIEW:
        return _review(visit, state, stored)
    page = questionnaire.page(page_id) or abort(404)
    if not resolution.shows_page(page.id):
        following = progress.next_page(resolution, page.id)
        return redirect(url_for("design.preview", slug=slug, page_id=following or REVIEW))
    wording = Wording(questionnaire, language, resolution.answers)
    form = page_form(questionnaire, page, formdata=request.form if request.method == "POST" else None,
                     data=form_data(page.questions, stored), submission_id=PREVIEW_SUBMISSION_ID)
    errors = []
    if request.method == "GET" and request.args.get("check"):
        errors = check_page(questionnaire, language, page, form, stored, stored)
    if request.method == "POST":
        if not form.validate():
            abort(400)
        action = request.form.get("action", "next")
        if action.startswith(("add:", "remove:")):
            _change_entries(form, action)
        else:
            answers = answers_from(form, page.questions)
            errors = check_page(questionnaire, language, page, form, stored, answers)
            if not errors or action in ("back", "save_later"):
                return _move(visit, state, stored, page, without_unparsable(answers), action)
    # The context of respondent.views.page, so that its templates draw the same page. The
    # questions are always drawn afresh: a draft is not worth a place in its page cache.
    field_errors = {error.field_id: error.message for error in errors}
    questions = Markup(render_template(
        "respondent/_page_questions.html", page=page, form=form, wording=wording, options=options,
        has_radio_buttons=has_radio_buttons, field_errors=field_errors, url_for=preview_url_for(visit.slug)))
    return _render("design/preview_page.html", visit, state, 422 if errors else 200,
                   page=page, form=form, wording=wording, errors=errors, questions_html=questions,
                   submission_id=PREVIEW_SUBMISSION_ID,
                   options=options, has_radio_buttons=has_radio_buttons, field_errors=field_errors,
                   logic=logic_payload(questionnaire, page, resolution.answers),
                   position=_position(resolution, page.id), back=progress.previous_page(resolution, page.id))


def _position(resolution, page_id: str) -> tuple[int, int]:
    pages = resolution.visible_pages
    return pages.index(page_id) + 1, len(pages)


def _change_entries(form, action: str) -> None:
    """Add or remove a repeat-group entry, as the respondent pages do."""
    parts = action.split(":")
    if parts[1] not in form._fields:
        abort(400)
    entries = form[parts[1]]
    if parts[0] == "add" and len(entries.entries) < 100:
        entries.append_entry()
    elif parts[0] == "remove" and len(parts) == 3 and parts[2].isdigit():
        kept = [entry.data for number, entry in enumerate(entries.entries) if number != int(parts[2])]
        while entries.entries:
            entries.pop_entry()
        for data in kept:
            entries.append_entry(data)


def _move(visit: Visit, state: dict[str, Any], stored: dict[str, Any], page, answers: dict[str, Any], action: str):
    questionnaire, slug = visit.questionnaire, visit.slug
    merged = {**stored, **answers}
    if not _keep(state, merged):
        flash(_("The preview remembers only short answers: some long texts were shortened or left out."), "info")
    resolution = resolve(questionnaire, merged)
    if action == "back":
        target = progress.previous_page(resolution, page.id) or page.id
    elif action == "save_later":
        flash(_("Here respondents get a link to continue later. The preview keeps your answers in this browser."),
              "info")
        target = page.id
    else:
        target = progress.next_page(resolution, page.id)
    if target is None:
        if not questionnaire.setting("show_review"):
            return _finish(visit, state, merged)
        target = REVIEW
    return redirect(url_for("design.preview", slug=slug, page_id=target))


def _review(visit: Visit, state: dict[str, Any], stored: dict[str, Any]):
    """The review page (GET), or its final "send" (POST), which ends the preview."""
    if request.method == "POST":
        problems = response_problems(visit.questionnaire, stored)
        if problems:
            return redirect(url_for("design.preview", slug=visit.slug, page_id=problems[0].page_id, check=1))
        return _finish(visit, state, stored)
    resolution = resolve(visit.questionnaire, stored)
    return _render("design/preview_review.html", visit, state, resolution=resolution,
                   wording=Wording(visit.questionnaire, visit.language, resolution.answers),
                   submission_id=PREVIEW_SUBMISSION_ID)


def _finish(visit: Visit, state: dict[str, Any], answers: dict[str, Any]):
    """The end of the preview: what a respondent would read, and nothing stored."""
    resolution = resolve(visit.questionnaire, answers)
    _forget()
    return _render("design/preview_done.html", visit, state, answers=resolution.answers,
                   wording=Wording(visit.questionnaire, visit.language, resolution.answers))
