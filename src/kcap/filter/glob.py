"""Wildcard patterns of `matches`/`imatches` (`*` any run, `?` one code point), in linear time.

A pattern is cut at its stars into pieces of literal text and `?`; the first piece must match
at the start of the value, the last at its end, and each piece in between is found at its
leftmost place after the previous one. Taking the leftmost place is always right (a later
place only leaves less text for the pieces after it), so matching never backtracks: a value
of n characters against a pattern of m costs at most n x m steps, never the exponential time
a backtracking regular expression can take on a hostile pattern such as ``*a*a*a*a*b``
(docs/filter.md, "Patterns").
"""

from __future__ import annotations

import re
from functools import lru_cache


class _Piece:
    """Literal text with `?` holes: matched with str methods when it has no hole."""

    __slots__ = ("length", "rx", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.length = len(text)
        # A piece without stars is a fixed-length regex: searching it is linear per start.
        self.rx = (
            re.compile("".join("." if c == "?" else re.escape(c) for c in text), re.DOTALL)
            if "?" in text
            else None
        )

    def at(self, value: str, pos: int) -> bool:
        if self.rx is None:
            return value.startswith(self.text, pos)
        return self.rx.match(value, pos) is not None

    def find(self, value: str, pos: int, end: int) -> int:
        if self.rx is None:
            return value.find(self.text, pos, end)
        m = self.rx.search(value, pos, end)
        return -1 if m is None else m.start()


class Glob:
    """A compiled wildcard pattern; `fullmatch(value)` tells whether all of value matches."""

    __slots__ = ("_first", "_last", "_middle", "_pattern", "_stars")

    def __init__(self, pattern: str) -> None:
        self._pattern = pattern
        parts = pattern.split("*")
        self._stars = len(parts) > 1
        self._first = _Piece(parts[0])
        self._last = _Piece(parts[-1]) if self._stars else None
        self._middle = tuple(_Piece(p) for p in parts[1:-1] if p)

    def fullmatch(self, value: str) -> bool:
        first = self._first
        if not self._stars:
            return len(value) == first.length and first.at(value, 0)
        last = self._last
        assert last is not None
        end = len(value) - last.length
        if end < first.length or not first.at(value, 0) or not last.at(value, end):
            return False
        pos = first.length
        for piece in self._middle:
            found = piece.find(value, pos, end)
            if found < 0:
                return False
            pos = found + piece.length
        return True

    def __repr__(self) -> str:
        return f"Glob({self._pattern!r})"


@lru_cache(maxsize=4096)
def glob(pattern: str) -> Glob:
    return Glob(pattern)
