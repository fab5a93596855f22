"""Event parameters: a logical type, a name and a Python value.

Parameter type ids in files were renumbered three times without a marker (docs/format.md,
"Parameters").
The model uses one *logical* enumeration whose values equal the newest wire ids (table 2023c),
plus values above 100 for types that exist only in older tables; `kcap.format.params` maps
each writer generation's ids to and from it.

Value representation by type:

=====================  =====================================================================
unicode, ansi, path,   ``str``; bytes that are not valid UTF-8 are kept losslessly as lone
dos path, key,         surrogates (``errors="surrogateescape"``) so they write back unchanged
handle type
int*/uint*, pid, tid,  ``int``
port, enum, status,
flags, flags64,
address, hex int*
float, double          ``float``
bool                   ``bool``
binary, sid, wbem sid  ``bytes`` (table 2020 stores sid/wbem sid as account text: ``str``)
ipv4, ipv6             ``ipaddress.IPv4Address`` / ``IPv6Address``
time                   `Timestamp`
slice                  ``list[str]`` or ``list[int]``; `Param.elem` says which ('s' or '8')
=====================  =====================================================================
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple


class ParamType(enum.IntEnum):
    NULL = 0
    UNICODE = 1
    ANSI = 2
    INT8 = 3
    UINT8 = 4
    INT16 = 5
    UINT16 = 6
    INT32 = 7
    UINT32 = 8
    INT64 = 9
    UINT64 = 10
    FLOAT = 11
    DOUBLE = 12
    BOOL = 13
    BINARY = 14
    GUID = 15
    POINTER = 16
    SID = 17
    PID = 18
    TID = 19
    WBEM_SID = 20
    PORT = 21
    IP = 22
    IPV4 = 23
    IPV6 = 24
    TIME = 25
    SLICE = 26
    ENUM = 27
    MAP = 28
    OBJECT = 29
    DOS_PATH = 30
    PATH = 31
    STATUS = 32
    KEY = 33
    FLAGS = 34
    FLAGS64 = 35
    ADDRESS = 36
    HANDLE_TYPE = 37
    # only in tables 2020, 2023a and 2023b
    HEX_INT8 = 121
    HEX_INT16 = 122
    HEX_INT32 = 123
    HEX_INT64 = 124
    UNKNOWN = 134

    @property
    def label(self) -> str:
        """The lower-case name used in JSON output and docs (``wbemsid``, ``uint32``...)."""
        return _LABELS[self]


_LABELS = {t: t.name.lower().replace("_", "") for t in ParamType}
_LABELS[ParamType.DOS_PATH] = "dospath"
_LABELS[ParamType.HANDLE_TYPE] = "handletype"
PARAM_TYPE_BY_LABEL = {label: t for t, label in _LABELS.items()}

STRING_TYPES = frozenset(
    {
        ParamType.UNICODE,
        ParamType.ANSI,
        ParamType.PATH,
        ParamType.DOS_PATH,
        ParamType.KEY,
        ParamType.HANDLE_TYPE,
    }
)
INT_TYPES = frozenset(
    {
        ParamType.INT8,
        ParamType.UINT8,
        ParamType.INT16,
        ParamType.UINT16,
        ParamType.INT32,
        ParamType.UINT32,
        ParamType.INT64,
        ParamType.UINT64,
        ParamType.PID,
        ParamType.TID,
        ParamType.PORT,
        ParamType.ENUM,
        ParamType.STATUS,
        ParamType.FLAGS,
        ParamType.FLAGS64,
        ParamType.ADDRESS,
        ParamType.HEX_INT8,
        ParamType.HEX_INT16,
        ParamType.HEX_INT32,
        ParamType.HEX_INT64,
    }
)
BYTES_TYPES = frozenset({ParamType.BINARY, ParamType.SID, ParamType.WBEM_SID})


class _ParamFields(NamedTuple):
    # A named tuple's fields are read by C descriptors, several times faster than properties;
    # a consumer reading every parameter of every event spends much of its time here.
    name: str
    type: ParamType
    value: Any
    elem: str | None


class Param(_ParamFields):
    """One event parameter: ``name``, ``type`` (`ParamType`), ``value``, and for slices ``elem``
    ('s' strings, '8' u64). Immutable; a tuple underneath so decoders can build one cheaply."""

    __slots__ = ()

    def __new__(cls, name: str, type: ParamType, value: Any, elem: str | None = None) -> Param:
        if type is ParamType.SLICE:
            if elem is None:
                elem = "8" if value and isinstance(value[0], int) else "s"
        else:
            elem = None
        return tuple.__new__(cls, (name, type, value, elem))

    def __hash__(self) -> int:
        return hash((self[0], self[1]))

    def __repr__(self) -> str:
        return f"Param({self[0]!r}, {self[1].name}, {self[2]!r})"

    def __getnewargs__(self) -> tuple[Any, ...]:
        return tuple(self)


class Params(Mapping[str, Param]):
    """The parameters of one event, in stored order, by name.

    Upstream writes names unique within an event; if a hostile file repeats one, the first
    wins here and the repetition is kept in ``duplicates`` so nothing is silently lost
    (a sequence: an empty tuple when there are none, as decoders make it).
    ``by_name`` is the dict of first occurrences (read it, do not change it: use `add`); hot
    paths such as state updates read it directly to save a call per parameter.
    """

    __slots__ = ("by_name", "duplicates")

    def __init__(self, params: Iterable[Param] = ()) -> None:
        by_name: dict[str, Param] = {}
        duplicates: list[Param] = []
        for p in params:
            if p.name in by_name:
                duplicates.append(p)
            else:
                by_name[p.name] = p
        self.by_name = by_name
        self.duplicates: list[Param] | tuple[Param, ...] = duplicates

    @classmethod
    def from_dict(
        cls, by_name: dict[str, Param], duplicates: list[Param] | tuple[Param, ...] | None = None
    ) -> Params:
        """Parameters already keyed by name (first occurrence), the repetitions in
        ``duplicates``: what decoders build, without checking each name again."""
        self = cls.__new__(cls)
        self.by_name = by_name
        self.duplicates = duplicates if duplicates is not None else ()
        return self

    def __getitem__(self, name: str) -> Param:
        return self.by_name[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.by_name)

    def __len__(self) -> int:
        return len(self.by_name) + len(self.duplicates)

    def __contains__(self, name: object) -> bool:
        return name in self.by_name

    def get(self, name: str, default: Any = None) -> Any:
        return self.by_name.get(name, default)

    def value(self, name: str, default: Any = None) -> Any:
        """The value of parameter ``name``, or ``default`` when the event has none."""
        p = self.by_name.get(name)
        return default if p is None else p.value

    def all(self) -> list[Param]:
        """Every parameter in stored order, duplicates included (what an encoder writes)."""
        return [*self.by_name.values(), *self.duplicates]

    def add(self, param: Param) -> None:
        if param.name in self.by_name:
            if not isinstance(self.duplicates, list):  # a decoder's shared empty tuple
                self.duplicates = list(self.duplicates)
            self.duplicates.append(param)
        else:
            self.by_name[param.name] = param

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Params):
            return self.all() == other.all()
        return super().__eq__(other)

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        return f"Params({self.all()!r})"
