"""The benchmark consumer: reading every field of an event, as a full-decode user would."""

from __future__ import annotations

from typing import Any

import kcap
from kcap.model.process import PE, Process
from kcap.model.timestamp import Timestamp


def _touch_pe(pe: PE) -> int:
    acc = pe.nsections + pe.nsymbols + len(pe.image_base) + len(pe.entrypoint)
    acc += pe.link_time.ns
    for s in pe.sections:
        acc += s.size + len(s.name) + len(s.md5) + int(s.entropy)
    acc += len(pe.symbols) + len(pe.imports) + len(pe.version_resources) + len(pe.anomalies)
    acc += pe.is_signed + pe.is_trusted + pe.is_driver + pe.is_dll + pe.is_executable
    acc += pe.is_dotnet + len(pe.imphash)
    cert = pe.cert
    if cert is not None:
        acc += cert.not_before.ns + cert.not_after.ns
        acc += len(cert.serial) + len(cert.subject) + len(cert.issuer)
    return acc


def touch_process(proc: Process) -> int:
    """Read every field a process section stores (handles and PE included)."""
    acc = proc.pid + proc.ppid + proc.session_id + proc.uuid
    acc += len(proc.name) + len(proc.cmdline) + len(proc.exe) + len(proc.cwd) + len(proc.sid)
    acc += len(proc.username) + len(proc.domain)
    acc += proc.is_wow64 + proc.is_packaged + proc.is_protected
    acc += proc.start_time.ns
    for arg in proc.args:
        acc += len(arg)
    for k, v in proc.envs:
        acc += len(k) + len(v)
    for h in proc.handles:
        acc += h.num + h.object + h.pid + len(h.type) + len(h.name) + (h.meta is not None)
    if proc.pe is not None:
        acc += _touch_pe(proc.pe)
    return acc


def touch_event(ev: kcap.Event) -> int:
    """Read every field of an event: header, every parameter, metadata and process section."""
    acc = ev.seq + ev.pid + ev.tid + ev.cpu + len(ev.type)
    acc += len(ev.name) + len(ev.category) + len(ev.description) + len(ev.host)
    acc += ev.timestamp.ns
    for p in ev.params.all():
        value = p.value
        acc += len(p.name) + p.type
        if type(value) is Timestamp:
            acc += value.ns
    for k, v in ev.meta:
        acc += len(k) + len(v)
    proc = ev.process
    if proc is not None:
        acc += touch_process(proc)
    return acc + (ev.ps is not None)


def _touch_json_process(proc: dict[str, Any]) -> int:
    acc = proc["pid"] + proc["ppid"] + proc["session_id"] + proc["uuid"]
    for key in ("name", "cmdline", "exe", "cwd", "sid", "username", "domain", "start_time"):
        acc += len(proc[key])
    acc += proc["is_wow64"] + proc["is_packaged"] + proc["is_protected"]
    for arg in proc["args"]:
        acc += len(arg)
    for k, v in proc["envs"].items():
        acc += len(k) + len(v)
    for h in proc["handles"]:
        acc += h["num"] + h["object"] + h["pid"] + len(h["type"]) + len(h["name"])
        acc += h["meta"] is not None
    pe = proc["pe"]
    if pe is not None:
        acc += len(pe)
        for s in pe["sections"]:
            acc += len(s)
    return acc


def touch_json(doc: dict[str, Any]) -> int:
    """What `touch_event` reads, from an event as a JSON line (``_jsonl.event_json``).

    The timestamp stays text: Python has no parser for nanosecond RFC 3339, so this does less
    work than `touch_event`, which parses it.
    """
    acc = doc["seq"] + doc["pid"] + doc["tid"] + doc["cpu"] + len(doc["type"])
    acc += len(doc["name"]) + len(doc["category"]) + len(doc["description"]) + len(doc["host"])
    acc += len(doc["timestamp"])
    for name, value in doc["params"].items():
        acc += len(name) + (value is not None)
    for k, v in doc["meta"].items():
        acc += len(k) + len(v)
    proc = doc["process"]
    if proc is not None:
        acc += _touch_json_process(proc)
    return acc
