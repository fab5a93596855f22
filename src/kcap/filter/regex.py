"""Regular expressions of the `regex()` function, run by RE2 (docs/filter.md, "Patterns").

RE2 matches in time linear in the length of the text, whatever the pattern, so no expression
from a rule file or a command line can hang a replay; it is also the syntax upstream's Go
``regexp`` package implements. RE2 reports a bad pattern on stderr unless told not to, so
every pattern is compiled with logging off and the message is returned to the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import re2

#: Memory RE2 may spend on one compiled pattern; a pattern needing more is rejected.
MAX_PROGRAM_BYTES = 8 << 20

_OPTIONS: Any = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.max_mem = MAX_PROGRAM_BYTES


class PatternError(ValueError):
    """The pattern is not valid RE2 syntax (the message says why)."""


def compile_regex(pattern: str) -> Callable[[str], bool]:
    """A predicate telling whether ``pattern`` occurs anywhere in a string."""
    try:
        rx: Any = re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        raw = exc.args[0] if exc.args else "invalid pattern"
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        raise PatternError(text) from None
    search = rx.search

    def found(text: str) -> bool:
        return search(text) is not None

    return found
