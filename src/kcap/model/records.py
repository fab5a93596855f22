"""The small records replay builds by the million: handles, threads and modules.

Plain data with value equality, like dataclasses, but written out: this module is compiled by
Cython where a compiler exists (``records.pxd``), so the state rules that build these records
for most events of a capture set their fields directly (docs/engine.md). The same source runs
as plain Python otherwise.

Handles, modules and threads built by replay hold only numbers, text and a small metadata
record; the byte kernel leaves handles out of the cycle collector, as CPython does for tuples
of plain values. Do not make one part of a reference cycle (``h.meta = [h]``): such a cycle
would never be freed.
"""

from __future__ import annotations

from typing import Any


class Handle:
    """An open kernel object handle (on Linux: an open file descriptor).

    ``meta`` is the handle's metadata record (`kcap.model.process.AlpcInfo`, ``MutantInfo``,
    ``FileInfo``, ``UnknownInfo``) or None.
    """

    __slots__ = ("meta", "name", "num", "object", "pid", "type")

    def __init__(
        self,
        num: int = 0,
        object: int = 0,
        pid: int = 0,
        type: str = "",
        name: str = "",
        meta: Any = None,
    ) -> None:
        self.num = num
        self.object = object
        self.pid = pid
        self.type = type
        self.name = name
        self.meta = meta

    def fields(self) -> tuple[Any, ...]:
        """(num, object, pid, type, name, meta)."""
        return (self.num, self.object, self.pid, self.type, self.name, self.meta)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.fields() == other.fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return (
            f"Handle(num={self.num!r}, object={self.object!r}, pid={self.pid!r}, "
            f"type={self.type!r}, name={self.name!r}, meta={self.meta!r})"
        )


class Thread:
    """A thread of a process, as thread events describe it."""

    __slots__ = (
        "base_prio",
        "io_prio",
        "kstack_base",
        "kstack_limit",
        "page_prio",
        "pid",
        "start_address",
        "tid",
        "ustack_base",
        "ustack_limit",
    )

    def __init__(
        self,
        tid: int = 0,
        pid: int = 0,
        io_prio: int = 0,
        base_prio: int = 0,
        page_prio: int = 0,
        ustack_base: int = 0,
        ustack_limit: int = 0,
        kstack_base: int = 0,
        kstack_limit: int = 0,
        start_address: int = 0,
    ) -> None:
        self.tid = tid
        self.pid = pid
        self.io_prio = io_prio
        self.base_prio = base_prio
        self.page_prio = page_prio
        self.ustack_base = ustack_base
        self.ustack_limit = ustack_limit
        self.kstack_base = kstack_base
        self.kstack_limit = kstack_limit
        self.start_address = start_address

    def fields(self) -> tuple[Any, ...]:
        """(tid, pid, io_prio, base_prio, page_prio, ustack_base, ustack_limit, kstack_base,
        kstack_limit, start_address)."""
        return (
            self.tid, self.pid, self.io_prio, self.base_prio, self.page_prio, self.ustack_base,
            self.ustack_limit, self.kstack_base, self.kstack_limit, self.start_address,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.fields() == other.fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return (
            f"Thread(tid={self.tid!r}, pid={self.pid!r}, io_prio={self.io_prio!r}, "
            f"base_prio={self.base_prio!r}, page_prio={self.page_prio!r}, "
            f"ustack_base={self.ustack_base!r}, ustack_limit={self.ustack_limit!r}, "
            f"kstack_base={self.kstack_base!r}, kstack_limit={self.kstack_limit!r}, "
            f"start_address={self.start_address!r})"
        )


class Module:
    """A module (image) loaded into a process, as image events describe it."""

    __slots__ = (
        "base_address",
        "checksum",
        "default_base_address",
        "path",
        "signature_level",
        "signature_type",
        "size",
    )

    def __init__(
        self,
        path: str = "",
        base_address: int = 0,
        size: int = 0,
        checksum: int = 0,
        default_base_address: int = 0,
        signature_level: int = 0,
        signature_type: int = 0,
    ) -> None:
        self.path = path
        self.base_address = base_address
        self.size = size
        self.checksum = checksum
        self.default_base_address = default_base_address
        self.signature_level = signature_level
        self.signature_type = signature_type

    @property
    def name(self) -> str:
        cut = max(self.path.rfind("\\"), self.path.rfind("/"))
        return self.path[cut + 1 :]

    def fields(self) -> tuple[Any, ...]:
        """(path, base_address, size, checksum, default_base_address, signature_level,
        signature_type)."""
        return (
            self.path, self.base_address, self.size, self.checksum, self.default_base_address,
            self.signature_level, self.signature_type,
        )  # fmt: skip

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.fields() == other.fields()

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def __repr__(self) -> str:
        return (
            f"Module(path={self.path!r}, base_address={self.base_address!r}, "
            f"size={self.size!r}, checksum={self.checksum!r}, "
            f"default_base_address={self.default_base_address!r}, "
            f"signature_level={self.signature_level!r}, signature_type={self.signature_type!r})"
        )
