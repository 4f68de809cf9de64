"""The forms of the researcher's workspace. Every state change is a POST with a CSRF token."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField, HiddenField, SelectChoice, SelectField, SelectMultipleField, StringField, TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from survey_app.models import SurveyStatus


class UploadForm(FlaskForm):
    """A questionnaire file to start a new draft survey from."""

    file = FileField(_l("Questionnaire file"), validators=[FileRequired()])


class StatusForm(FlaskForm):
    """Open, close or archive a survey."""

    status = SelectField(_l("Status"), choices=[SelectChoice(status.value) for status in SurveyStatus])


class CreateForm(FlaskForm):
    """A new survey from scratch (``template`` empty) or from an example questionnaire."""

    template = StringField(validators=[Optional(), Length(max=100)])
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    languages = SelectMultipleField(_l("Languages"),
                                    choices=[SelectChoice("kk", "Қазақша"), SelectChoice("ru", "Русский"),
                                             SelectChoice("en", "English")],
                                    default=["kk", "ru"], option_widget=CheckboxInput(),
                                    widget=ListWidget(prefix_label=False))


class DraftForm(FlaskForm):
    """The questionnaire JSON as the researcher edits it; ``base`` is the draft it was made from."""

    definition = TextAreaField(_l("Questionnaire (JSON)"))
    base = HiddenField()


class DraftFileForm(FlaskForm):
    """Replace the draft with a file."""

    file = FileField(_l("Replace the draft with a file"), validators=[FileRequired()])
    base = HiddenField()


class OutlineForm(FlaskForm):
    """The outline's buttons: move (``up:/pages/0/questions/2``), delete, add a question."""

    base = HiddenField()
    move = HiddenField()
    delete = HiddenField()
    confirm = HiddenField()
    kind = SelectField(_l("Type"), validate_choice=False)
    position = SelectField(_l("Where"), validate_choice=False)


class PublishForm(FlaskForm):
    """Publish the draft that was reviewed (``base``), confirming orphaned answers if asked."""

    base = HiddenField(validators=[DataRequired()])
    confirm = BooleanField(_l("I understand that answers already collected to these questions or choices "
                              "will not fit the new version."))
    open_now = BooleanField(_l("Open the survey to respondents now"))


class ShareForm(FlaskForm):
    """Share a survey with a colleague's account."""

    email = StringField(_l("Colleague's e-mail"), validators=[DataRequired(), Length(max=254)],
                        render_kw={"type": "email", "autocomplete": "off", "spellcheck": "false"})


class UnshareForm(FlaskForm):
    """Stop sharing a survey with someone."""

    user_id = HiddenField(validators=[DataRequired()])
