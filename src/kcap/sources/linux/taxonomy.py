"""The shared event taxonomy as the Linux source uses it: type ids and event construction.

Linux events reuse the Fibratus type id, name, category and parameter names where the meaning
matches, so one filter means the same thing on captures from either platform. The one
Linux-only type (``EventsLost``) lives under this project's own provider GUID, listed in
``kcap/model/data/linux-event-types.csv``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from kcap.model import Event, Param, Params, ParamType, Process, Timestamp
from kcap.model.catalogue import EventType, lookup

#: This project's provider GUID for Linux-only event types.
LINUX_PROVIDER = "37ebca20f76c4e9db00567b44a4c8a0a"

_IDS = {
    "CreateProcess": "3d6fa8d0fe0511d09dda00c04fd7ba7c0001",
    "TerminateProcess": "3d6fa8d0fe0511d09dda00c04fd7ba7c0002",
    "ProcessRundown": "3d6fa8d0fe0511d09dda00c04fd7ba7c0003",
    "CreateThread": "3d6fa8d1fe0511d09dda00c04fd7ba7c0001",
    "TerminateThread": "3d6fa8d1fe0511d09dda00c04fd7ba7c0002",
    "LoadImage": "2cb15d1d5fc111d2abe100a0c911f518000a",
    "CreateHandle": "89497f50effe44408cf2ce6b1cdcaca70020",
    "CloseHandle": "89497f50effe44408cf2ce6b1cdcaca70021",
    "CreateFile": "90cbdc394a3e11d184f40000f80464e30040",
    "CloseFile": "90cbdc394a3e11d184f40000f80464e30042",
    "ReadFile": "90cbdc394a3e11d184f40000f80464e30043",
    "WriteFile": "90cbdc394a3e11d184f40000f80464e30044",
    "DeleteFile": "90cbdc394a3e11d184f40000f80464e30046",
    "RenameFile": "90cbdc394a3e11d184f40000f80464e30047",
    # TcpIp provider: IPv4 opcodes 10/11/12/15, IPv6 26/27/28/31
    "Send/tcp4": "9a280ac0c8e011d184e200c04fb998a2000a",
    "Recv/tcp4": "9a280ac0c8e011d184e200c04fb998a2000b",
    "Connect/tcp4": "9a280ac0c8e011d184e200c04fb998a2000c",
    "Accept/tcp4": "9a280ac0c8e011d184e200c04fb998a2000f",
    "Send/tcp6": "9a280ac0c8e011d184e200c04fb998a2001a",
    "Recv/tcp6": "9a280ac0c8e011d184e200c04fb998a2001b",
    "Connect/tcp6": "9a280ac0c8e011d184e200c04fb998a2001c",
    "Accept/tcp6": "9a280ac0c8e011d184e200c04fb998a2001f",
    # UdpIp provider
    "Send/udp4": "bf3a50c5a9c94988a0052df0b7c80f80000a",
    "Recv/udp4": "bf3a50c5a9c94988a0052df0b7c80f80000b",
    "Send/udp6": "bf3a50c5a9c94988a0052df0b7c80f80001a",
    "Recv/udp6": "bf3a50c5a9c94988a0052df0b7c80f80001b",
    "EventsLost": LINUX_PROVIDER + "0001",
}


@dataclass(frozen=True, slots=True)
class Kind:
    id: bytes
    name: str
    category: str
    description: str


def _kind(key: str) -> Kind:
    raw = bytes.fromhex(_IDS[key])
    et: EventType | None = lookup(raw)
    if et is None:  # the catalogue must know every id used here (checked by the tests)
        raise LookupError(f"event type {key} ({_IDS[key]}) is not in the catalogue")
    return Kind(raw, et.name, et.category, et.description)


KINDS: dict[str, Kind] = {key: _kind(key) for key in _IDS}


class Clock:
    """Turns monotonic kernel timestamps into `Timestamp`s with the host's UTC offset.

    The offset between the monotonic and the wall clock is measured once at start, so every
    source stamped with the monotonic clock lands on one time line. Formatting reuses the text
    of the current second, which is what makes stamping cheap at high event rates.
    """

    def __init__(self) -> None:
        before = time.monotonic_ns()
        wall = time.time_ns()
        after = time.monotonic_ns()
        self.mono_to_real = wall - (before + after) // 2
        self.offset = time.localtime().tm_gmtoff or 0
        self._sec = -1
        self._prefix = ""
        if self.offset == 0:
            self._zone = "Z"
        else:
            sign = "+" if self.offset > 0 else "-"
            hh, mm = divmod(abs(self.offset) // 60, 60)
            self._zone = f"{sign}{hh:02d}:{mm:02d}"

    def stamp(self, mono_ns: int) -> Timestamp:
        ns = mono_ns + self.mono_to_real
        sec, frac = divmod(ns, 1_000_000_000)
        if sec != self._sec:
            local = datetime(1970, 1, 1) + timedelta(seconds=sec + self.offset)
            self._prefix = local.strftime("%Y-%m-%dT%H:%M:%S")
            self._sec = sec
        if frac:
            text = f"{self._prefix}.{frac:09d}".rstrip("0") + self._zone
        else:
            text = self._prefix + self._zone
        return Timestamp.parsed(text, ns, self.offset)

    def now(self) -> Timestamp:
        return self.stamp(time.monotonic_ns())


def make_event(
    kind: Kind,
    pid: int,
    tid: int,
    cpu: int,
    ts: Timestamp,
    host: str,
    params: list[Param] | Params,
    process: Process | None = None,
    meta: list[tuple[str, str]] | None = None,
) -> Event:
    """Build an event cheaply (the hot path of the capture).

    A `Params` given as is may be shared with other events (see `mapper.shared_params`):
    events of a live capture are read-only.
    """
    if not isinstance(params, Params):
        params = Params.from_dict({p.name: p for p in params})
    ev = Event.from_parts(
        0, pid, tid, kind.id, cpu, kind.name, kind.category, kind.description, host, ts,
        params, meta if meta is not None else [], process,
    )  # fmt: skip
    ev.ps = process
    return ev


PID = ParamType.PID
TID = ParamType.TID
U32 = ParamType.UINT32
U64 = ParamType.UINT64
I32 = ParamType.INT32
STR = ParamType.UNICODE
PATH = ParamType.PATH
ADDR = ParamType.ADDRESS
PORT = ParamType.PORT
SID = ParamType.SID
TIME = ParamType.TIME
