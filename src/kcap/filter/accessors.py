"""Building blocks of field accessors: small closures reading one thing from an event.

An accessor is ``Callable[[Event], value | None]``; ``None`` means *missing* (docs/filter.md,
"Operators").
Parameter names changed between writer generations (``file_name`` became ``file_path``,
``key_name`` ``key_path``, ``operation`` ``create_disposition``...), so every parameter accessor
takes the newest name first followed by the older spellings.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
from collections.abc import Callable
from typing import Any

from kcap.filter.paths import POSIX, WINDOWS, PathRules
from kcap.filter.render import Symbols, hex_text, sid_text, status_text
from kcap.model.catalogue import lookup
from kcap.model.event import Event
from kcap.model.params import ParamType
from kcap.model.process import Process

Accessor = Callable[[Event], Any]
#: The event category (or categories) a parameter accessor applies to; None: any event.
Category = str | tuple[str, ...] | None

_IP = ipaddress.IPv4Address | ipaddress.IPv6Address

# --------------------------------------------------------------------------- event facts

_LINUX_BY_TYPE: dict[bytes, bool] = {}
_NAME_BY_TYPE: dict[bytes, str] = {}
# A damaged or hostile file can carry a different type id in every event: stop caching then.
_CACHE_LIMIT = 4096


def path_rules(ev: Event) -> PathRules:
    """POSIX rules for this project's Linux events, Windows rules for everything else."""
    t = ev.type
    linux = _LINUX_BY_TYPE.get(t)
    if linux is None:
        et = lookup(t)
        linux = et is not None and et.provider == "kcap-linux"
        if len(_LINUX_BY_TYPE) < _CACHE_LIMIT:
            _LINUX_BY_TYPE[t] = linux
    return POSIX if linux else WINDOWS


def canonical_type_name(ev: Event) -> str:
    """The catalogue name of the event type (recorded names can be ``N/A`` or empty)."""
    t = ev.type
    name = _NAME_BY_TYPE.get(t)
    if name is None:
        et = lookup(t)
        if et is None:
            return ev.name
        name = et.name
        if len(_NAME_BY_TYPE) < _CACHE_LIMIT:
            _NAME_BY_TYPE[t] = name
    return name


def event_name(ev: Event) -> str:
    name = ev.name
    if name and name != "N/A":
        return name
    return canonical_type_name(ev)


# --------------------------------------------------------------------------- parameters


def _first_param(ev: Event, names: tuple[str, ...]) -> Any:
    params = ev.params
    for n in names:
        p = params.get(n)
        if p is not None:
            return p
    return None


def _gate(category: Category) -> Callable[[Event], bool]:
    if category is None:
        return lambda ev: True
    if isinstance(category, str):
        return lambda ev: ev.category == category
    cats = frozenset(category)
    return lambda ev: ev.category in cats


def param_raw(category: Category, *names: str) -> Accessor:
    """The stored value of the first present parameter, or missing."""
    if len(names) == 1 and isinstance(category, str):
        (name,) = names

        def get1(ev: Event) -> Any:
            if ev.category != category:
                return None
            p = ev.params.get(name)
            return None if p is None else p.value

        return get1
    gate = _gate(category)

    def get(ev: Event) -> Any:
        if not gate(ev):
            return None
        p = _first_param(ev, names)
        return None if p is None else p.value

    return get


def to_int(v: Any) -> int | None:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        s = v.strip()
        try:
            return int(s, 16) if s[:2].lower() == "0x" else int(s)
        except ValueError:
            return None
    return None


def param_num(category: Category, *names: str) -> Accessor:
    raw = param_raw(category, *names)

    def get(ev: Event) -> int | None:
        v = raw(ev)
        if type(v) is int:
            return v
        return None if v is None else to_int(v)

    return get


def param_bool(category: Category, *names: str) -> Accessor:
    raw = param_raw(category, *names)

    def get(ev: Event) -> bool | None:
        v = raw(ev)
        if v is None or isinstance(v, bool):
            return v
        if isinstance(v, int):
            return v != 0
        if isinstance(v, str):
            return v.strip().lower() in ("true", "1", "yes")
        return None

    return get


def _text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if v is None:
        return ""
    if isinstance(v, bytes | bytearray):
        return bytes(v).decode("utf-8", "surrogateescape")
    if isinstance(v, list):
        return ",".join(str(x) for x in v)
    return str(v)


def param_text(category: Category, *names: str) -> Accessor:
    """Rendered text of a string-like parameter; ``''`` when absent (the provider applies)."""
    if len(names) == 1 and isinstance(category, str):
        (name,) = names

        def get1(ev: Event) -> str | None:
            if ev.category != category:
                return None
            p = ev.params.get(name)
            if p is None:
                return ""
            v = p.value
            return v if type(v) is str else _text(v)

        return get1
    gate = _gate(category)

    def get(ev: Event) -> str | None:
        if not gate(ev):
            return None
        p = _first_param(ev, names)
        if p is None:
            return ""
        v = p.value
        return v if type(v) is str else _text(v)

    return get


def param_rendered(category: Category, render: Callable[[Any], str], *names: str) -> Accessor:
    gate = _gate(category)

    def get(ev: Event) -> str | None:
        if not gate(ev):
            return None
        p = _first_param(ev, names)
        return "" if p is None else render(p.value)

    return get


def param_symbol(category: Category, table: Symbols, *names: str) -> Accessor:
    return param_rendered(category, table.render, *names)


def param_hex(category: Category, *names: str) -> Accessor:
    return param_rendered(category, hex_text, *names)


def param_status(category: Category, *names: str) -> Accessor:
    return param_rendered(category, status_text, *names)


def param_sid(category: Category, *names: str) -> Accessor:
    gate = _gate(category)

    def get(ev: Event) -> str | None:
        if not gate(ev):
            return None
        p = _first_param(ev, names)
        if p is None:
            return ""
        return sid_text(p.value, wbem=p.type is ParamType.WBEM_SID)

    return get


def param_flag_names(category: Category, table: Symbols, *names: str) -> Accessor:
    rendered = param_symbol(category, table, *names)

    def get(ev: Event) -> list[str] | None:
        text = rendered(ev)
        return None if text is None else text.split("|")

    return get


def param_strings(category: Category, *names: str) -> Accessor:
    raw = param_raw(category, *names)

    def get(ev: Event) -> list[str] | None:
        v = raw(ev)
        if v is None:
            return None
        if isinstance(v, list):
            return [str(x) for x in v]
        if isinstance(v, str):
            return v.split(",") if v else []
        return [str(v)]

    return get


def param_ip(category: Category, *names: str) -> Accessor:
    raw = param_raw(category, *names)

    def get(ev: Event) -> Any:
        v = raw(ev)
        if isinstance(v, _IP) or v is None:
            return v
        try:
            return ipaddress.ip_address(v.strip() if isinstance(v, str) else v)
        except (ValueError, TypeError):
            return None

    return get


def param_path_part(
    category: Category, part: Callable[[PathRules, str], str], *names: str
) -> Accessor:
    text = param_text(category, *names)

    def get(ev: Event) -> str | None:
        v = text(ev)
        return None if v is None else part(path_rules(ev), v)

    return get


# --------------------------------------------------------------------------- process state


def ps_applies(ev: Event) -> bool:
    return ev.ps is not None or ev.category == "process"


def ps_attr(getter: Callable[[Process], Any]) -> Accessor:
    def get(ev: Event) -> Any:
        ps = ev.ps
        return None if ps is None else getter(ps)

    return get


def parent_attr(getter: Callable[[Process], Any]) -> Accessor:
    def get(ev: Event) -> Any:
        ps = ev.ps
        if ps is None:
            return None
        parent = ps.parent
        return None if parent is None else getter(parent)

    return get


def ancestors(ps: Process) -> list[Process]:
    """Parent first, then grandparent...; stops at a cycle (a hostile capture can make one)."""
    out: list[Process] = []
    seen = {id(ps)}
    cur = ps.parent
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        out.append(cur)
        cur = cur.parent
    return out


# --------------------------------------------------------------------------- timestamps


def ts_text_slice(start: int, stop: int) -> Accessor:
    def get(ev: Event) -> str:
        return ev.timestamp.text[start:stop]

    return get


def ts_int_slice(start: int, stop: int) -> Accessor:
    def get(ev: Event) -> int | None:
        try:
            return int(ev.timestamp.text[start:stop])
        except ValueError:
            return None

    return get


def ts_date(getter: Callable[[_dt.date], Any]) -> Accessor:
    def get(ev: Event) -> Any:
        text = ev.timestamp.text
        try:
            d = _dt.date(int(text[0:4]), int(text[5:7]), int(text[8:10]))
        except ValueError:
            return None
        return getter(d)

    return get


def ts_zone(ev: Event) -> str:
    text = ev.timestamp.text
    if text.endswith(("Z", "z")):
        return "UTC"
    tail = text[-6:]
    return tail if len(tail) == 6 and tail[0] in "+-" and tail[3] == ":" else ""


def pe_field(getter: Callable[[Any], Any]) -> Accessor:
    """A value of the PE metadata of the attached process (None without one)."""

    def get(ev: Event) -> Any:
        ps = ev.ps
        pe = None if ps is None else ps.pe
        return None if pe is None else getter(pe)

    return get
