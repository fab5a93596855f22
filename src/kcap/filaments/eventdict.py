"""The dictionary a filament's per-event hook receives, in both of upstream's API generations.

One new plain ``dict`` per event (a filament may change it), keys in upstream's order:
``seq pid tid cpu name category description host timestamp``, then, only when the event has
process state, ``ppid cwd exe comm sid`` (``exe`` is the process *image name*, ``comm`` its
command line), then the parameters. The generations differ in two keys:

=================================  ==============  ========================
generation                         parameters key  command line key
=================================  ==============  ========================
``on_next_kevent`` (to Dec. 2024)  ``kparams``     ``comm``
``on_next_event`` (later)          ``params``      ``cmdline`` and ``comm``
=================================  ==============  ========================

Upstream renamed ``comm`` to ``cmdline`` in April 2026, long after the hook was renamed, so
later filaments may read either; both are present for them (``comm`` right after ``cmdline``).

Parameters keep the names the capture stores (a 2022 capture has ``file_name``, a 2025 one
``file_path``) in stored order, with upstream's value shapes: unsigned integers, pids, tids and
ports as ``int``; times as naive ``datetime`` holding the recorded wall-clock fields; every
other type as the text the filter language renders for it (`kcap.filter.render.param_text`:
signed integers in decimal, addresses in hex, enumerations and flags by name, IPs, SIDs...).
Text that is not valid Unicode has its bad bytes replaced by U+FFFD so a filament can print it.
See docs/filaments.md, "The event dictionary".
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Callable
from typing import Any

from kcap.filter.render import param_text
from kcap.model.event import Event
from kcap.model.params import Param, Params, ParamType
from kcap.model.timestamp import Timestamp


class Generation(enum.Enum):
    """Which of upstream's filament APIs a script was written for (by the hook it defines)."""

    KEVENT = "kevent"  # on_next_kevent, kparams, comm, kfilter (Fibratus up to December 2024)
    EVENT = "event"  # on_next_event, params, cmdline, set_filter (later Fibratus)
    KCAP = "kcap"  # on_kcap_event: the kcap Event itself, no dictionary


_EPOCH = datetime.datetime(1970, 1, 1)
_timedelta = datetime.timedelta

# Parameter types whose value a filament gets as the model holds it.
_AS_INT = frozenset(
    {
        ParamType.UINT8,
        ParamType.UINT16,
        ParamType.UINT32,
        ParamType.UINT64,
        ParamType.PID,
        ParamType.TID,
        ParamType.PORT,
    }
)
_AS_TEXT = frozenset(
    {
        ParamType.UNICODE,
        ParamType.ANSI,
        ParamType.PATH,
        ParamType.DOS_PATH,
        ParamType.KEY,
        ParamType.HANDLE_TYPE,
    }
)


def naive_datetime(ts: Timestamp) -> datetime.datetime:
    """The recorded wall-clock fields of ``ts`` (in the offset it was recorded with) as a
    naive datetime, sub-microsecond digits truncated; ``datetime(1, 1, 1)`` for text that does
    not parse."""
    secs, frac = divmod(ts.ns, 1_000_000_000)
    return _EPOCH + _timedelta(seconds=secs + ts.offset, microseconds=frac // 1000)


def printable(text: str) -> str:
    """``text`` with lone surrogates (bytes that were not valid UTF-8) replaced by U+FFFD."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def param_value(p: Param) -> Any:
    """One parameter's value as a filament sees it."""
    t = p[1]
    if t in _AS_INT:
        return p[2]
    if t in _AS_TEXT:
        v = p[2]
        return v if v.isascii() else printable(v)
    if t is ParamType.TIME and isinstance(p[2], Timestamp):
        return naive_datetime(p[2])
    text = param_text(p)
    return text if text.isascii() else printable(text)


def param_dict(params: Params) -> dict[str, Any]:
    """Every parameter by stored name, in stored order (the first of a repeated name wins)."""
    out: dict[str, Any] = {}
    stored = params.all() if not params.duplicates else [params[n] for n in params]
    for p in stored:
        t = p[1]
        if t in _AS_INT:
            out[p[0]] = p[2]
        elif t in _AS_TEXT:
            v = p[2]
            out[p[0]] = v if v.isascii() else printable(v)
        else:
            out[p[0]] = param_value(p)
    return out


def _header(ev: Event) -> dict[str, Any]:
    name, category, description, host = ev.name, ev.category, ev.description, ev.host
    return {
        "seq": ev.seq,
        "pid": ev.pid,
        "tid": ev.tid,
        "cpu": ev.cpu,
        "name": name if name.isascii() else printable(name),
        "category": category if category.isascii() else printable(category),
        "description": description if description.isascii() else printable(description),
        "host": host if host.isascii() else printable(host),
        "timestamp": naive_datetime(ev.timestamp),
    }


def kevent_dict(ev: Event) -> dict[str, Any]:
    """The dictionary of the ``on_next_kevent`` generation."""
    d = _header(ev)
    ps = ev.ps
    if ps is not None:
        d["ppid"] = ps.ppid
        cwd, name, cmdline, sid = ps.cwd, ps.name, ps.cmdline, ps.sid
        d["cwd"] = cwd if cwd.isascii() else printable(cwd)
        d["exe"] = name if name.isascii() else printable(name)
        d["comm"] = cmdline if cmdline.isascii() else printable(cmdline)
        d["sid"] = sid if sid.isascii() else printable(sid)
    d["kparams"] = param_dict(ev.params)
    return d


def event_dict(ev: Event) -> dict[str, Any]:
    """The dictionary of the ``on_next_event`` generation."""
    d = _header(ev)
    ps = ev.ps
    if ps is not None:
        d["ppid"] = ps.ppid
        cwd, name, cmdline, sid = ps.cwd, ps.name, ps.cmdline, ps.sid
        d["cwd"] = cwd if cwd.isascii() else printable(cwd)
        d["exe"] = name if name.isascii() else printable(name)
        d["cmdline"] = d["comm"] = cmdline if cmdline.isascii() else printable(cmdline)
        d["sid"] = sid if sid.isascii() else printable(sid)
    d["params"] = param_dict(ev.params)
    return d


def builder(generation: Generation) -> Callable[[Event], Any]:
    """What the per-event hook of ``generation`` is called with, made from an `Event`."""
    if generation is Generation.KEVENT:
        return kevent_dict
    if generation is Generation.EVENT:
        return event_dict
    return lambda ev: ev


__all__ = [
    "Generation",
    "builder",
    "event_dict",
    "kevent_dict",
    "naive_datetime",
    "param_dict",
    "param_value",
    "printable",
]
