"""Drawing a page's questions, with the HTML of untouched pages cached.

Most page views show a page nobody has answered yet, and its HTML depends only
on the questionnaire, the page and the language: it is drawn once per process
and reused. Anything that makes a page personal (answers, errors, piped answers)
draws it afresh.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import lru_cache

from markupsafe import Markup, escape
from wtforms import Field

from survey_app.questionnaire.model import Page, Question, Questionnaire
from survey_app.questionnaire.plugin_types import FieldInput, guarded

_PRISTINE: OrderedDict[tuple[Questionnaire, str, str], Markup] = OrderedDict()
_PRISTINE_SIZE = 512
_LOCK = threading.Lock()
_TEXT_KEYS = ("label", "hint", "other", "unit", "min_label", "max_label", "entry_label")


@lru_cache(maxsize=1024)
def pipes_answers(questionnaire: Questionnaire, page_id: str) -> bool:
    """Whether any text of the page may show an earlier answer (contains a ``{``)."""
    page = questionnaire.page(page_id)
    texts = []
    for question in (q for top in page.questions for q in (top, *top.questions)):
        texts.extend(question.options.get(key) if key in question.options else getattr(question, key, None)
                     for key in _TEXT_KEYS)
        texts.extend(choice.label for choice in (*question.choices, *question.rows))
    return any("{" in wording for text in texts if text for wording in ([text] if isinstance(text, str) else text.values()))


def questions_html(questionnaire: Questionnaire, page: Page, language: str, draw: Callable[[], str],
                   *, untouched: bool) -> Markup:
    """The page's questions as HTML: from the cache when the page is ``untouched``
    (no answers, no errors) and shows no piped answer, else freshly drawn."""
    if not untouched or pipes_answers(questionnaire, page.id):
        return Markup(draw())
    key = (questionnaire, page.id, language)
    html = _PRISTINE.get(key)
    if html is None:
        html = Markup(draw())
    with _LOCK:
        _PRISTINE[key] = html
        _PRISTINE.move_to_end(key)
        while len(_PRISTINE) > _PRISTINE_SIZE:
            _PRISTINE.popitem(last=False)
    return html


def plugin_input(question: Question, field: Field, described: list[str], error: str | None,
                 language: str) -> Markup:
    """The input of a question of a plugin type, drawn by its type inside the core's label and error
    (a template global: ``_questions.html`` calls it). Text that is not ``Markup`` is escaped."""
    shown = field.data if isinstance(field.data, str) else ""
    given = FieldInput(name=field.name, id=field.id, value=shown, invalid=bool(error), language=language,
                       described_by=" ".join(described))
    html = guarded(question.plugin_type, "draw", question.plugin_type.render, question, given)
    return html if isinstance(html, Markup) else escape(str(html))
