"""The orjson baseline of bench_rw.py: the same events as zstd-compressed JSON lines."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import orjson
import zstandard

import kcap
from kcap.model.process import Process
from kcap.model.timestamp import Timestamp


def _json_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        # orjson writes dataclasses itself; this is for the json-module fallback below
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Timestamp):
        return value.text
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)  # IP addresses


def process_json(proc: Process) -> dict[str, Any]:
    return {
        "pid": proc.pid,
        "ppid": proc.ppid,
        "name": proc.name,
        "cmdline": proc.cmdline,
        "exe": proc.exe,
        "cwd": proc.cwd,
        "sid": proc.sid,
        "args": proc.args,
        "session_id": proc.session_id,
        "envs": dict(proc.envs),
        # a handle's meta is a dataclass or None: orjson writes it itself
        "handles": [
            {"num": h.num, "object": h.object, "pid": h.pid, "type": h.type, "name": h.name}
            | {"meta": h.meta}
            for h in proc.handles
        ],
        "pe": proc.pe,
        "start_time": proc.start_time.text,
        "uuid": proc.uuid,
        "username": proc.username,
        "domain": proc.domain,
        "is_wow64": proc.is_wow64,
        "is_packaged": proc.is_packaged,
        "is_protected": proc.is_protected,
    }


def ps_json(proc: Process) -> dict[str, Any]:
    """The process state attached to an event, as a JSON export would repeat it on each line.

    Handles and PE are left out: a process can hold hundreds of handles, and repeating them on
    every line is not what anybody would export.
    """
    doc = process_json(proc)
    del doc["handles"], doc["pe"]
    return doc


def event_json(ev: kcap.Event, with_ps: bool = False) -> dict[str, Any]:
    """The natural JSON shape of an event: header fields, params by name, meta, process.

    ``process`` is the process section stored in the event itself (as in the capture);
    ``with_ps`` adds ``ps``, the state replay attaches to every event.
    """
    proc = ev.process
    doc = {
        "seq": ev.seq,
        "pid": ev.pid,
        "tid": ev.tid,
        "cpu": ev.cpu,
        "type": ev.type.hex(),
        "name": ev.name,
        "category": ev.category,
        "description": ev.description,
        "host": ev.host,
        "timestamp": ev.timestamp.text,
        "params": {p.name: p.value for p in ev.params.all()},
        "meta": dict(ev.meta),
        "process": process_json(proc) if proc is not None else None,
    }
    if with_ps:
        doc["ps"] = ps_json(ev.ps) if ev.ps is not None else None
    return doc


def _valid_utf8(obj: Any) -> Any:
    # Strings kept with surrogateescape cannot go to JSON; a JSON user would have replaced them.
    if isinstance(obj, str):
        return obj.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    if isinstance(obj, dict):
        return {_valid_utf8(k): _valid_utf8(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_valid_utf8(v) for v in obj]
    return obj


def make_jsonl(path: Path, out: Path, with_ps: bool = False) -> int:
    """Write the events of ``path`` as zstd-compressed JSON lines (streamed)."""
    tmp = out.with_name(out.name + ".part")
    n = 0
    dumps = orjson.dumps
    opts = orjson.OPT_APPEND_NEWLINE
    with (
        kcap.open(path) as reader,
        tmp.open("wb") as fh,
        zstandard.ZstdCompressor(level=3).stream_writer(fh) as zw,
    ):
        for ev in reader.read(include_state=True):
            doc = event_json(ev, with_ps)
            try:
                line = dumps(doc, default=_json_default, option=opts)
            except orjson.JSONEncodeError:
                line = dumps(
                    _valid_utf8(json.loads(json.dumps(doc, default=_json_default))),
                    option=opts,
                )
            zw.write(line)
            n += 1
    tmp.replace(out)
    return n
