"""The functions of the filter language that make sense on a capture.

Each function is checked at compile time (name, argument count, literal argument kinds,
its own validation such as a regex that must compile) and evaluated at run time on already
evaluated arguments; a function that cannot produce a result yields *missing*. Functions that
read the live Windows host (``glob``, ``is_minidump``, ``get_reg_value``, ``yara``, ``symlink``)
are rejected at compile time with the reason.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kcap.filter.accessors import path_rules
from kcap.filter.glob import glob
from kcap.filter.limits import MAX_BUILT, replaced_length
from kcap.filter.ops import IP_TYPES
from kcap.model.event import Event

Impl = Callable[..., Any]  # (event, *argument values) -> value | None


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    min_args: int
    max_args: int
    kind: str  # result kind
    impl: Impl
    # allowed literal kinds per argument position (the last entry repeats); None = any
    literal_kinds: tuple[frozenset[str] | None, ...] = ()
    arg_names: tuple[str, ...] = ()


STR = frozenset({"str"})
BOOL = frozenset({"bool"})
INT = frozenset({"int"})
STR_OR_IP = frozenset({"str", "ip"})

LIVE_ONLY = {
    "glob": "it lists files on the live host's disk",
    "is_minidump": "it opens files on the live host's disk",
    "get_reg_value": "it reads the live host's registry",
    "yara": "it scans live processes and files",
    "symlink": "it resolves links on the live host's disk",
    "undefined": "it resolves links on the live host's disk (upstream's name for symlink)",
}


def _str(x: Any) -> str | None:
    return x if isinstance(x, str) else None


def _cidr_contains(ev: Event, ip: Any, *cidrs: Any) -> bool | None:
    if isinstance(ip, str):
        try:
            ip = ipaddress.ip_address(ip)
        except ValueError:
            return None
    if not isinstance(ip, IP_TYPES):
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for c in cidrs:
        net = c
        if isinstance(c, str):
            try:
                net = ipaddress.ip_network(c, strict=False)
            except ValueError:
                continue
        if isinstance(net, ipaddress.IPv4Network | ipaddress.IPv6Network) and (
            net.version == ip.version and ip in net
        ):
            return True
    return False


def _md5(ev: Event, x: Any) -> str | None:
    if isinstance(x, str):
        return hashlib.md5(x.encode("utf-8", "surrogateescape")).hexdigest()
    if isinstance(x, bytes | bytearray):
        return hashlib.md5(bytes(x)).hexdigest()
    return None


def _concat(ev: Event, *parts: Any) -> str | None:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(p)
        elif isinstance(p, int) and not isinstance(p, bool):
            out.append(str(p))
    if sum(map(len, out)) > MAX_BUILT:
        return None
    return "".join(out)


def _ltrim(ev: Event, s: Any, prefix: Any) -> str | None:
    s, prefix = _str(s), _str(prefix)
    return None if s is None or prefix is None else s.removeprefix(prefix)


def _rtrim(ev: Event, s: Any, suffix: Any) -> str | None:
    s, suffix = _str(s), _str(suffix)
    return None if s is None or suffix is None else s.removesuffix(suffix)


def _lower(ev: Event, s: Any) -> str | None:
    return s.lower() if isinstance(s, str) else None


def _upper(ev: Event, s: Any) -> str | None:
    return s.upper() if isinstance(s, str) else None


def _replace(ev: Event, s: Any, *pairs: Any) -> str | None:
    if not isinstance(s, str):
        return None
    for k in range(0, len(pairs) - 1, 2):
        old, new = _str(pairs[k]), _str(pairs[k + 1])
        if old is None or new is None or replaced_length(s, old, new) > MAX_BUILT:
            return None
        s = s.replace(old, new)
    return s


def _split(ev: Event, s: Any, sep: Any) -> list[str] | None:
    if not isinstance(s, str) or not isinstance(sep, str) or sep == "":
        return None
    return s.split(sep)


def _length(ev: Event, x: Any) -> int | None:
    if isinstance(x, str | list):
        return len(x)
    return None


def _indexof(ev: Event, s: Any, sub: Any, order: Any = "first") -> int | None:
    if not isinstance(s, str) or not isinstance(sub, str):
        return None
    if order == "first":
        return s.find(sub)
    if order == "last":
        return s.rfind(sub)
    positions = [i for i in (s.find(ch) if order == "any" else s.rfind(ch) for ch in sub) if i >= 0]
    if not positions:
        return -1
    return min(positions) if order == "any" else max(positions)


def _substr(ev: Event, s: Any, start: Any, end: Any = None) -> str | None:
    """``s[start:end]`` when the bounds are inside ``s``, else ``s`` unchanged; without
    ``end``, ``s[start:]`` (current upstream made ``end`` optional)."""
    if not isinstance(s, str) or not isinstance(start, int):
        return None
    if end is None:
        return s[start:] if 0 <= start < len(s) else s
    if not isinstance(end, int):
        return None
    if 0 <= start <= end <= len(s):
        return s[start:end]
    return s


def _count(ev: Event, x: Any, pattern: Any, insensitive: Any = True) -> int | None:
    """How many items of list ``x`` (or words of string ``x``) match wildcard ``pattern``."""
    if not isinstance(pattern, str):
        return None
    items = x.split() if isinstance(x, str) else x if isinstance(x, list) else None
    if items is None:
        return None
    if insensitive is not False:
        g = glob(pattern.lower())
        return sum(1 for i in items if g.fullmatch(str(i).lower()))
    g = glob(pattern)
    return sum(1 for i in items if g.fullmatch(str(i)))


def _entropy(ev: Event, s: Any, algo: Any = "shannon") -> int | None:
    if not isinstance(s, str) or not s:
        return 0 if s == "" else None
    counts = Counter(s)
    n = len(s)
    h = -sum(c / n * math.log2(c / n) for c in counts.values())
    return math.ceil(h) * len(s.encode("utf-8", "surrogateescape"))


def _regex(ev: Event, s: Any, *patterns: Any) -> bool | None:
    """The patterns arrive compiled (the compiler accepts only literal patterns)."""
    if not isinstance(s, str):
        return None
    return any(found(s) for found in patterns)


def _map_paths(x: Any, fn: Callable[[str], Any]) -> Any:
    if isinstance(x, str):
        return fn(x)
    if isinstance(x, list):
        return [fn(str(i)) for i in x]
    return None


def _base(ev: Event, path: Any, with_ext: Any = True) -> Any:
    rules = path_rules(ev)
    if with_ext is False:
        return _map_paths(path, lambda p: rules.strip_ext(rules.base(p)))
    return _map_paths(path, rules.base)


def _dir(ev: Event, path: Any) -> Any:
    return _map_paths(path, path_rules(ev).dir)


def _ext(ev: Event, path: Any, dot: Any = True) -> str | None:
    if not isinstance(path, str):
        return None
    e = path_rules(ev).ext(path)
    return e[1:] if dot is False and e else e


def _is_abs(ev: Event, path: Any) -> bool | None:
    return path_rules(ev).is_abs(path) if isinstance(path, str) else None


def _volume(ev: Event, path: Any) -> str | None:
    return path_rules(ev).volume(path) if isinstance(path, str) else None


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("cidr_contains", 2, 32, "bool", _cidr_contains, (STR_OR_IP, STR), ("ip", "cidr")),
        Function("md5", 1, 1, "str", _md5, (STR,), ("data",)),
        Function("concat", 2, 32, "str", _concat, (frozenset({"str", "int"}),), ("string",)),
        Function("ltrim", 2, 2, "str", _ltrim, (STR,), ("string", "prefix")),
        Function("rtrim", 2, 2, "str", _rtrim, (STR,), ("string", "suffix")),
        Function("lower", 1, 1, "str", _lower, (STR,), ("string",)),
        Function("upper", 1, 1, "str", _upper, (STR,), ("string",)),
        Function("replace", 3, 63, "str", _replace, (STR,), ("string", "old", "new")),
        Function("split", 2, 2, "strs", _split, (STR,), ("string", "sep")),
        Function("length", 1, 1, "int", _length, (frozenset({"str", "list"}),), ("string",)),
        Function("indexof", 2, 3, "int", _indexof, (STR,), ("string", "substring", "order")),
        Function("substr", 2, 3, "str", _substr, (STR, INT, INT), ("string", "start", "end")),
        Function(
            "count",
            2,
            3,
            "int",
            _count,
            (frozenset({"str", "list"}), STR, BOOL),
            ("list", "pattern", "case_insensitive"),
        ),
        Function("entropy", 1, 2, "int", _entropy, (STR,), ("string", "algo")),
        Function("regex", 2, 32, "bool", _regex, (STR,), ("string", "pattern")),
        Function("base", 1, 2, "any", _base, (frozenset({"str", "list"}), BOOL), ("path", "ext")),
        Function("dir", 1, 1, "any", _dir, (frozenset({"str", "list"}),), ("path",)),
        Function("ext", 1, 2, "str", _ext, (STR, BOOL), ("path", "dot")),
        Function("is_abs", 1, 1, "bool", _is_abs, (STR,), ("path",)),
        Function("volume", 1, 1, "str", _volume, (STR,), ("path",)),
    )
}

INDEX_ORDERS = ("first", "any", "last", "lastany")
