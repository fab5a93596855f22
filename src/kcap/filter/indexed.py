"""Indexed field families: ``ps.envs[NAME]``, ``ps.modules[FILE].SEG``, ``ps.ancestor[N].ATTR``,
``pe.sections[NAME].SEG``, ``pe.resources[KEY]`` and the like.

Their names are open-ended, so they are matched by pattern when a filter names them, and a
`FieldSpec` is built for that exact spelling.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kcap.filter import accessors as A
from kcap.filter import render as R
from kcap.filter.paths import WINDOWS, PathRules
from kcap.filter.spec import FieldSpec
from kcap.model.event import Event
from kcap.model.params import INT_TYPES, ParamType
from kcap.model.process import Process

_KEY = r"([A-Za-z0-9_.$]+)"
_INDEXED: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"ps\.envs\[" + _KEY + r"\]"), "ps.envs[<NAME>]"),
    (
        re.compile(
            r"ps\.modules\[" + _KEY + r"\]\.(size|checksum|address\.base|address\.default|"
            r"location)"
        ),
        "ps.modules[<FILE>].<size|checksum|address.base|address.default|location>",
    ),
    # Current upstream: the N-th ancestor's name, the parent being 0 ('' when too short).
    (re.compile(r"ps\.ancestor\[([0-9]{1,9})\]"), "ps.ancestor[<N>]"),
    (
        re.compile(
            r"ps\.ancestor\[(root|any|[1-9][0-9]{0,8})\]\.(pid|name|cmdline|exe|args|cwd|sid|"
            r"sessionid|username|domain)"
        ),
        "ps.ancestor[<N|root|any>].<pid|name|cmdline|exe|args|cwd|sid|sessionid|username|domain>",
    ),
    (
        re.compile(r"pe\.sections\[" + _KEY + r"\]\.(entropy|md5|size)"),
        "pe.sections[<SECTION>].<entropy|md5|size>",
    ),
    (re.compile(r"pe\.resources\[" + _KEY + r"\]"), "pe.resources[<KEY>]"),
    (re.compile(r"kevt\.arg\[" + _KEY + r"\]"), "kevt.arg[<PARAM>]"),
    (
        re.compile(r"thread\.callstack\[[A-Za-z0-9_.$]+\]\.[A-Za-z_]+"),
        "thread.callstack[<IDX|ustart|uend|kstart|kend|MODULE.dll>].<SEGMENT>",
    ),
]
INDEXED_TEMPLATES = [t for _, t in _INDEXED]

ANCESTOR_ATTRS: dict[str, tuple[str, Callable[[Process], Any]]] = {
    "pid": ("int", lambda p: p.pid),
    "name": ("str", lambda p: p.name),
    "cmdline": ("str", lambda p: p.cmdline),
    "exe": ("str", lambda p: p.exe),
    "args": ("strs", lambda p: list(p.args)),
    "cwd": ("str", lambda p: p.cwd or None),
    "sid": ("str", lambda p: p.sid),
    "sessionid": ("int", lambda p: p.session_id),
    "username": ("str", lambda p: p.username),
    "domain": ("str", lambda p: p.domain),
}


def _as_strings(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, list):
        return [str(x) for x in v]
    return [str(v)]


def _env_getter(key: str) -> Callable[[Event], Any]:
    def env(p: Process) -> str | None:
        for k, v in p.envs:
            if k == key:
                return v
        for k, v in p.envs:  # stored order makes an ambiguous prefix deterministic
            if k.startswith(key):
                return v
        return None

    return A.ps_attr(env)


def _section_getter(sec: str, seg: str) -> Callable[[Event], Any]:
    def section(pe: Any) -> Any:
        for s in pe.sections:
            if s.name == sec:
                return getattr(s, seg)
        return None

    return A.pe_field(section)


def _resource_getter(key: str) -> Callable[[Event], Any]:
    def resource(pe: Any) -> str | None:
        exact = pe.resource(key)
        if exact is not None:
            return str(exact)
        for k, v in pe.version_resources:
            if k.startswith(key):
                return str(v)
        return None

    return A.pe_field(resource)


def indexed_spec(name: str) -> FieldSpec | None:
    for pattern, _template in _INDEXED:
        m = pattern.fullmatch(name)
        if m is None:
            continue
        fam = name.split("[", 1)[0]
        if fam == "ps.envs":
            return FieldSpec(name, "str", "state", _env_getter(m.group(1)))
        if fam == "ps.modules":
            file_key, seg = WINDOWS.base(m.group(1)), m.group(2)
            return FieldSpec(
                name,
                _MODULE_SEGS[seg][0],
                "state",
                _module_getter(file_key, _MODULE_SEGS[seg][1]),
            )
        if fam == "ps.ancestor" and m.lastindex == 1:
            return FieldSpec(name, "str", "state", _nth_ancestor_name(int(m.group(1))))
        if fam == "ps.ancestor":
            which, seg = m.group(1), m.group(2)
            kind, attr = ANCESTOR_ATTRS[seg]
            return FieldSpec(
                name, "strs" if which == "any" else kind, "state", _ancestor_getter(which, attr)
            )
        if fam == "pe.sections":
            sec, seg = m.group(1), m.group(2)
            kind = {"entropy": "float", "md5": "str", "size": "int"}[seg]
            return FieldSpec(name, kind, "state", _section_getter(sec, seg))
        if fam == "pe.resources":
            return FieldSpec(name, "str", "state", _resource_getter(m.group(1)))
        if fam == "kevt.arg":
            pname = m.group(1)
            return FieldSpec(name, "any", "params", _arg_getter(pname), None, (pname,))
        return FieldSpec(name, "any", "params", None, "captures do not keep symbolized call frames")
    return None


_MODULE_SEGS: dict[str, tuple[str, Callable[[Any, PathRules], Any]]] = {
    "size": ("int", lambda m, r: m.size),
    "checksum": ("int", lambda m, r: m.checksum),
    "address.base": ("str", lambda m, r: R.hex_text(m.base_address)),
    "address.default": ("str", lambda m, r: R.hex_text(m.default_base_address)),
    "location": ("str", lambda m, r: r.dir(m.path)),
}


def _module_getter(file_key: str, seg: Callable[[Any, PathRules], Any]) -> Callable[[Event], Any]:
    def get(ev: Event) -> Any:
        ps = ev.ps
        if ps is None:
            return None
        rules = A.path_rules(ev)
        for mod in ps.modules:
            if rules.base(mod.path) == file_key:
                return seg(mod, rules)
        return None

    return get


def _nth_ancestor_name(depth: int) -> Callable[[Event], Any]:
    def get(ev: Event) -> str | None:
        ps = ev.ps
        if ps is None:
            return None
        chain = A.ancestors(ps)
        return chain[depth].name if depth < len(chain) else ""

    return get


def _ancestor_getter(which: str, attr: Callable[[Process], Any]) -> Callable[[Event], Any]:
    def get(ev: Event) -> Any:
        ps = ev.ps
        if ps is None:
            return None
        chain = A.ancestors(ps)
        if which == "any":
            out: list[str] = []
            for p in chain:
                out.extend(_as_strings(attr(p)))
            return out
        if not chain:
            return None
        if which == "root":
            return attr(chain[-1])
        depth = int(which)
        return attr(chain[depth - 1]) if depth <= len(chain) else None

    return get


_NUMERIC_ARG_TYPES = INT_TYPES - {
    ParamType.ENUM,
    ParamType.FLAGS,
    ParamType.FLAGS64,
    ParamType.STATUS,
    ParamType.ADDRESS,
    ParamType.HEX_INT8,
    ParamType.HEX_INT16,
    ParamType.HEX_INT32,
    ParamType.HEX_INT64,
}


def _arg_getter(pname: str) -> Callable[[Event], Any]:
    def get(ev: Event) -> Any:
        p = ev.params.get(pname)
        if p is None:
            return None
        if p.type in _NUMERIC_ARG_TYPES and type(p.value) is int:
            return p.value
        if p.type is ParamType.TIME:
            return p.value
        return R.param_text(p)

    return get
