"""The event: one kernel action with its parameters and the state of the process behind it.

An `Event` read from a capture is lazy: its fixed header (sequence, pids, CPU, type, name,
category, description, host, timestamp) is decoded when the event is produced, while
parameters, metadata and the embedded process section are decoded on first access. A filter on
header fields therefore never pays for the rest. An event built in code (a live source, a test)
simply has everything set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kcap.model.params import Param, Params
from kcap.model.process import Process
from kcap.model.timestamp import ZERO, Timestamp

#: A decoder of an event's tail: called with the stored arguments, returns
#: (params, metadata pairs, embedded process or None). Set by the format layer.
TailDecoder = Callable[..., tuple[Params, list[tuple[str, str]], Process | None]]


#: The accelerator's `Event._stored_timestamp` (None: not loaded); returns None where it
#: cannot tell, and the Python method decides. Set by `kcap.format.accel`.
_fast_stored_timestamp: Callable[[Event], Timestamp | None] | None = None


class Event:
    """One captured event.

    Attributes: ``seq pid tid cpu type name category description host timestamp params meta ps``.

    * ``type`` is the event type id as stored (17 or 18 bytes, see `type_id18`).
    * ``params`` maps each parameter name as stored to a `Param` (``event.params["pid"].value``).
    * ``meta`` is the list of metadata (key, value) pairs in stored order.
    * ``process`` is the process state stored *in this event's own* process section (only
      CreateProcess and ProcessRundown carry one); ``ps`` is the state attached on replay: that
      one when present, otherwise the snapshotter's state for ``pid`` at the time of the event.
    """

    __slots__ = (
        "_meta",
        "_params",
        "_process",
        "_tail",
        "_timestamp",
        "category",
        "cpu",
        "description",
        "host",
        "name",
        "pid",
        "ps",
        "seq",
        "tid",
        "type",
    )

    def __init__(
        self,
        *,
        seq: int = 0,
        pid: int = 0,
        tid: int = 0,
        cpu: int = 0,
        type: bytes = bytes(18),
        name: str = "",
        category: str = "",
        description: str = "",
        host: str = "",
        timestamp: Timestamp = ZERO,
        params: Params | Iterable[Param] = (),
        meta: list[tuple[str, str]] | None = None,
        process: Process | None = None,
        ps: Process | None = None,
    ) -> None:
        self.seq = seq
        self.pid = pid
        self.tid = tid
        self.cpu = cpu
        self.type = type
        self.name = name
        self.category = category
        self.description = description
        self.host = host
        self._timestamp: Timestamp | None = timestamp
        self._params: Params | None = params if isinstance(params, Params) else Params(params)
        self._meta: list[tuple[str, str]] | None = meta if meta is not None else []
        self._process: Process | None = process
        self._tail: Sequence[Any] | None = None
        self.ps = ps if ps is not None else process

    # ----------------------------------------------------------------- lazy tail

    @classmethod
    def _lazy(
        cls,
        seq: int,
        pid: int,
        tid: int,
        cpu: int,
        type: bytes,
        name: str,
        category: str,
        description: str,
        host: str,
        timestamp: Timestamp,
        tail: Sequence[Any],
    ) -> Event:
        """Build an event whose tail is decoded on first access (used by the format layer)."""
        ev = cls.__new__(cls)
        ev.seq = seq
        ev.pid = pid
        ev.tid = tid
        ev.cpu = cpu
        ev.type = type
        ev.name = name
        ev.category = category
        ev.description = description
        ev.host = host
        ev.timestamp = timestamp
        ev._params = None
        ev._meta = None
        ev._process = None
        ev._tail = tail
        ev.ps = None
        return ev

    def _load_tail(self) -> None:
        tail = self._tail
        assert tail is not None
        if self._timestamp is None:
            self._timestamp = self._stored_timestamp()
        self._params, self._meta, self._process = tail[0](*tail[1:5])
        self._tail = None

    # The accelerated decoder leaves the timestamp of a lazy event undecoded: a filter that
    # drops most events never needs it. Its tail then reads as (decoder, buf, p, end, base, n)
    # (one C object, not a tuple): the n bytes of timestamp text end where the tail starts, at p.
    def _stored_timestamp(self) -> Timestamp:
        tail = self._tail
        if tail is None or len(tail) < 6:
            return ZERO
        buf, p, n = tail[1], tail[2], tail[5]
        return Timestamp(buf[p - n : p].decode("utf-8", "surrogateescape"))

    @property
    def timestamp(self) -> Timestamp:
        """When the event happened (the stored RFC 3339 text, nanoseconds and UTC offset)."""
        ts = self._timestamp
        if ts is None:
            fast = _fast_stored_timestamp
            ts = fast(self) if fast is not None else None
            if ts is None:
                ts = self._stored_timestamp()
            self._timestamp = ts
        return ts

    @timestamp.setter
    def timestamp(self, value: Timestamp) -> None:
        self._timestamp = value

    @property
    def params(self) -> Params:
        if self._params is None:
            self._load_tail()
        return self._params  # type: ignore[return-value]

    @params.setter
    def params(self, value: Params) -> None:
        if self._tail is not None:
            self._load_tail()
        self._params = value

    @property
    def meta(self) -> list[tuple[str, str]]:
        if self._meta is None:
            self._load_tail()
        return self._meta  # type: ignore[return-value]

    @meta.setter
    def meta(self, value: list[tuple[str, str]]) -> None:
        if self._tail is not None:
            self._load_tail()
        self._meta = value

    @property
    def process(self) -> Process | None:
        if self._tail is not None:
            self._load_tail()
        return self._process

    @process.setter
    def process(self, value: Process | None) -> None:
        if self._tail is not None:
            self._load_tail()
        self._process = value

    def decode(self) -> Event:
        """Decode everything now (raises the tail's decode error here rather than later)."""
        if self._tail is not None:
            self._load_tail()
        return self

    # ----------------------------------------------------------------- conveniences

    @property
    def type_id18(self) -> bytes:
        """The 18-byte form of the type id (a 17-byte id's opcode becomes a 16-bit value)."""
        t = self.type
        return t if len(t) != 17 else t[:16] + b"\x00" + t[16:]

    @property
    def type_hex(self) -> str:
        return self.type.hex()

    def param(self, name: str, default: Any = None) -> Any:
        """The value of parameter ``name``, or ``default``."""
        return self.params.value(name, default)

    def __repr__(self) -> str:
        return (
            f"Event(seq={self.seq}, pid={self.pid}, tid={self.tid}, name={self.name!r}, "
            f"timestamp={self.timestamp.text!r})"
        )
