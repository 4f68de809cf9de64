"""Problems found in a questionnaire: where (a JSON pointer) and what, in plain words."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One problem: ``path`` is a JSON pointer into the document ("" for the whole file).

    The path stays exact (it must lead to the place); control characters in the
    message, and in the path when printed, are shown escaped, so a problem
    printed to a terminal never carries escape sequences or fake line breaks.
    """

    path: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "message", printable(self.message))

    def __str__(self) -> str:
        return f"{printable(self.path) or '(file)'}: {self.message}"


class QuestionnaireInvalid(ValueError):
    """Raised by the loader with every problem it found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s): " + "; ".join(map(str, problems[:3])))


def printable(text: str) -> str:
    """``text`` with every control or invisible formatting character written as ``\\uXXXX``."""
    if text.isprintable():
        return text
    return "".join(character if character.isprintable() else f"\\u{ord(character):04x}" for character in text)


def pointer(*parts: str | int) -> str:
    """A JSON pointer from path parts, escaping ``~`` and ``/`` as RFC 6901 says."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)
