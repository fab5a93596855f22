"""The event: one kernel action with its parameters and the state of the process behind it.

An `Event` read from a capture is usually *lazy*: its fixed header (sequence, pids, CPU, type,
name, category, description, host) is decoded when the event is produced, while its timestamp,
parameters, metadata and embedded process section stay in the file's bytes until first read
(docs/engine.md, "Lazy events"). A filter on header fields therefore never pays for the rest.
What is not decoded yet lives in the event's `tail`: an object of the format layer that
implements `TailSource`. An event built in code (a live source, a test) has everything set and
no tail.

This module is compiled by Cython where a compiler exists (``event.pxd`` declares the class);
the same source runs as plain Python otherwise.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from kcap.model.params import Param, Params
from kcap.model.process import Process
from kcap.model.timestamp import ZERO, Timestamp


class TailSource(Protocol):
    """What a lazy event's tail offers (the format layer implements it)."""

    def decode(self) -> tuple[Params, list[tuple[str, str]], Process | None]:
        """Parameters, metadata pairs and the embedded process (None when the event has
        none); raises `kcap.errors.FormatError` when the bytes do not decode."""
        ...

    def timestamp(self) -> Timestamp:
        """The stored timestamp, decoded from the tail's bytes."""
        ...

    def values(self, names: Sequence[str]) -> tuple[Any, ...] | None:
        """The value of the first parameter of each name (None where absent), read without
        decoding the whole tail; None when that cannot be told without decoding it."""
        ...


class Event:
    """One captured event.

    Attributes: ``seq pid tid cpu type name category description host timestamp params meta
    process ps``.

    * ``type`` is the event type id as stored (17 or 18 bytes, see `type_id18`).
    * ``params`` maps each parameter name as stored to a `Param`
      (``event.params["pid"].value``, or ``event.param("pid")``).
    * ``meta`` is the list of metadata (key, value) pairs in stored order.
    * ``process`` is the process state stored *in this event's own* process section (only
      CreateProcess and ProcessRundown carry one).
    * ``ps`` is the process state attached on replay: the event's own ``process`` when it has
      one, otherwise the state the process snapshotter holds for ``pid`` at the time of the
      event (None when replay tracks no state or knows no such process). It is a live object:
      later events of the capture may add threads and modules to it.
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
        # None in the first four: not read from the tail yet (a lazy event)
        self._timestamp: Timestamp | None = timestamp
        self._params: Params | None = params if isinstance(params, Params) else Params(params)
        self._meta: list[tuple[str, str]] | None = meta if meta is not None else []
        self._process = process
        self._tail: TailSource | None = None
        self.ps = ps if ps is not None else process

    @staticmethod
    def from_tail(
        seq: int,
        pid: int,
        tid: int,
        type: bytes,
        cpu: int,
        name: str,
        category: str,
        description: str,
        host: str,
        tail: TailSource,
        timestamp: Timestamp | None = None,
    ) -> Event:
        """An event whose timestamp (unless given), parameters, metadata and process section
        are read from ``tail`` on first access (what decoders make). The arguments come in
        the order the event layout stores them (docs/format.md, "Events")."""
        ev = _lazy_event(seq, pid, tid, type, cpu, name, category, description, host, tail)
        ev._timestamp = timestamp
        return ev

    @staticmethod
    def from_parts(
        seq: int,
        pid: int,
        tid: int,
        type: bytes,
        cpu: int,
        name: str,
        category: str,
        description: str,
        host: str,
        timestamp: Timestamp,
        params: Params,
        meta: list[tuple[str, str]],
        process: Process | None,
    ) -> Event:
        """An event with every part given (what decoders make of a fully decoded body)."""
        return _whole_event(
            seq, pid, tid, type, cpu, name, category, description, host, timestamp, params,
            meta, process,
        )  # fmt: skip

    # ----------------------------------------------------------------- the lazy tail

    @property
    def tail(self) -> TailSource | None:
        """What is not decoded yet (None once decoded, and for events built in code)."""
        return self._tail

    @tail.setter
    def tail(self, value: TailSource | None) -> None:
        # Setting a tail makes the event lazy again: what it holds is read from the tail.
        self._tail = value
        if value is not None:
            self._timestamp = None
            self._params = None
            self._meta = None
            self._process = None

    def _load_tail(self) -> None:
        tail = self._tail
        assert tail is not None  # called only while the event is lazy
        if self._timestamp is None:
            self._timestamp = tail.timestamp()
        self._params, self._meta, self._process = tail.decode()
        self._tail = None

    @property
    def timestamp(self) -> Timestamp:
        """When the event happened (the stored RFC 3339 text, nanoseconds and UTC offset)."""
        ts = self._timestamp
        if ts is None:
            ts = self._tail.timestamp() if self._tail is not None else ZERO
            self._timestamp = ts
        return ts

    @timestamp.setter
    def timestamp(self, value: Timestamp) -> None:
        self._timestamp = value

    @property
    def params(self) -> Params:
        if self._params is None:
            self._load_tail()
        return self._params  # type: ignore[return-value]  # set by _load_tail

    @params.setter
    def params(self, value: Params) -> None:
        if self._tail is not None:
            self._load_tail()
        self._params = value

    @property
    def meta(self) -> list[tuple[str, str]]:
        if self._meta is None:
            self._load_tail()
        return self._meta  # type: ignore[return-value]  # set by _load_tail

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

    @property
    def decoded(self) -> bool:
        """True when nothing of the event is left undecoded (see `decode`)."""
        return self._tail is None

    def decode(self) -> Event:
        """Decode everything now (raises the tail's decode error here rather than later)."""
        if self._tail is not None:
            self._load_tail()
        return self

    def own_process(self) -> Process | None:
        """The embedded process section if it is decoded already, else None: never decodes."""
        return self._process if self._tail is None else None

    def values(self, names: Sequence[str]) -> tuple[Any, ...]:
        """The value of the first parameter of each name, None where the event has none.

        A lazy event answers from its undecoded bytes where it can (state updates read a few
        values of most events); anything else decodes it first. A parameter whose value is
        None (only an event built in code can hold one) reads as absent.
        """
        tail = self._tail
        if tail is not None:
            got = tail.values(names)
            if got is not None:
                return got
            self._load_tail()
        by_name = self._params.by_name  # type: ignore[union-attr]  # decoded by now
        out = []
        for name in names:
            p = by_name.get(name)
            out.append(None if p is None else p.value)
        return tuple(out)

    # ----------------------------------------------------------------- copying

    def __copy__(self) -> Event:
        ev: Event = Event.__new__(Event)
        ev.seq, ev.pid, ev.tid, ev.cpu, ev.type = self.seq, self.pid, self.tid, self.cpu, self.type
        ev.name, ev.category = self.name, self.category
        ev.description, ev.host, ev.ps = self.description, self.host, self.ps
        ev._timestamp, ev._params, ev._meta = self._timestamp, self._params, self._meta
        ev._process, ev._tail = self._process, self._tail
        return ev

    def __deepcopy__(self, memo: dict[int, Any]) -> Event:
        # A tail is immutable bytes and offsets: shared, not copied.
        ev: Event = self.__copy__()
        memo[id(self)] = ev
        ev.ps = copy.deepcopy(self.ps, memo)
        ev._timestamp = copy.deepcopy(self._timestamp, memo)
        ev._params = copy.deepcopy(self._params, memo)
        ev._meta = copy.deepcopy(self._meta, memo)
        ev._process = copy.deepcopy(self._process, memo)
        return ev

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled decoded: a tail refers to a reader's buffers and decoders.
        self.decode()
        state = (
            self.seq, self.pid, self.tid, self.cpu, self.type, self.name, self.category,
            self.description, self.host, self._timestamp, self._params, self._meta,
            self._process, self.ps,
        )  # fmt: skip
        return (_restore, state)

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


# The two constructors of decoded events, as module functions: compiled, they are plain C
# functions, which the native byte kernel calls directly (kcap.format.kernel.native passes
# it their capsules) instead of setting fifteen attributes one by one through Python.


def _lazy_event(
    seq: Any, pid: Any, tid: Any, type: Any, cpu: Any, name: Any, category: Any,
    description: Any, host: Any, tail: Any,
) -> Event:  # fmt: skip
    """`Event.from_tail` without a timestamp."""
    ev: Event = Event.__new__(Event)
    ev.seq = seq
    ev.pid = pid
    ev.tid = tid
    ev.cpu = cpu
    ev.type = type
    ev.name = name
    ev.category = category
    ev.description = description
    ev.host = host
    ev.ps = None
    ev._timestamp = None
    ev._params = None
    ev._meta = None
    ev._process = None
    ev._tail = tail
    return ev


def _whole_event(
    seq: Any, pid: Any, tid: Any, type: Any, cpu: Any, name: Any, category: Any,
    description: Any, host: Any, timestamp: Any, params: Any, meta: Any, process: Any,
) -> Event:  # fmt: skip
    """`Event.from_parts`."""
    ev: Event = Event.__new__(Event)
    ev.seq = seq
    ev.pid = pid
    ev.tid = tid
    ev.cpu = cpu
    ev.type = type
    ev.name = name
    ev.category = category
    ev.description = description
    ev.host = host
    ev.ps = None
    ev._timestamp = timestamp
    ev._params = params
    ev._meta = meta
    ev._process = process
    ev._tail = None
    return ev


def _restore(
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
    params: Params,
    meta: list[tuple[str, str]],
    process: Process | None,
    ps: Process | None,
) -> Event:
    ev: Event = Event(
        seq=seq, pid=pid, tid=tid, cpu=cpu, type=type, name=name, category=category,
        description=description, host=host, timestamp=timestamp, params=params, meta=meta,
        process=process,
    )  # fmt: skip
    ev.ps = ps
    return ev
