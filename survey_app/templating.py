"""Template filters and globals shared by every page."""
from __future__ import annotations

import re

from flask import Flask
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


def init_app(app: Flask) -> None:
    """Register the filters and globals on ``app``."""
    app.jinja_env.trim_blocks = True  # smaller pages for slow connections
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["paragraphs"] = paragraphs
    app.jinja_env.globals["language_names"] = LANGUAGE_NAMES
    app.jinja_env.globals["attributes"] = attributes
