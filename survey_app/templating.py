"""Template filters, globals and translation functions shared by every page."""
from __future__ import annotations

import re

from flask import Flask
from flask_babel import get_translations
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

#: Language names as their speakers write them, for the language switcher.
LANGUAGE_NAMES = {"kk": "Қазақша", "ru": "Русский", "en": "English", "ky": "Кыргызча", "uz": "Oʻzbekcha", "tg": "Тоҷикӣ"}


def paragraphs(text: str) -> Markup:
    """Plain text as escaped HTML paragraphs: blank lines separate, single newlines break."""
    blocks = [block.strip() for block in re.split(r"\n\s*\n", text or "") if block.strip()]
    return Markup("").join(Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in block.split("\n")))
                           for block in blocks)


def attributes(**given: object) -> dict[str, object]:
    """HTML attributes for a WTForms field without the ones given as None
    (WTForms would write them out as the text "None")."""
    return {name: value for name, value in given.items() if value is not None}


def _page_translations() -> dict[str, object]:
    """A context processor: the interface translations, looked up once per rendered page."""
    return {"interface_translations": get_translations()}


def _translations(context: Context):
    """The translations of the page being rendered (looked up now if Flask did not render it)."""
    found = context.get("interface_translations")
    return found if found is not None else get_translations()


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _translations(context).ugettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, number: int) -> str:
    return _translations(context).ungettext(singular, plural, number)


@pass_context
def _pgettext(context: Context, message_context: str, message: str) -> str:
    return _translations(context).upgettext(message_context, message)


@pass_context
def _npgettext(context: Context, message_context: str, singular: str, plural: str, number: int) -> str:
    return _translations(context).unpgettext(message_context, singular, plural, number)


def init_app(app: Flask) -> None:
    """Register the filters and globals on ``app``."""
    app.jinja_env.trim_blocks = True  # smaller pages for slow connections
    app.jinja_env.lstrip_blocks = True
    # Flask-Babel finds the translations through several context-local proxies on each
    # call, which costs fifty times the translating: a page finds them once.
    app.context_processor(_page_translations)
    app.jinja_env.install_gettext_callables(gettext=_gettext, ngettext=_ngettext, pgettext=_pgettext,
                                            npgettext=_npgettext, newstyle=True)
    app.jinja_env.filters["paragraphs"] = paragraphs
    app.jinja_env.globals["language_names"] = LANGUAGE_NAMES
    app.jinja_env.globals["attributes"] = attributes
