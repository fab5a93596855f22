"""Comparisons that can never be true because of the kinds of their two sides.

``kevt.pid = 'abc'`` compares a number with text: every event gives false, so the filter
silently selects nothing. Such a comparison of a field (or function) with a literal is found at
compile time and explained (docs/filter.md, "Comparisons that are never true"); replay filters
reject it, rules (whose upstream files may contain one) get a warning.
"""

from __future__ import annotations

from kcap.filter.ops import LitList

_ORDERING = frozenset({"<", "<=", ">", ">="})
_EQUALITY = frozenset({"=", "!=", "~="})
_NUMERIC = frozenset({"int", "float"})
_KIND_WORDS = {"str": "text", "int": "a number", "float": "a number", "bool": "a boolean"}


def never_true(op: str, subject: str, kind: str, literal_kind: str, value: object) -> str | None:
    """Why ``<subject of kind> <op> <literal>`` is false for every event, or None if it can match.

    ``literal_kind`` is the literal's kind (``str int float bool ip cidr list``).
    """
    if isinstance(value, LitList) or literal_kind == "list":
        return None
    if kind in _NUMERIC and literal_kind == "str" and op in _EQUALITY | _ORDERING:
        example = value if isinstance(value, str) and value.strip().isdigit() else "123"
        return (
            f"{subject} is a number and {value!r} is text, so '{op}' is never true; "
            f"compare with a number: {subject} {op} {example}"
        )
    if kind == "str" and op in _ORDERING:
        extra = ""
        if subject in ("kevt.time", "evt.time"):
            extra = " (use kevt.time.h, kevt.time.m, kevt.time.s or kevt.time.ns)"
        return f"{subject} is text and '{op}' orders numbers only, so it is never true{extra}"
    if kind == "str" and literal_kind in ("int", "float", "bool") and op in _EQUALITY:
        return (
            f"{subject} is text and {value!r} is {_KIND_WORDS[literal_kind]}, so '{op}' is "
            f"never true; quote the value: {subject} {op} '{value}'"
        )
    if kind == "bool" and literal_kind != "bool" and op in _EQUALITY | _ORDERING:
        return (
            f"{subject} is a boolean and {value!r} is not, so '{op}' is never true; "
            f"compare with true or false"
        )
    if kind == "ip" and literal_kind == "str" and op in _EQUALITY:
        return (
            f"{subject} is an IP address and {value!r} is text, so '{op}' is never true; "
            f"write the address unquoted: {subject} {op} {value}"
        )
    return None
