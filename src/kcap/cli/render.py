"""How ``kcap replay`` renders one event: a JSON-ready dict, or one readable text line.

JSON object keys: ``seq pid tid cpu name category description host timestamp params meta ps``.

* ``timestamp`` is the RFC 3339 text exactly as the capture stores it.
* ``params`` maps each parameter name, as stored, to its value (the first, should a damaged
  file repeat a name): integers (every integer type, enums, flags, addresses, pids, ports) as
  numbers, floats as numbers (non-finite ones, which JSON cannot express, as the strings
  ``"nan"``, ``"inf"``, ``"-inf"``), booleans as booleans, strings and paths as strings, IP
  addresses in their usual text, binary values (and raw SIDs) as lower-case hex, times as
  their stored text, slices as lists.
* ``meta`` maps each metadata key to its value. A capture may repeat a key; the *last* value
  wins, as in upstream's decoder, which stores metadata in a map.
* ``ps`` is the process state attached on replay (``pid ppid name exe cmdline cwd sid args
  sessionid uuid``), or null when the event's process is unknown.

Strings holding bytes that are not valid UTF-8 (kept by the model as lone surrogates
U+DC80..U+DCFF, Python's ``surrogateescape``) are written as the JSON escape ``\\udcNN`` of that
surrogate: the output stays valid UTF-8 and nothing is lost, since decoding the JSON and
encoding the string with ``errors="surrogateescape"`` gives back the stored bytes. In the text
format the same bytes show as ``\\xNN``, and control characters as escapes, so that one event
stays on one line.
"""

from __future__ import annotations

import ipaddress
import json
import math
from collections.abc import Callable
from typing import Any

from kcap.cli.escape import text_escape
from kcap.model.event import Event
from kcap.model.process import Process
from kcap.model.timestamp import Timestamp

_fast_dumps: Callable[[Any], bytes] | None
try:  # optional: about twice as fast as the json module; identical output
    from orjson import dumps as _orjson_dumps

    _fast_dumps = _orjson_dumps
except ImportError:  # pragma: no cover - depends on the environment
    _fast_dumps = None

#: Separator between a parameter's name and value in the text format (upstream's default).
KV_DELIMITER = "➜ "

_IP = (ipaddress.IPv4Address, ipaddress.IPv6Address)


# --------------------------------------------------------------------------- JSON


def json_value(value: Any) -> Any:
    """A parameter value as a JSON-ready value (see the module docstring)."""
    t = type(value)
    if t is int or t is str or t is bool:
        return value
    if t is bytes:
        return value.hex()
    if t is float:
        return value if math.isfinite(value) else str(value)
    if t is Timestamp:
        return value.text
    if t is list:
        return value  # slices hold str or int only
    if isinstance(value, _IP):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    return value if isinstance(value, int | str | float) else str(value)


def process_dict(ps: Process | None) -> dict[str, Any] | None:
    if ps is None:
        return None
    return {
        "pid": ps.pid,
        "ppid": ps.ppid,
        "name": ps.name,
        "exe": ps.exe,
        "cmdline": ps.cmdline,
        "cwd": ps.cwd,
        "sid": ps.sid,
        "args": ps.args,
        "sessionid": ps.session_id,
        "uuid": ps.uuid,
    }


def event_dict(ev: Event) -> dict[str, Any]:
    """The JSON object of one replayed event."""
    params = ev.params
    # A repeated name keeps its first value, as `Params` does (rare: hostile files only).
    stored = params.all() if not params.duplicates else [params[n] for n in params]
    return {
        "seq": ev.seq,
        "pid": ev.pid,
        "tid": ev.tid,
        "cpu": ev.cpu,
        "name": ev.name,
        "category": ev.category,
        "description": ev.description,
        "host": ev.host,
        "timestamp": ev.timestamp.text,
        "params": {p.name: json_value(p.value) for p in stored},
        "meta": dict(ev.meta),
        "ps": process_dict(ev.ps),
    }


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def json_bytes(obj: Any, *, indent: int | None = None) -> bytes:
    """Encode as UTF-8 JSON; lone surrogates become ``\\udcNN`` escapes (see module docs).

    ``ensure_ascii=False`` leaves a lone surrogate as a raw code point inside a JSON string;
    ``backslashreplace`` then writes it as the six characters ``\\udcNN``, which is exactly the
    JSON escape of that code point. Every other character encodes to UTF-8 unchanged.
    """
    if indent is None:
        text = _ENCODER.encode(obj)
    else:
        text = json.dumps(obj, ensure_ascii=False, indent=indent, allow_nan=False)
    return text.encode("utf-8", "backslashreplace")


def event_json(ev: Event) -> bytes:
    """One event as compact JSON (no newline).

    Uses orjson when it is installed. orjson refuses lone surrogates and integers beyond 64
    bits; such an event falls back to `json_bytes`, whose output is otherwise byte-identical.
    """
    obj = event_dict(ev)
    if _fast_dumps is not None:
        try:
            return _fast_dumps(obj)
        except TypeError:
            pass
    return json_bytes(obj)


# --------------------------------------------------------------------------- text


def text_value(value: Any) -> str:
    """A parameter value as upstream's console shows it, on one line."""
    t = type(value)
    if t is str:
        return text_escape(value)
    if t is int:
        return str(value)
    if t is bool:
        return "true" if value else "false"
    if t is bytes:
        return value.hex()
    if t is Timestamp:
        return value.text
    if t is list:
        return "[" + " ".join(text_value(v) for v in value) + "]"
    return text_escape(str(value))


def event_text(ev: Event) -> str:
    """``SEQ TIMESTAMP - CPU PROCESS (PID) - NAME (name➜ value, ...)``, parameters by name.

    Upstream's default console template, with the timestamp as stored (RFC 3339).
    """
    params = ev.params
    kparams = ", ".join(
        f"{text_escape(name)}{KV_DELIMITER}{text_value(params[name].value)}"
        for name in sorted(params)
    )
    ps = ev.ps
    pname = text_escape(ps.name) if ps is not None else ""
    return (
        f"{ev.seq} {text_escape(ev.timestamp.text)} - {ev.cpu} {pname} ({ev.pid}) - "
        f"{text_escape(ev.name)} ({kparams})"
    )


__all__ = [
    "KV_DELIMITER",
    "event_dict",
    "event_json",
    "event_text",
    "json_bytes",
    "json_value",
    "process_dict",
    "text_escape",
    "text_value",
]
