"""Alerts: what a rule match reports, its output text, and its JSON form.

An alert carries the rule's id, name, severity, labels, tags and description, the events that
completed it (one for a plain rule, one per step for a sequence), the rule's ``output``
template rendered on those events, and the rule's actions as a report of what they would do:
kcap never acts on a host unless told to (docs/rules.md, "Alerts").

Output templates: ``%field`` reads the first event, ``%N.field`` the N-th (1-based). A value
is formatted as text (lists as ``[a b c]``); a field without a value gives ``N/A``; a token
naming no field, or an event number beyond the alert's events, is left as written. Dots
ending a token are punctuation, not part of the field name (upstream swallows them).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from kcap.filter import fields as F
from kcap.filter.fields_head import HEAD_OVERRIDES
from kcap.model.event import Event
from kcap.model.process import Process
from kcap.model.timestamp import Timestamp
from kcap.rules.model import Rule

_TOKEN = re.compile(r"%([1-9])?\.?([A-Za-z_][A-Za-z0-9_.\[\]]*)")


@dataclass
class ActionReport:
    """An action a rule asks for: ``kill`` (the pids) or ``isolate`` (the whitelist)."""

    name: str
    pids: list[int] = field(default_factory=list)
    whitelist: list[str] = field(default_factory=list)
    executed: bool = False
    result: str = "not executed (reported only)"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "executed": self.executed, "result": self.result}
        if self.name == "kill":
            out["pids"] = self.pids
        if self.whitelist:
            out["whitelist"] = self.whitelist
        return out


@dataclass
class Alert:
    rule: Rule
    events: list[Event]
    text: str
    actions: list[ActionReport]

    @property
    def severity(self) -> str:
        return self.rule.severity

    def as_dict(self) -> dict[str, Any]:
        r = self.rule
        out: dict[str, Any] = {
            "rule_id": r.id,
            "rule_name": r.name,
            "rule_file": str(r.path),
            "severity": r.severity,
            "text": self.text,
            "description": r.description,
            "labels": r.labels,
            "tags": r.tags,
            "seq": [e.seq for e in self.events],
            "events": [event_dict(e) for e in self.events],
        }
        if self.actions:
            out["actions"] = [a.as_dict() for a in self.actions]
        return out


def event_dict(ev: Event) -> dict[str, Any]:
    out: dict[str, Any] = {
        "seq": ev.seq,
        "name": ev.name,
        "category": ev.category,
        "timestamp": ev.timestamp.text,
        "pid": ev.pid,
        "tid": ev.tid,
    }
    ps = ev.ps
    if ps is not None:
        out["process"] = process_dict(ps)
    return out


def process_dict(ps: Process) -> dict[str, Any]:
    out: dict[str, Any] = {"pid": ps.pid, "ppid": ps.ppid, "name": ps.name, "exe": ps.exe}
    if ps.cmdline:
        out["cmdline"] = ps.cmdline
    if ps.parent is not None:
        out["parent_name"] = ps.parent.name
    return out


def format_value(v: Any) -> str:
    """A value as an alert text shows it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return "[" + " ".join(format_value(x) for x in v) + "]"
    if isinstance(v, Timestamp):
        return v.text
    if isinstance(v, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(v)
    if isinstance(v, bytes | bytearray):
        return bytes(v).hex()
    return str(v)


def render_output(template: str, events: list[Event]) -> str:
    """The rule's output template with its %tokens replaced (see the module docstring)."""

    def replace(m: re.Match[str]) -> str:
        number, name = m.group(1), m.group(2)
        trail = len(name) - len(name.rstrip("."))
        name = name.rstrip(".")
        index = int(number) - 1 if number else 0
        canonical = F.resolve(name)
        if canonical is None or index >= len(events):
            return m.group(0)
        spec = HEAD_OVERRIDES.get(canonical) or F.spec_of(canonical)
        value = None if spec.getter is None else spec.getter(events[index])
        text = "N/A" if value is None else format_value(value)
        return text + "." * trail

    return _TOKEN.sub(replace, template)
