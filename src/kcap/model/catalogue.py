"""The event-type catalogue: what each type id means, whatever name a writer recorded.

Built from ``data/event-types.csv`` (every Fibratus type id of every period) and
``data/linux-event-types.csv`` (this project's own Linux-only types). Writers of some periods
recorded ``N/A``, an empty name or raw bytes for rundown events (docs/format.md, "Events"), so
replay logic must dispatch on the *type id*, never on the recorded name; `lookup` gives the
canonical name for an id in either width.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

#: Types that only feed the snapshotters and are never emitted on replay (docs/state.md).
STATE_ONLY_NAMES = frozenset(
    {
        "ProcessRundown",
        "ThreadRundown",
        "ImageRundown",
        "FileRundown",
        "RegKCBRundown",
        "FileOpEnd",
        "ReleaseFile",
        "MapFileRundown",
        "RegCreateKCB",
        "RegDeleteKCB",
    }
)

#: The kinds whose events carry a process section with a body, in every writer generation.
PROCESS_CARRIERS = frozenset({"CreateProcess", "ProcessRundown"})

#: The two pieces of replay state an event can change (docs/state.md).
HANDLES = "handles"
PROCESSES = "processes"

#: Which state each kind of event updates; the snapshotters hold one rule for each of these
#: names and none for any other (`kcap.state`).
UPDATES: dict[str, str] = {
    "CreateHandle": HANDLES,
    "CloseHandle": HANDLES,
    "CreateProcess": PROCESSES,
    "ProcessRundown": PROCESSES,
    "TerminateProcess": PROCESSES,
    "CreateThread": PROCESSES,
    "ThreadRundown": PROCESSES,
    "TerminateThread": PROCESSES,
    "LoadImage": PROCESSES,
    "ImageRundown": PROCESSES,
    "UnloadImage": PROCESSES,
}

# Older writers named some rundowns after their source symbol; map them to today's names.
_SYMBOL_ALIASES = {
    "EnumProcess": "ProcessRundown",
    "EnumThread": "ThreadRundown",
    "EnumImage": "ImageRundown",
}

_SYMBOL_RE = re.compile(r"source symbol (\w+)")
_DATE_RE = re.compile(r"\.\.(\d{4}-\d{2}-\d{2})")


@dataclass(frozen=True, slots=True)
class EventType:
    """One entry of the catalogue: a kind of event and every fact kcap knows of it.

    ``id`` is the 18-byte form. ``state_only``: its events only feed the snapshotters and are
    not emitted on replay unless asked for. ``carries_process``: its events carry a process
    section with a body. ``updates``: the state its events change (`HANDLES`, `PROCESSES`) or
    None. ``platform``: ``windows`` for Fibratus's types, ``linux`` for kcap's own.
    """

    id: bytes
    name: str
    category: str
    description: str
    provider: str = "fibratus"

    @property
    def state_only(self) -> bool:
        return self.name in STATE_ONLY_NAMES

    @property
    def carries_process(self) -> bool:
        return self.name in PROCESS_CARRIERS

    @property
    def updates(self) -> str | None:
        return UPDATES.get(self.name)

    @property
    def platform(self) -> str:
        return "linux" if self.provider == "kcap-linux" else "windows"

    @property
    def id_hex(self) -> str:
        return self.id.hex()


def to_id18(type_id: bytes) -> bytes:
    """Widen a 17-byte type id to 18 bytes (the 1-byte opcode becomes a big-endian u16)."""
    return type_id if len(type_id) != 17 else type_id[:16] + b"\x00" + type_id[16:]


def _read_csv(name: str) -> list[dict[str, str]]:
    ref = resources.files("kcap.model").joinpath("data", name)
    if not ref.is_file():
        return []
    text = ref.read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@cache
def catalogue() -> dict[bytes, EventType]:
    """Every known event type by 18-byte id."""
    best: dict[bytes, tuple[str, EventType]] = {}
    for row in _read_csv("event-types.csv"):
        raw = bytes.fromhex(row["type_id_hex"])
        tid = to_id18(raw)
        name = row["name"]
        desc = row["description"]
        category = row["category"]
        if not name or name == "N/A" or desc.startswith("[source symbol"):
            m = _SYMBOL_RE.search(desc)
            symbol = m.group(1) if m else ""
            name = _SYMBOL_ALIASES.get(symbol, symbol) if (not name or name == "N/A") else name
            desc = ""
        if category == "unknown":
            category = ""
        m = _DATE_RE.search(row["format_versions"])
        date = m.group(1) if m else ""
        prev = best.get(tid)
        # The newest definition wins, but never let an unnamed one replace a named one.
        if prev is None or (date >= prev[0] and name) or not prev[1].name:
            cat = category or (prev[1].category if prev else "")
            best[tid] = (
                date,
                EventType(tid, name, cat, desc or (prev[1].description if prev else "")),
            )
    table = {tid: et for tid, (_, et) in best.items()}
    for row in _read_csv("linux-event-types.csv"):
        tid = bytes.fromhex(row["type_id_hex"])
        table[tid] = EventType(tid, row["name"], row["category"], row["description"], "kcap-linux")
    return table


@cache
def by_name() -> dict[str, EventType]:
    """Catalogue entries by canonical name (Fibratus ids win over Linux-only ones)."""
    out: dict[str, EventType] = {}
    for et in sorted(catalogue().values(), key=lambda e: e.provider != "fibratus"):
        out.setdefault(et.name, et)
    return out


_LOOKUP_CACHE: dict[bytes, EventType | None] = {}
# A damaged or hostile file can hold a different id in every event; past this many entries
# unknown ids are looked up each time instead of being remembered.
_LOOKUP_CACHE_LIMIT = 4096


def lookup(type_id: bytes) -> EventType | None:
    """The catalogue entry for a stored type id (17 or 18 bytes), or None when unknown.

    The one type-id cache of kcap: everything that asks what a kind of event is (the reader,
    the writer, the snapshotters, filters, ``info``) asks here. Known ids are bounded by the
    catalogue (a few hundred, in two widths); unknown ones are remembered only up to a bound.
    """
    try:
        return _LOOKUP_CACHE[type_id]
    except KeyError:
        et = catalogue().get(to_id18(type_id)) if len(type_id) in (17, 18) else None
        if et is not None or len(_LOOKUP_CACHE) < _LOOKUP_CACHE_LIMIT:
            _LOOKUP_CACHE[bytes(type_id)] = et
        return et


def canonical_name(type_id: bytes) -> str:
    """The canonical event name of a type id, or '' when the id is unknown."""
    et = lookup(type_id)
    return et.name if et is not None else ""
