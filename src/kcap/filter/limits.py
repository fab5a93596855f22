"""How much text the string functions may build (docs/filter.md, "Limits").

`replace` with an empty old text inserts the new text between every two characters, so a few
nested calls multiply the length of a path by millions. Two bounds keep that away:

* at compile time, every string-valued expression carries an upper bound on how many times
  longer than its inputs its result can be; a call whose bound passes `MAX_GROWTH` is a
  `FilterError` naming the function;
* at run time, no function builds a result longer than `MAX_BUILT` characters: the length is
  worked out before the text is made, and a result that would be longer is *missing*.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

#: Largest factor by which a string expression may lengthen its inputs.
MAX_GROWTH = 1024.0
#: Longest text (in characters) any string function builds for one event.
MAX_BUILT = 1 << 20

#: Functions whose result is never longer than their first argument.
_SHRINKING = frozenset(
    {"lower", "upper", "ltrim", "rtrim", "substr", "base", "dir", "ext", "volume", "md5"}
)


def growth(name: str, args: Sequence[Any]) -> float:
    """Upper bound of result length / input length for a call (args: `Compiled` values)."""
    if name == "concat":
        return float(sum(max(a.growth, 1.0) for a in args))
    if name == "replace" and args:
        factor = max(args[0].growth, 1.0)
        for k in range(1, len(args) - 1, 2):
            old, new = args[k], args[k + 1]
            new_len = len(new.value) if new.const and isinstance(new.value, str) else None
            if old.const and isinstance(old.value, str) and new_len is not None:
                per_char = (new_len + 1) if old.value == "" else new_len / len(old.value)
            else:
                # A replacement read from the event: as long as an input, at every place.
                per_char = max(new.growth, 1.0) + 1
            factor *= max(per_char, 1.0)
        return factor
    if name in _SHRINKING and args:
        return max(args[0].growth, 1.0)
    return 1.0


def replaced_length(text: str, old: str, new: str) -> int:
    """Length of ``text.replace(old, new)`` without building it."""
    count = len(text) + 1 if old == "" else text.count(old)
    return len(text) + count * (len(new) - len(old))
