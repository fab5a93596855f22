"""Operator semantics on runtime values (docs/filter.md, "Operators", with the plain bugs fixed).

Values: ``str``, ``int``, ``float``, ``bool``, IP addresses, ``list`` (of str or int, from fields
and functions), `LitList` (a list literal), networks (CIDR literals), `Timestamp`, ``bytes`` and
``None`` for *missing*. Every operator returns True, False or None (missing). ``=``, ``!=``,
``~=`` and orderings give False on unsupported or missing operands; the other operators give
missing, which a ``not`` keeps missing, so ``ps.cwd not contains 'x'`` does not match an event
without a cwd.
"""

from __future__ import annotations

import ipaddress
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any

from kcap.filter.glob import glob

Value = Any
IP_TYPES = (ipaddress.IPv4Address, ipaddress.IPv6Address)
NET_TYPES = (ipaddress.IPv4Network, ipaddress.IPv6Network)

FALSE_WHEN_UNSUPPORTED = frozenset({"=", "!=", "~=", "<", "<=", ">", ">="})


class LitList:
    """A list literal: its values plus precomputed text forms for string comparisons."""

    __slots__ = ("folded", "lowered", "texts", "values")

    def __init__(self, values: Iterable[Any], texts: Iterable[str]) -> None:
        self.values = tuple(values)
        self.texts = tuple(texts)
        self.lowered = tuple(t.lower() for t in self.texts)
        self.folded = frozenset(t.casefold() for t in self.texts)

    def __repr__(self) -> str:
        return f"LitList{self.texts!r}"


# --------------------------------------------------------------------------- string helpers


def fuzzy(value: str, pattern: str) -> bool:
    if len(pattern.encode("utf-8", "surrogatepass")) > len(value.encode("utf-8", "surrogatepass")):
        return False
    it = iter(value)
    return all(ch in it for ch in pattern)


def normalize(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return unicodedata.normalize("NFC", stripped)


def _items(r: Value) -> tuple[str, ...] | None:
    """Right side as string items: a string is a one-item list."""
    if isinstance(r, str):
        return (r,)
    if isinstance(r, LitList):
        return r.texts
    if isinstance(r, list):
        return tuple(str(x) for x in r)
    return None


_STR_PRED: dict[str, Callable[[str, str], bool]] = {
    "in": lambda v, p: v == p,
    "iin": lambda v, p: v.casefold() == p.casefold(),
    "contains": lambda v, p: p in v,
    "icontains": lambda v, p: p.lower() in v.lower(),
    "startswith": lambda v, p: v.startswith(p),
    "istartswith": lambda v, p: v.lower().startswith(p.lower()),
    "endswith": lambda v, p: v.endswith(p),
    "iendswith": lambda v, p: v.lower().endswith(p.lower()),
    "matches": lambda v, p: glob(p).fullmatch(v),
    "imatches": lambda v, p: glob(p.lower()).fullmatch(v.lower()),
    "fuzzy": fuzzy,
    "ifuzzy": lambda v, p: fuzzy(v.lower(), p.lower()),
    "fuzzynorm": lambda v, p: fuzzy(normalize(v), normalize(p)),
    "ifuzzynorm": lambda v, p: fuzzy(normalize(v).lower(), normalize(p).lower()),
}


def _str_left(op: str, v: str, r: Value) -> bool | None:
    if op == "=":
        return isinstance(r, str) and v == r
    if op == "!=":
        return isinstance(r, str) and v != r
    if op == "~=":
        return isinstance(r, str) and v.casefold() == r.casefold()
    if op in FALSE_WHEN_UNSUPPORTED:
        return False
    pred = _STR_PRED.get(op)
    if pred is not None:
        items = _items(r)
        if items is None:
            return None
        return any(pred(v, p) for p in items)
    if op in ("intersects", "iintersects"):
        return _list_left(op, [v], r)
    return None


def _list_left(op: str, v: list[Any], r: Value) -> bool | None:
    if op in FALSE_WHEN_UNSUPPORTED:
        return False
    if v and not isinstance(v[0], str):
        return _ints_left(op, v, r)
    items = _items(r)
    if items is None:
        return None
    if op == "intersects":
        have = set(v)
        return all(p in have for p in items)
    if op == "iintersects":
        have_f = {x.casefold() for x in v}
        return all(p.casefold() in have_f for p in items)
    pred = _STR_PRED.get(op)
    if pred is None:
        return None
    return any(pred(x, p) for x in v for p in items)


def _ints_left(op: str, v: list[Any], r: Value) -> bool | None:
    results = [_num_left(op, x, r) for x in v]
    if any(res is True for res in results):
        return True
    return False if results or op in FALSE_WHEN_UNSUPPORTED else None


def _is_num(x: Value) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def numeric_items(r: LitList) -> list[int | float]:
    out: list[int | float] = []
    for val in r.values:
        if _is_num(val):
            out.append(val)
        elif isinstance(val, str):
            try:
                out.append(int(val.strip(), 0))
            except ValueError:
                try:
                    out.append(float(val))
                except ValueError:
                    continue
    return out


def _num_left(op: str, v: int | float, r: Value) -> bool | None:
    if _is_num(r):
        if op == "=":
            return v == r
        if op == "!=":
            return v != r
        if op == "<":
            return v < r
        if op == "<=":
            return v <= r
        if op == ">":
            return v > r
        if op == ">=":
            return v >= r
        if op == "in":
            return v == r
        return False if op in FALSE_WHEN_UNSUPPORTED else None
    if op == "in" and isinstance(r, LitList):
        return v in numeric_items(r)
    if op in ("in", "intersects") and isinstance(r, list):
        return v in r
    return False if op in FALSE_WHEN_UNSUPPORTED else None


def same_ip(a: Any, b: Any) -> bool:
    if isinstance(a, ipaddress.IPv6Address) and a.ipv4_mapped is not None:
        a = a.ipv4_mapped
    if isinstance(b, ipaddress.IPv6Address) and b.ipv4_mapped is not None:
        b = b.ipv4_mapped
    return bool(a == b)


def ip_matches_item(ip: Any, item: Any) -> bool:
    if isinstance(item, IP_TYPES):
        return same_ip(ip, item)
    if isinstance(item, NET_TYPES):
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return ip.version == item.version and ip in item
    if isinstance(item, str):
        try:
            parsed: Any = (
                ipaddress.ip_network(item, strict=False)
                if "/" in item
                else ipaddress.ip_address(item)
            )
        except ValueError:
            return False
        return ip_matches_item(ip, parsed)
    return False


def _ip_left(op: str, v: Any, r: Value) -> bool | None:
    if op == "=":
        return isinstance(r, IP_TYPES) and same_ip(v, r)
    if op == "!=":
        return isinstance(r, IP_TYPES) and not same_ip(v, r)
    if op in FALSE_WHEN_UNSUPPORTED:
        return False
    if op == "in":
        if isinstance(r, LitList):
            return any(ip_matches_item(v, item) for item in r.values)
        if isinstance(r, (*NET_TYPES, *IP_TYPES, str)):
            return ip_matches_item(v, r)
        return None
    if op in (
        "startswith",
        "endswith",
        "contains",
        "matches",
        "istartswith",
        "iendswith",
        "icontains",
        "imatches",
    ):
        return _str_left(op, str(v), r)
    return None


def _bool_left(op: str, v: bool, r: Value) -> bool | None:
    if op == "=":
        return isinstance(r, bool) and v == r
    if op == "!=":
        return isinstance(r, bool) and v != r
    return False if op in FALSE_WHEN_UNSUPPORTED else None


def compare(op: str, left: Value, right: Value) -> bool | None:
    """Apply a comparison operator to two runtime values."""
    if left is None or right is None:
        other = right if left is None else left
        if op in ("=", "!=") and isinstance(other, bool):
            # A missing side of a boolean comparison is taken as false.
            return (other is False) if op == "=" else (other is True)
        return False if op in FALSE_WHEN_UNSUPPORTED else None
    if isinstance(left, str):
        return _str_left(op, left, right)
    if isinstance(left, bool):
        return _bool_left(op, left, right)
    if isinstance(left, int | float):
        return _num_left(op, left, right)
    if isinstance(left, list):
        return _list_left(op, left, right)
    if isinstance(left, IP_TYPES):
        return _ip_left(op, left, right)
    if isinstance(left, LitList):
        # A literal list on the left: "('a', 'b') contains ps.name" reads naturally as membership.
        if op in ("contains", "icontains", "intersects", "iintersects"):
            inner = {"contains": "in", "icontains": "iin"}.get(op, op)
            return compare(inner, right, left) if inner != op else None
        return False if op in FALSE_WHEN_UNSUPPORTED else None
    return False if op in FALSE_WHEN_UNSUPPORTED else None
