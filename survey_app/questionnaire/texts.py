"""Multilingual texts and piping of earlier answers into them."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping

#: A text is one string for every language, or a mapping of language code to string.
Text = str | Mapping[str, str]

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([a-z][a-z0-9_]{0,62})\}")


def localize(text: Text | None, language: str, fallback: str) -> str:
    """The text in ``language``, else in ``fallback``, else the first one given."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return text.get(language) or text.get(fallback) or next(iter(text.values()), "")


def is_translated(text: Text | None, language: str) -> bool:
    """Whether ``text`` has its own wording in ``language`` (a plain string counts)."""
    return text is None or isinstance(text, str) or bool(text.get(language))


def placeholders(text: str) -> Iterator[str]:
    """The names piped into ``text`` with ``{name}``."""
    for match in _PLACEHOLDER.finditer(text):
        if match.group(1):
            yield match.group(1)


def pipe(text: str, answer_text: Callable[[str], str]) -> str:
    """Replace each ``{name}`` with ``answer_text(name)``; ``{{`` and ``}}`` become braces."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return answer_text(name) if name else match.group(0)[0]

    return _PLACEHOLDER.sub(replace, text)
