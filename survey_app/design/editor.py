"""The questionnaire editor: the draft JSON (a textarea that CodeMirror enhances), its
problems with their lines, and an outline for small edits without JSON.

Saving keeps whatever was written as the draft, valid or not; only a valid draft
can be previewed and published. A form carries the fingerprint (``base``) of the
draft it was made from, so a stale page (another tab, a colleague) never
silently undoes newer work.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import func, select
from wtforms import SelectChoice

from survey_app import db, question_types
from survey_app.access import Permission, survey_or_404
from survey_app.design import blueprint
from survey_app.design.drafts import (
    Checked, check, digest, draft_text, lock, normalise, pretty, published_digest, refusal, title_of,
)
from survey_app.design.forms import DraftFileForm, DraftForm, OutlineForm
from survey_app.design.uploads import file_text, flash_draft_state
from survey_app.design.outline import (
    QUESTION_TYPES, OutlineError, add_page, delete_question, insert_question, move_question, outline, question_path,
    text_of,
)
from survey_app.models import Response, Survey
from survey_app.questionnaire.jsonsafe import parse_json
from survey_app.questionnaire.texts import localize

TYPE_LABELS = {
    "single_choice": _l("One choice"), "multiple_choice": _l("Several choices"), "yes_no": _l("Yes / no"),
    "text": _l("Short text"), "long_text": _l("Long text"), "email": _l("E-mail address"),
    "integer": _l("Whole number"), "decimal": _l("Number with decimals"), "date": _l("Date"),
    "rating": _l("Rating scale"), "matrix": _l("Matrix (rows × scale)"), "ranking": _l("Ranking"),
    "note": _l("Note (text only)"), "calculated": _l("Calculated value"), "repeat": _l("Repeated group"),
}


def type_labels() -> dict[str, str]:
    """Every question type the designer offers, built-in first, with its name in the interface language."""
    language = str(get_locale())
    added = {name: localize(kind.label, language, "en") or name for name, kind in question_types.registry().items()}
    return {**{kind: str(TYPE_LABELS[kind]) for kind in QUESTION_TYPES}, **added}


def outline_message(code: str) -> str:
    """What went wrong with an outline edit, in the researcher's words."""
    return {
        "no_pages": _("The outline needs a list of pages (\"pages\") in the JSON."),
        "no_questions": _("Each page needs a list of questions (\"questions\") in the JSON."),
        "not_a_question": _("That question is no longer there. Check the outline and try again."),
        "no_such_page": _("That page is no longer there. Check the outline and try again."),
        "unknown_type": _("Choose a question type from the list."),
        "bad_direction": _("A question can move up or down."),
        "edge_of_group": _("The question is already at the edge of its group."),
        "edge_of_questionnaire": _("The question is already at the edge of the questionnaire."),
        "page_needs_a_question": _("It is the only question on its page: a page needs at least one question."),
        "group_needs_a_question": _("A repeated group needs at least one question."),
        "questionnaire_needs_a_question": _("A questionnaire needs at least one question."),
    }.get(code, _("This change cannot be made."))


def response_count(survey: Survey) -> int:
    """Responses of any status the survey has collected (partial ones included)."""
    return db.session().execute(select(func.count()).select_from(Response)
                                .where(Response.survey_id == survey.id)).scalar_one()


def publish_state(survey: Survey, checked: Checked) -> str | None:
    """Why the draft cannot be published now (None: it can)."""
    if not checked.valid:
        return _("Fix the problems listed before publishing.")
    latest = survey.latest_version
    if latest is not None and published_digest(checked.text) == latest.sha256:
        return _("The draft is the same as the published version %(number)s.", number=latest.number)
    return None


def _outline_form(survey: Survey, text: str, pages) -> OutlineForm:
    form = OutlineForm(base=digest(text))
    form.kind.choices = [SelectChoice(kind, label) for kind, label in type_labels().items()]
    positions = []
    for page in pages:
        name = page.title or page.id or str(page.index + 1)
        positions.append(SelectChoice(f"{page.index}:0", _("At the start of page “%(page)s”", page=name)))
        for number, question in enumerate(page.questions, start=1):
            positions.append(SelectChoice(f"{page.index}:{number}",
                                          _("After “%(question)s”", question=question.label or question.id)))
    positions.append(SelectChoice("new", _("On a new page at the end")))
    form.position.choices = positions
    if len(positions) > 1:
        form.position.data = positions[-2].value
    return form


def render_editor(survey: Survey, text: str, *, stored: str | None = None, status: int = 200,
                  warning: str | None = None):
    """The editor page for ``text``; ``stored`` is the saved draft when ``text`` is not
    (a refused or conflicting save: the outline then works on nothing)."""
    stored = text if stored is None else stored
    checked = check(text)
    pages, outline_problem = None, None
    if text != stored:
        outline_problem = _("Save the draft to use the outline.")
    elif checked.document is None:
        outline_problem = _("The outline appears when the text reads as JSON: fix the first problem listed.")
    else:
        try:
            pages = outline(checked.document, str(get_locale()))
        except OutlineError as error:
            outline_problem = outline_message(error.code)
    form = DraftForm(formdata=None, definition=text, base=digest(stored))
    document = checked.questionnaire.document if checked.valid else checked.document
    languages = list(checked.questionnaire.languages) if checked.valid else []
    return render_template(
        "design/editor.html", survey=survey, checked=checked, form=form,
        file_form=DraftFileForm(formdata=None, base=digest(stored)), pages=pages, outline_problem=outline_problem,
        outline_form=_outline_form(survey, stored, pages) if pages is not None else None, type_labels=type_labels(),
        cannot_publish=publish_state(survey, checked), warning=warning, languages=languages,
        draft_title=text_of(document, document.get("title")) if isinstance(document, dict) else "",
        responses=response_count(survey),
        problem_lines=sorted({problem.line for problem in checked.problems if problem.line}),
    ), status


@blueprint.route("/surveys/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str):
    """The draft of a survey: show it with its problems, or save what was posted."""
    survey = survey_or_404(slug, Permission.EDIT)
    stored = draft_text(survey)
    if request.method == "GET":
        return render_editor(survey, stored)
    if "file" in request.files:
        form = DraftFileForm()
        if not form.validate_on_submit():
            abort(400)
        text, problems = file_text(form.file.data)
        if text is None:
            return render_template("design/upload_problems.html", problems=problems, form=form, survey=survey), 422
    else:
        form = DraftForm()
        if not form.validate_on_submit():
            abort(400)
        text = normalise(form.definition.data or "")
    refused = refusal(text)
    if refused == "too_large":
        return render_editor(survey, text, stored=stored, status=422,
                             warning=_("The draft is too large to be saved. Nothing was saved."))
    if refused == "nul":
        return render_editor(survey, text, stored=stored, status=422,
                             warning=_("The text contains a NUL character (\\u0000 written as a real character). "
                                       "Remove it; nothing was saved."))
    found = check(text)
    stored = lock(survey)
    if form.base.data != digest(stored) and text != stored:
        db.session().rollback()
        return render_editor(survey, text, stored=stored, status=409, warning=_(
            "The draft was changed elsewhere (in another window or by a colleague) after you opened it. "
            "Your text is below and was not saved; saving again replaces the other changes."))
    survey.draft_definition = text
    if survey.latest_version is None:
        survey.title = title_of(found) or survey.title
    db.session().commit()
    flash_draft_state(found)
    return redirect(url_for("design.edit", slug=survey.slug))


# ---------------------------------------------------------------- the outline


def _outline_change(slug: str, change):
    """Apply ``change(document, form, survey)`` to the stored draft: it returns the new document,
    the pointer to show and a message, or a page to show instead."""
    survey = survey_or_404(slug, Permission.EDIT)
    form = OutlineForm()
    if not form.validate_on_submit():
        abort(400)
    text = lock(survey)
    back = url_for("design.edit", slug=survey.slug, _anchor="outline")
    if form.base.data != digest(text):
        db.session().rollback()
        flash(_("The draft was changed elsewhere after this page was opened, so nothing was changed. "
                "Check the outline and try again."), "error")
        return redirect(back)
    document, problems = parse_json(text)
    if problems or not isinstance(document, dict):
        db.session().rollback()
        flash(_("The outline appears when the text reads as JSON: fix the first problem listed."), "error")
        return redirect(back)
    try:
        result = change(document, form, survey)
    except OutlineError as error:
        db.session().rollback()
        flash(outline_message(error.code), "error")
        return redirect(back)
    if not isinstance(result, tuple):  # a page to show (the delete confirmation)
        db.session().rollback()
        return result
    changed, path, message = result
    survey.draft_definition = pretty(changed)
    db.session().commit()
    flash(message, "success")
    anchor = ("item" + path.replace("/", "-")) if path else "outline"
    return redirect(url_for("design.edit", slug=survey.slug, _anchor=anchor))


@blueprint.route("/surveys/<slug>/outline/move", methods=["POST"])
@login_required
def outline_move(slug: str):
    """Move a question one place up or down (``move`` = ``up:/pages/0/questions/2``)."""
    def change(document, form, survey):
        direction, _colon, path = (form.move.data or "").partition(":")
        changed, new_path = move_question(document, path, direction)
        return changed, new_path, _("The question was moved.")
    return _outline_change(slug, change)


@blueprint.route("/surveys/<slug>/outline/add", methods=["POST"])
@login_required
def outline_add(slug: str):
    """Add a new question of the chosen type at the chosen place (``position`` = ``page:index`` or ``new``)."""
    def change(document, form, survey):
        kind, position = form.kind.data, form.position.data or "new"
        added = tuple(question_types.registry())
        if position == "new":
            changed, path = add_page(document, kind, added)
        else:
            page, _colon, index = position.partition(":")
            if not (page.isdigit() and index.isdigit()):
                raise OutlineError("no_such_page")
            changed, path = insert_question(document, kind, int(page), int(index), added)
        question = _at(changed, path)
        return changed, path, _("A new question “%(id)s” was added: give it its wording in the JSON.",
                                id=question.get("id", ""))
    return _outline_change(slug, change)


@blueprint.route("/surveys/<slug>/outline/delete", methods=["POST"])
@login_required
def outline_delete(slug: str):
    """Delete a question, after a confirmation page (``confirm`` = ``yes``)."""
    def change(document, form, survey):
        path = form.delete.data or ""
        question = _at(document, path)
        if form.confirm.data != "yes":
            kind = question.get("type") if isinstance(question.get("type"), str) else ""
            return render_template("design/confirm_delete.html", survey=survey, form=form, path=path,
                                   question_id=str(question.get("id", "")),
                                   label=text_of(document, question.get("label"), str(get_locale())),
                                   kind=type_labels().get(kind, kind), alone=_alone(document, path))
        message = _("The question “%(id)s” was deleted.", id=question.get("id", ""))
        return delete_question(document, path), None, message
    return _outline_change(slug, change)


def _at(document, path: str) -> dict:
    """The question at ``path`` (OutlineError if there is none)."""
    page, question, child = question_path(path)
    try:
        found = document["pages"][page]["questions"][question]
        if child is not None:
            found = found["questions"][child]
    except (KeyError, IndexError, TypeError):
        raise OutlineError("not_a_question") from None
    if not isinstance(found, dict):
        raise OutlineError("not_a_question")
    return found


def _alone(document, path: str) -> bool:
    """Whether the question is the only one of its page (deleting it deletes the page)."""
    page, _question, child = question_path(path)
    return child is None and len(document["pages"][page]["questions"]) == 1
