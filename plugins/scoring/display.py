"""What people see of scores: column labels, and the thank-you paragraph."""
from __future__ import annotations

from flask import has_request_context
from markupsafe import Markup

from survey_app.contributions import ResponseColumn
from survey_app.questionnaire import Questionnaire
from survey_app.questionnaire.texts import Text, localize

from .compute import ScoreResult
from .config import Score
from .storage import PLUGIN


def _(message: str, **values) -> str:
    """The interface's translation of ``message`` (English outside a request)."""
    if has_request_context():
        from flask_babel import gettext

        return gettext(message, **values)
    return message % values if values else message


def columns(score: Score) -> list[ResponseColumn]:
    """The points, percent and (with bands) band columns of a score."""
    found = [ResponseColumn(PLUGIN, f"{score.id}.points", _suffixed(score.label, _("points"))),
             ResponseColumn(PLUGIN, f"{score.id}.percent", _suffixed(score.label, "%"))]
    if score.bands:
        found.append(ResponseColumn(PLUGIN, f"{score.id}.band", _suffixed(score.label, _("band")), kind="code",
                                    code_labels={str(index): band.label for index, band in enumerate(score.bands)}))
    return found


def _suffixed(label: Text, suffix: str) -> Text:
    """The score's label in each language, then a short word in brackets."""
    if isinstance(label, str):
        return f"{label} ({suffix})"
    return {language: f"{text} ({suffix})" for language, text in label.items()}


def _number(value: float) -> str:
    """7.0 -> "7", 66.667 -> "66.67"."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def snippet(result: ScoreResult, questionnaire: Questionnaire, language: str, several: bool) -> Markup:
    """"Your score: 7 of 10 (70%) – Good" in a paragraph, every text escaped."""
    values = {"points": _number(result.points), "max": _number(result.max), "percent": _number(result.percent)}
    if several:
        values["label"] = localize(result.score.label, language, questionnaire.default_language)
        text = _("Your score for %(label)s: %(points)s of %(max)s (%(percent)s%%)", **values)
    else:
        text = _("Your score: %(points)s of %(max)s (%(percent)s%%)", **values)
    if result.band_label is not None:
        text += " – " + localize(result.band_label, language, questionnaire.default_language)
    return Markup('<p class="scoring-result" data-score="{}">{}</p>').format(result.score.id, text)
