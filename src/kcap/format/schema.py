"""Every on-disk structure of a capture, declared once (docs/format.md, "Layouts").

A layout is a tree of *nodes*. Each node says how a value is laid out in bytes and which model
attribute it fills; nothing else in kcap states the byte layout of a handle record, a process
body, a PE body, an event or a section header. Both directions derive from these declarations:

* the byte kernels of `kcap.format.kernel` (the C one and its pure-Python twin) decode bytes into
  model objects and encode model objects back into bytes by walking them;
* error messages name the structure and the field as declared here (``what``, ``label``).

Nodes are named tuples whose first item names the operation, so the C kernel reads them as plain
tuples (the grammar is in ``kernel/_native.pyi``). Integer codes are `struct` format characters.
Byte order is not part of a layout: it is a property of one file (`ByteOrder`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

from kcap.model.event import Event
from kcap.model.params import Params
from kcap.model.process import (
    PE,
    AlpcInfo,
    Certificate,
    FileInfo,
    Handle,
    MutantInfo,
    PESection,
    Process,
    UnknownInfo,
)
from kcap.model.timestamp import ZERO

# --------------------------------------------------------------------------- byte order


class ByteOrder(enum.Enum):
    """The byte order of one file, told by its magic number (docs/format.md, "Header")."""

    LITTLE = "<"
    BIG = ">"

    @property
    def prefix(self) -> str:
        """The `struct` prefix of this order."""
        return self.value

    @property
    def little(self) -> bool:
        return self is ByteOrder.LITTLE

    @property
    def label(self) -> str:
        return "little" if self is ByteOrder.LITTLE else "big"


# --------------------------------------------------------------------------- nodes


class Int(NamedTuple):
    """A fixed-size integer: `struct` code B H I Q (unsigned) or b h i q (signed)."""

    op: str
    code: str


class Bool(NamedTuple):
    """One byte, zero or not."""

    op: str = "bool"


class Float(NamedTuple):
    """IEEE binary64 (``d``) or binary32 (``f``) bits."""

    op: str
    code: str


class Text(NamedTuple):
    """``str16``: a u16 length and that many bytes of UTF-8; bytes that are not valid UTF-8 are
    kept as lone surrogates (``surrogateescape``), so they write back unchanged. ``shared``: the
    same text recurs endlessly (names, types), so decoders may hand out one object for it."""

    op: str = "text"
    shared: bool = False


class Time(NamedTuple):
    """``ts-text``: a ``str16`` holding RFC 3339 text, read as a `Timestamp`."""

    op: str = "time"


class Raw(NamedTuple):
    """``width`` bytes kept as they are (event type ids)."""

    op: str
    width: int


class Blob(NamedTuple):
    """Bytes preceded by their length (`struct` code H or I)."""

    op: str
    prefix: str


class Address(NamedTuple):
    """An IPv4 (4 bytes, dotted order) or IPv6 (16 bytes, network order) address, read as an
    `ipaddress` object."""

    op: str
    width: int


class SliceOf(NamedTuple):
    """A u8 element kind, a u16 count, then that many elements of the kind's node: ``kinds``
    pairs each kind byte with (its name in `kcap.model.Param.elem`, the element node). Read as
    a list; the parameter records the kind."""

    op: str
    kinds: tuple[tuple[int, str, Any], ...]


class Seq(NamedTuple):
    """A u16 count, then that many items."""

    op: str
    item: Any


class Pair(NamedTuple):
    """Two values read one after the other, as a tuple."""

    op: str
    first: Any
    second: Any


class Field(NamedTuple):
    """One field of a record: the model attribute it fills, its name in messages, its node."""

    slot: str
    label: str
    node: Any


class Record(NamedTuple):
    """Fields read in order into a new instance of ``cls``; ``defaults`` fill the attributes no
    field sets (a value, or a factory called for each instance). ``what`` names it in errors."""

    op: str
    cls: type
    what: str
    fields: tuple[Field, ...]
    defaults: tuple[tuple[str, Any], ...]


class Tagged(NamedTuple):
    """A u8 tag, then the record the tag selects (None: the tag stands for no value)."""

    op: str
    label: str
    cases: tuple[tuple[int, Any], ...]


class Framed(NamedTuple):
    """A length (`struct` code H or I), then ``item``, which must take exactly that many bytes.
    ``empty``: a length of 0 means no value (None). ``least``: the smallest valid length."""

    op: str
    prefix: str
    item: Any
    what: str
    empty: bool
    least: int


class Section(NamedTuple):
    """A nested section: a 10-byte section header (`SECTION_HEADER`) of type ``stype``, then
    either ``count`` items (the header's element count; ``counted``) or a body of exactly the
    header's size in bytes, decoded by the node of the header's version (None when the size is
    0)."""

    op: str
    stype: int
    label: str
    versions: tuple[tuple[int, Any], ...]
    counted: Any


class ParamList(NamedTuple):
    """An event's parameters: a u16 count, then per parameter a u16 type id, the name as
    ``str16`` and the value as the file's parameter table says (`kcap.format.params`)."""

    op: str = "params"


class EventBody(NamedTuple):
    """An event body: ``head`` fields (the header, decoded when the event is produced) and
    ``tail`` fields (parameters, metadata, the process section: decoded on first access). The
    ``shared`` head fields recur for every event of a kind and are read as one group."""

    op: str
    width: int
    head: tuple[Field, ...]
    shared: tuple[Field, ...]
    timestamp: Field
    tail: tuple[Field, ...]


# Constructors that read like the format documentation.
U8, U16, U32, U64 = Int("int", "B"), Int("int", "H"), Int("int", "I"), Int("int", "Q")
I8, I16, I32, I64 = Int("int", "b"), Int("int", "h"), Int("int", "i"), Int("int", "q")
BOOL = Bool()
F64, F32 = Float("float", "d"), Float("float", "f")
TEXT, SHARED_TEXT, TIME = Text(), Text(shared=True), Time()
BIN16, BIN32 = Blob("blob", "H"), Blob("blob", "I")
IPV4, IPV6 = Address("address", 4), Address("address", 16)
#: Slices of strings (kind 's') and, from 2024, of u64 values (kind '8').
SLICE = SliceOf("slice", ((0x73, "s", TEXT), (0x38, "8", U64)))


def seq(item: Any) -> Seq:
    return Seq("seq", item)


def pair(first: Any, second: Any) -> Pair:
    return Pair("pair", first, second)


def record(cls: type, what: str, fields: list[tuple[str, str, Any]], **defaults: Any) -> Record:
    return Record("record", cls, what, tuple(Field(*f) for f in fields), tuple(defaults.items()))


def framed(prefix: str, item: Any, what: str, *, empty: bool = False, least: int = 0) -> Framed:
    return Framed("framed", prefix, item, what, empty, least)


def section(
    stype: int, label: str, versions: dict[int, Any] | None = None, counted: Any = None
) -> Section:
    return Section("section", stype, label, tuple((versions or {}).items()), counted)


def new_list() -> list[Any]:
    return []


def new_dict() -> dict[Any, Any]:
    return {}


# --------------------------------------------------------------------------- header and sections

MAGIC_LE = b"sutarbif"  # the u64 0x6669627261747573 written little-endian
MAGIC_BE = b"fibratus"
HEADER_SIZE = 18  # magic (8), major (1), minor (1), flags (u64)

#: Section types (the first byte of every section header).
PROCESS, HANDLE, EVENT, PE_SECTION = 1, 2, 3, 4
SECTION_NAMES = {PROCESS: "process", HANDLE: "handle", EVENT: "event", PE_SECTION: "PE"}
SECTION_SIZE = 10
#: type u8, version u8, element count u32, payload size u32 (docs/format.md, "Sections")
SECTION_HEADER = (U8, U8, U32, U32)
SECTION_CODE = "BBII"

# The newest versions, which kcap writes.
EVENT_V2, PROCESS_V4, PE_V2, HANDLE_V1 = 2, 4, 2, 1

# --------------------------------------------------------------------------- handle records

TAG_ALPC, TAG_MUTANT, TAG_FILE, TAG_UNKNOWN, TAG_NONE = 1, 2, 3, 4, 5
HANDLE_META = Tagged(
    "tagged",
    "metadata tag",
    (
        (
            TAG_ALPC,
            record(
                AlpcInfo,
                "ALPC metadata",
                [("flags", "ALPC flags", U32), ("seqno", "ALPC seqno", U32),
                 ("context", "ALPC context", U64)],
            ),
        ),
        (
            TAG_MUTANT,
            record(
                MutantInfo,
                "mutant metadata",
                [("count", "mutant count", I32), ("abandoned", "mutant abandoned", BOOL)],
            ),
        ),
        (TAG_FILE, record(FileInfo, "file metadata", [("is_directory", "is directory", BOOL)])),
        (TAG_UNKNOWN, record(UnknownInfo, "unknown metadata", [])),
        (TAG_NONE, None),
    ),
)  # fmt: skip

HANDLE_FIELDS: list[tuple[str, str, Any]] = [
    ("num", "handle value", U64),
    ("object", "object address", U64),
    ("pid", "owner pid", U32),
]
HANDLE_RECORD = record(
    Handle,
    "handle record",
    [*HANDLE_FIELDS, ("type", "object type", SHARED_TEXT), ("name", "object name", SHARED_TEXT),
     ("meta", "metadata", HANDLE_META)],
)  # fmt: skip
#: 8 + 8 + 4, two empty strings and the tag byte.
MIN_HANDLE_SIZE = 25
#: A handle record with its u16 length, as in the snapshot and in process bodies.
PREFIXED_HANDLE = framed("H", HANDLE_RECORD, "handle record", least=MIN_HANDLE_SIZE)

#: The pre-release short record (docs/format.md, "Pre-release layouts"): value, object, pid.
SHORT_HANDLE = record(Handle, "short handle record", HANDLE_FIELDS, type="", name="", meta=None)
SHORT_HANDLE_SIZE = 20
PREFIXED_SHORT_HANDLE = framed("H", SHORT_HANDLE, "short handle record", least=SHORT_HANDLE_SIZE)

# --------------------------------------------------------------------------- PE bodies

PE_SECTION_RECORD = record(
    PESection,
    "PE section",
    [("size", "section size", U32), ("entropy", "entropy", F64), ("name", "name", TEXT),
     ("md5", "md5", TEXT)],
)  # fmt: skip
CERTIFICATE = record(
    Certificate,
    "certificate",
    [("not_before", "not before", TIME), ("not_after", "not after", TIME),
     ("serial", "serial", TEXT), ("subject", "subject", TEXT), ("issuer", "issuer", TEXT)],
)  # fmt: skip


@cache
def pe_body(version: int) -> Record:
    """The PE body of ``version`` (1 or 2)."""
    fields: list[tuple[str, str, Any]] = [
        ("nsections", "section count", U16),
        ("nsymbols", "symbol count", U32),
        ("image_base", "image base", TEXT),
        ("entrypoint", "entry point", TEXT),
        ("link_time", "link time", TIME),
        ("sections", "section list", seq(PE_SECTION_RECORD)),
        ("symbols", "imported symbol", seq(SHARED_TEXT)),
        ("imports", "imported DLL", seq(SHARED_TEXT)),
        ("version_resources", "version resource", seq(pair(TEXT, TEXT))),
    ]
    defaults: dict[str, Any] = {}
    if version >= 2:
        fields += [
            ("is_signed", "is signed", BOOL),
            ("is_trusted", "is trusted", BOOL),
            ("cert", "certificate", framed("I", CERTIFICATE, "certificate", empty=True)),
            ("is_driver", "is driver", BOOL),
            ("is_dll", "is DLL", BOOL),
            ("is_executable", "is executable", BOOL),
            ("is_dotnet", "is .NET", BOOL),
            ("imphash", "import hash", TEXT),
            ("anomalies", "anomaly", seq(TEXT)),
        ]
    else:
        defaults = dict(
            is_signed=False, is_trusted=False, cert=None, is_driver=False, is_dll=False,
            is_executable=False, is_dotnet=False, imphash="", anomalies=new_list,
        )  # fmt: skip
    return record(PE, f"PE body V{version}", fields, **defaults)


PE_VERSIONS = {1: pe_body(1), 2: pe_body(2)}

# --------------------------------------------------------------------------- process bodies


@cache
def process_body(version: int, short_handles: bool = False) -> Record:
    """The process body of ``version`` (1 to 4); ``short_handles``: the pre-release variant whose
    handle records are 20 bytes with no length prefix."""
    fields: list[tuple[str, str, Any]] = [
        ("pid", "pid", U32),
        ("ppid", "ppid", U32),
        ("name", "image name", TEXT),
        ("cmdline", "command line", TEXT),
        ("exe", "executable", TEXT),
        ("cwd", "working directory", TEXT),
        ("sid", "SID", TEXT),
        ("args", "argument", seq(TEXT)),
        ("session_id", "session id", U8 if version <= 2 else U32),
        ("envs", "environment variable", seq(pair(TEXT, TEXT))),
        ("handles", "handle", section(
            HANDLE, "handle", counted=SHORT_HANDLE if short_handles else PREFIXED_HANDLE)),
        ("pe", "PE", section(PE_SECTION, "PE", PE_VERSIONS)),
    ]  # fmt: skip
    defaults: dict[str, Any] = dict(threads=new_dict, modules=new_list, parent=None)
    if version >= 2:
        fields += [("start_time", "start time", TIME), ("uuid", "uuid", U64)]
    else:
        defaults.update(start_time=ZERO, uuid=0)
    if version >= 3:
        fields += [("username", "user name", TEXT), ("domain", "domain", TEXT)]
    else:
        defaults.update(username="", domain="")
    if version >= 4:
        fields += [
            ("is_wow64", "is WOW64", BOOL),
            ("is_packaged", "is packaged", BOOL),
            ("is_protected", "is protected", BOOL),
        ]
    else:
        defaults.update(is_wow64=False, is_packaged=False, is_protected=False)
    what = f"process body V{version}" + (" (short handles)" if short_handles else "")
    return record(Process, what, fields, **defaults)


PROCESS_VERSIONS = (1, 2, 3, 4)

# --------------------------------------------------------------------------- events

#: seq (8), pid (4), tid (4), type id (W), cpu (1)
EVENT_FIXED_HEAD = 17


@cache
def event_body(width: int, short_handles: bool = False, process_section: bool = True) -> EventBody:
    """The event body with ``width``-byte type ids (17 or 18). ``process_section``: False for the
    headerless pre-release stream, whose bodies end after the metadata. (Made once per
    arguments: the kernels compile each node once.)"""
    tail = [
        Field("params", "parameters", ParamList()),
        Field("meta", "metadata", seq(pair(SHARED_TEXT, SHARED_TEXT))),
    ]
    if process_section:
        versions = {v: process_body(v, short_handles) for v in PROCESS_VERSIONS}
        tail.append(Field("process", "process", section(PROCESS, "process", versions)))
    return EventBody(
        "event",
        width,
        (
            Field("seq", "sequence number", U64),
            Field("pid", "pid", U32),
            Field("tid", "tid", U32),
            Field("type", "type id", Raw("raw", width)),
            Field("cpu", "cpu", U8),
        ),
        (
            Field("name", "event name", SHARED_TEXT),
            Field("category", "category", SHARED_TEXT),
            Field("description", "description", SHARED_TEXT),
            Field("host", "host", SHARED_TEXT),
        ),
        Field("timestamp", "timestamp", TIME),
        tuple(tail),
    )


#: The smallest event body: the fixed head with a 17-byte id, five empty strings, two counts
#: and, where there is one, the process section header.
def min_event_body(process_section: bool = True) -> int:
    return EVENT_FIXED_HEAD + 16 + 5 * 2 + 2 + 2 + (SECTION_SIZE if process_section else 0)


#: The classes the kernels build (the C kernel learns their attribute slots once).
BUILT: tuple[type, ...] = (
    Event, Params, Handle, AlpcInfo, MutantInfo, FileInfo, UnknownInfo, Process, PE, PESection,
    Certificate,
)  # fmt: skip

Factory = Callable[[], Any]
