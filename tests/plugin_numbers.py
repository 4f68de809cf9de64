"""A minimal third-party plugin adding a question type whose answers are numbers (``value_kind="number"``).

``weight``: a weight in kilograms, typed with a decimal point or comma. The
tests register it with ``create_app(config, plugins=[plugin_numbers])``.
"""
from __future__ import annotations

import math

from markupsafe import Markup

from survey_app import hookimpl
from survey_app.contributions import Issue, QuestionType, Unparsable


def parse_weight(question, text: str):
    """The typed weight as a float ("70,5" and "70.5" alike)."""
    try:
        value = float(text.replace(",", "."))
    except ValueError:
        return Unparsable(text, "weight_format")
    return value if math.isfinite(value) else Unparsable(text, "weight_format")


def check_weight(question, value):
    """A weight must be positive."""
    return None if value > 0 else Issue("weight_range")


def render_weight(question, field):
    return Markup('<input type="text" inputmode="decimal" value="{}"{}>').format(field.value, field.attributes)


WEIGHT = QuestionType(
    name="weight",
    label={"en": "Weight (kg)"},
    parse=parse_weight,
    render=render_weight,
    value_kind="number",
    schema={"properties": {}},
    check=check_weight,
    messages={"weight_format": {"en": "Enter a number of kilograms"},
              "weight_range": {"en": "A weight is more than 0 kg"}},
)


@hookimpl
def register_question_types():
    return [WEIGHT]
