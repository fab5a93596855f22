"""How values that have no column of their own are written: parameter values as text, and the
exact bytes of strings that are not valid UTF-8 (docs/schema.md, "Parameter values as text" and
"Invalid UTF-8 and other inexact values").

The ``params`` map holds one text per parameter, whatever its type, so that one map column can
hold them all; ``param_types`` says how to read each text back. The rule is by the Python type
of the value the reader gives (`kcap.model.params` documents which type each parameter type
decodes to), so it is exact for every value:

======================  ===============================================================
str                      itself
int                      decimal digits (``-`` for negatives)
bool                     ``true`` / ``false``
float                    Python's shortest round-trip repr (``nan``, ``inf``, ``-inf``)
bytes                    lower-case hex
IPv4/IPv6 address        its usual text (``10.0.0.1``, ``2001:db8::1``)
Timestamp                the RFC 3339 text as stored
list (slices)            a JSON array of strings or integers
======================  ===============================================================

Arrow strings must be valid UTF-8. The reader keeps bytes that are not valid UTF-8 as lone
surrogates (``errors="surrogateescape"``); such a string is exported with each bad byte
replaced by U+FFFD, and its exact bytes go to the row's ``raw`` map under the column name (or
``params.<name>``, ``meta.<i>.key``, ``meta.<i>.value``).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import Any

from kcap.model.timestamp import Timestamp


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def _list_text(value: list[Any]) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _timestamp_text(value: Timestamp) -> str:
    return value.text


#: Python type of a value -> its text; str is absent (a string is its own text).
TEXT_OF: dict[type, Callable[[Any], str]] = {
    int: int.__repr__,
    bool: _bool_text,
    float: float.__repr__,
    bytes: bytes.hex,
    ipaddress.IPv4Address: str,
    ipaddress.IPv6Address: str,
    Timestamp: _timestamp_text,
    list: _list_text,
}


def value_text(value: Any) -> str:
    """The text of one parameter value (see the module docstring)."""
    if value.__class__ is str:
        return str(value)
    render = TEXT_OF.get(value.__class__)
    if render is not None:
        return render(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    return str(value)


def raw_bytes(text: str) -> bytes:
    """The bytes a string read from a capture stands for (lone surrogates are bad bytes)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no decoder makes (a string built in code)
        return text.encode("utf-8", "surrogatepass")


def valid_text(text: str) -> str:
    """``text`` with every byte that was not valid UTF-8 replaced by U+FFFD."""
    return raw_bytes(text).decode("utf-8", "replace")


def is_exact(text: str) -> bool:
    """True when ``text`` is valid Unicode that UTF-8 can hold (no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


__all__ = ["TEXT_OF", "is_exact", "raw_bytes", "valid_text", "value_text"]
