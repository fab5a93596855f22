"""Building blocks of the rule tests: rule files written on the fly, and events built in code."""

from __future__ import annotations

import itertools
import textwrap
import uuid
from pathlib import Path
from typing import Any

import yaml

import kcap.rules
from kcap.model import Event, Param, Process, Timestamp
from kcap.model.catalogue import by_name
from kcap.model.params import ParamType as T

BASE_NS = 1_700_000_000 * 1_000_000_000
_SEQ = itertools.count(1)

#: A small macro library of our own (the shared fixtures carry upstream's).
MACROS = """
- macro: spawn_process
  expr: evt.name = 'CreateProcess'
- macro: create_file
  expr: evt.name = 'CreateFile' and file.operation != 'OPEN'
- macro: open_file
  expr: evt.name = 'CreateFile' and file.operation = 'OPEN'
- macro: load_module
  expr: evt.name = 'LoadModule'
- macro: connect_socket
  expr: evt.name = 'Connect'
- macro: set_value
  expr: evt.name = 'RegSetValue'
- macro: either_name
  expr: ps.name = 'a.exe' or ps.name = 'b.exe'
- macro: shells
  list: [cmd.exe, powershell.exe, bash]
"""


def rule_text(condition: str, **keys: Any) -> str:
    doc: dict[str, Any] = {
        "name": keys.pop("name", "Test rule"),
        "id": keys.pop("id", str(uuid.uuid4())),
        "version": "1.0.0",
        "condition": condition,
        "min-engine-version": keys.pop("min_engine_version", "3.0.0"),
    }
    doc.update({k.replace("_", "-") if k == "min_engine" else k: v for k, v in keys.items()})
    return yaml.safe_dump(doc, sort_keys=False)


def write_rules(
    tmp: Path, *conditions: str | tuple[str, dict[str, Any]], macros: str | None = MACROS
) -> Path:
    """A directory holding one rule file per condition and the macro library."""
    d = tmp / f"rules{next(_SEQ)}"
    d.mkdir()
    if macros:
        (d / "macros.yml").write_text(textwrap.dedent(macros))
    for i, c in enumerate(conditions):
        cond, keys = (c, {}) if isinstance(c, str) else c
        (d / f"rule{i}.yml").write_text(rule_text(cond, **keys))
    return d


def load(tmp: Path, *conditions: str | tuple[str, dict[str, Any]]) -> kcap.rules.RuleSet:
    return kcap.rules.load([write_rules(tmp, *conditions)])


def at(seconds: float) -> Timestamp:
    return Timestamp.from_ns(BASE_NS + int(seconds * 1e9))


#: Every process `proc` made, by pid: the process lookup the test engines use (a reader's
#: snapshotter plays this part on a capture).
PROCS: dict[int, Process] = {}


def lookup(pid: int) -> Process | None:
    return PROCS.get(pid)


def proc(pid: int, name: str, exe: str = "", parent: Process | None = None, **kw: Any) -> Process:
    p = Process(
        pid=pid,
        ppid=parent.pid if parent else 0,
        name=name,
        exe=exe or f"C:\\Windows\\System32\\{name}",
        parent=parent,
        uuid=kw.pop("uuid", pid * 1000 + 7),
        **kw,
    )
    PROCS[pid] = p
    return p


def event(
    name: str,
    t: float = 0.0,
    *,
    pid: int = 100,
    ps: Process | None = None,
    seq: int | None = None,
    typed: tuple[Param, ...] = (),
    **params: Any,
) -> Event:
    """An event of catalogue type ``name`` at ``t`` seconds; ``typed`` adds exact parameters."""
    et = by_name()[name]
    plist = list(typed)
    for k, v in params.items():
        if isinstance(v, bool):
            plist.append(Param(k, T.BOOL, v))
        elif isinstance(v, int):
            plist.append(Param(k, T.PID if k in ("pid", "ppid") else T.UINT64, v))
        else:
            plist.append(Param(k, T.UNICODE, v))
    return Event(
        seq=next(_SEQ) if seq is None else seq,
        pid=pid,
        type=et.id,
        name=name,
        category=et.category,
        timestamp=at(t),
        params=plist,
        ps=ps,
    )


def feed_all(engine: kcap.rules.Engine, events: list[Event]) -> list[kcap.rules.Alert]:
    out = []
    for ev in events:
        out.extend(engine.feed(ev))
    return out


def seqs(alerts: list[kcap.rules.Alert]) -> list[list[int]]:
    return [[e.seq for e in a.events] for a in alerts]
