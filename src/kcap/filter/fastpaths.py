"""Specialised closures for the common comparison shapes (same semantics as `ops.compare`).

String equality, case-insensitive containment, membership in a pre-built set and numeric
comparison against a literal get a closure of their own instead of the generic dispatch.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from kcap.filter.ops import LitList, compare, numeric_items
from kcap.model.event import Event

Fn = Callable[[Event], Any]


def specialise(op: str, left: Any, right: Any) -> Fn:
    """The fastest closure that has the semantics of ``ops.compare`` for this shape."""
    lf = left.fn
    if right.const:
        rv = right.value
        if left.kind == "str":
            fast = _str_fast(op, lf, rv)
            if fast is not None:
                return fast
        elif left.kind in ("int", "float"):
            fast = _num_fast(op, lf, rv)
            if fast is not None:
                return fast
        return lambda ev: compare(op, lf(ev), rv)
    rf = right.fn
    return lambda ev: compare(op, lf(ev), rf(ev))


def _str_fast(op: str, lf: Fn, rv: Any) -> Fn | None:
    # The str-kind accessors return str or None (missing).
    if isinstance(rv, str):
        if op == "=":
            return lambda ev: lf(ev) == rv
        if op == "!=":

            def ne(ev: Event) -> bool:
                v = lf(ev)
                return v is not None and v != rv

            return ne
        if op == "~=":
            folded = rv.casefold()

            def eqfold(ev: Event) -> bool:
                v = lf(ev)
                return v is not None and v.casefold() == folded

            return eqfold
        items: tuple[str, ...] = (rv,)
    elif isinstance(rv, LitList):
        items = rv.texts
    else:
        return None
    if op == "in":
        members = frozenset(items)

        def isin(ev: Event) -> bool | None:
            v = lf(ev)
            return None if v is None else v in members

        return isin
    if op == "iin":
        folded_set = frozenset(t.casefold() for t in items)

        def iin(ev: Event) -> bool | None:
            v = lf(ev)
            return None if v is None else v.casefold() in folded_set

        return iin
    if op in ("contains", "icontains"):
        lowered = op == "icontains"
        needles = tuple(t.lower() for t in items) if lowered else items
        if len(needles) == 1:
            (needle,) = needles
            if lowered:

                def icontains1(ev: Event) -> bool | None:
                    v = lf(ev)
                    return None if v is None else needle in v.lower()

                return icontains1

            def contains1(ev: Event) -> bool | None:
                v = lf(ev)
                return None if v is None else needle in v

            return contains1

        def contains_any(ev: Event) -> bool | None:
            v = lf(ev)
            if v is None:
                return None
            if lowered:
                v = v.lower()
            return any(n in v for n in needles)

        return contains_any
    if op in ("startswith", "istartswith", "endswith", "iendswith"):
        lowered = op[0] == "i"
        tup = tuple(t.lower() for t in items) if lowered else items
        method = "startswith" if "start" in op else "endswith"

        def affix(ev: Event) -> bool | None:
            v = lf(ev)
            if v is None:
                return None
            if lowered:
                v = v.lower()
            return bool(getattr(v, method)(tup))

        return affix
    return None


def _num_fast(op: str, lf: Fn, rv: Any) -> Fn | None:
    if isinstance(rv, bool) or not isinstance(rv, int | float):
        if op == "in" and isinstance(rv, LitList):
            members = frozenset(numeric_items(rv))

            def isin(ev: Event) -> bool | None:
                v = lf(ev)
                return None if v is None else v in members

            return isin
        return None
    if op == "=":
        return lambda ev: lf(ev) == rv
    if op in ("!=", "<", "<=", ">", ">="):
        cmp = {
            "!=": operator.ne,
            "<": operator.lt,
            "<=": operator.le,
            ">": operator.gt,
            ">=": operator.ge,
        }[op]

        def num(ev: Event) -> bool:
            v = lf(ev)
            return v is not None and cmp(v, rv)

        return num
    return None
