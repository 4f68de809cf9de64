"""Author-written answer patterns, run on RE2 so that no pattern can take exponential time."""
from __future__ import annotations

from functools import lru_cache

import re2

MAX_PATTERN_LENGTH = 500


def _options() -> re2.Options:
    options = re2.Options()
    options.log_errors = False  # errors are reported to the author, not to stderr
    options.max_mem = 8 << 20
    return options


@lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> re2._Regexp:
    """Compile ``pattern`` (RE2 syntax); raise ValueError with a plain message if it is invalid."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise ValueError(f"the pattern is longer than {MAX_PATTERN_LENGTH} characters")
    try:
        return re2.compile(pattern, _options())
    except re2.error as error:
        detail = error.args[0].decode("utf-8", "replace") if error.args and isinstance(error.args[0], bytes) else str(error)
        raise ValueError(f"invalid pattern: {detail} (RE2 syntax: no backreferences or look-arounds)") from None


def matches(pattern: str, text: str) -> bool:
    """Whether the whole of ``text`` matches ``pattern``, in time linear in ``len(text)``."""
    return compile_pattern(pattern).fullmatch(text) is not None
