"""The Arrow schema of exported events: every column, its type and what it needs decoded.

This table is the one owner of the export schema: the batch builder, the SQL views, the CSV and
timeline writers and ``docs/schema.md`` (checked against it by the tests) all follow it. Bump
`SCHEMA_VERSION` when a column changes meaning or type (minor: a column added).

Each column says what the reader must provide to fill it (``needs``):

* ``header``: the fixed event header, decoded for every event (no parameter is decoded);
* ``params``: the event parameters (decoded lazily, only when a selected column needs them);
* ``state``: the process state replay attaches (``ev.ps``);
* ``source``: the capture file the event came from.

Typed parameter columns take the value of one filter field (``field``), so a column and the
filter field of the same name read the same parameters under every writer generation (the
filter's field table owns which parameter names feed a field). ``category`` is the event
category the field applies to: other events leave the column null without looking.
"""

from __future__ import annotations

from dataclasses import dataclass

from kcap.errors import KcapError

#: Version of the column layout, stored in the schema metadata under ``kcap.schema``.
SCHEMA_VERSION = "1.0"
#: Schema metadata keys.
META_VERSION = b"kcap.schema"
META_KCAP = b"kcap.version"


class ColumnError(KcapError):
    """A column selection names a column the schema does not have."""


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # a spelling `kcap.export.arrowtypes` turns into an Arrow type
    needs: str  # "header" | "params" | "state" | "source" | "raw"
    doc: str
    field: str | None = None  # typed parameter columns: the filter field they hold
    category: str | None = None  # ... and the event category that field applies to


_C = Column

HEADER = (
    _C("seq", "uint64", "header", "sequence number as stored"),
    _C("pid", "uint32", "header", "process id of the event header"),
    _C("tid", "uint32", "header", "thread id of the event header"),
    _C("cpu", "uint16", "header", "CPU the event was recorded on"),
    _C("name", "string", "header", "event name as recorded (`N/A` in some old rundowns)"),
    _C("category", "string", "header", "event category (file, registry, net, process, ...)"),
    _C("description", "string", "header", "event description as recorded"),
    _C("host", "string", "header", "host name recorded with the event"),
    _C("type", "binary", "header", "event type id as stored (17 or 18 bytes)"),
    _C(
        "timestamp",
        "timestamp",
        "header",
        "the instant, UTC, nanoseconds; null when the stored text is not a time in range "
        "(Go's zero time, damaged text): `raw['timestamp']` then holds the text",
    ),
    _C("tz_offset", "int32", "header", "UTC offset the time was recorded with, seconds east"),
)

TYPED_PARAMS = (
    _C("file_path", "string", "params", "file path", "file.path", "file"),
    _C("file_io_size", "uint64", "params", "bytes read or written", "file.io.size", "file"),
    _C("file_offset", "uint64", "params", "file offset of the I/O", "file.offset", "file"),
    _C("registry_path", "string", "params", "registry key path", "registry.path", "registry"),
    _C("image_path", "string", "params", "image (module) path", "image.path", "image"),
    _C("image_base", "uint64", "params", "image base address", "image.base.address", "image"),
    _C("image_size", "uint64", "params", "image size in bytes", "image.size", "image"),
    _C("net_sip", "string", "params", "source IP address", "net.sip", "net"),
    _C("net_dip", "string", "params", "destination IP address", "net.dip", "net"),
    _C("net_sport", "uint16", "params", "source port", "net.sport", "net"),
    _C("net_dport", "uint16", "params", "destination port", "net.dport", "net"),
    _C("net_size", "uint64", "params", "bytes sent or received", "net.size", "net"),
    _C("handle_name", "string", "params", "name of the handle's object", "handle.name", "handle"),
    _C("handle_type", "string", "params", "type of the handle's object", "handle.type", "handle"),
    _C("handle_object", "uint64", "params", "kernel object address", "handle.object", "handle"),
    _C("child_pid", "uint32", "params", "pid a process event is about", "ps.child.pid", "process"),
    _C(
        "child_name",
        "string",
        "params",
        "name a process event is about",
        "ps.child.name",
        "process",
    ),
)

PARAMS = (
    _C(
        "params",
        "map<string,string>",
        "params",
        "every parameter, name -> value as text (see 'Parameter values as text')",
    ),
    _C("param_types", "map<string,string>", "params", "every parameter, name -> type label"),
    _C("meta", "list<struct<key,value>>", "params", "metadata pairs in stored order"),
)

STATE = (
    _C("ps_pid", "uint32", "state", "pid of the attached process"),
    _C("ps_ppid", "uint32", "state", "its parent's pid"),
    _C("ps_name", "string", "state", "its image name"),
    _C("ps_exe", "string", "state", "its executable path"),
    _C("ps_cmdline", "string", "state", "its command line"),
    _C("ps_cwd", "string", "state", "its working directory"),
    _C("ps_sid", "string", "state", "its user SID, as text"),
    _C("ps_username", "string", "state", "its user name"),
    _C("ps_domain", "string", "state", "its user's domain"),
    _C("ps_session_id", "uint32", "state", "its session id"),
    _C("ps_start_time", "timestamp", "state", "its start time (null when unknown)"),
    _C("ps_uuid", "uint64", "state", "its uuid (joins the processes view)"),
    _C("ps_parent_name", "string", "state", "its parent's name, when the parent is known"),
    _C("ps_parent_uuid", "uint64", "state", "its parent's uuid, when the parent is known"),
)

SOURCE = (_C("file", "string", "source", "the capture file the event was read from"),)

RAW = (
    _C(
        "raw",
        "map<string,binary>",
        "raw",
        "exact stored bytes of values the other columns hold inexactly; null for most events "
        "(see 'Invalid UTF-8 and other inexact values')",
    ),
)

COLUMNS: tuple[Column, ...] = HEADER + TYPED_PARAMS + PARAMS + STATE + SOURCE + RAW
BY_NAME = {c.name: c for c in COLUMNS}
NAMES = tuple(c.name for c in COLUMNS)

#: The header columns an `Event` exposes as attributes of the same name.
HEADER_ATTRS = ("seq", "pid", "tid", "cpu", "name", "category", "description", "host", "type")


def select(columns: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """Validate a column selection (None: all; a string: comma-separated names), schema order.

    ``raw`` is always added: it is what makes a string column exact, so a selection never
    drops it silently.
    """
    if columns is None:
        return NAMES
    if isinstance(columns, str):
        columns = [c.strip() for c in columns.split(",") if c.strip()]
    unknown = [c for c in columns if c not in BY_NAME]
    if unknown:
        raise ColumnError(
            f"unknown column(s) {', '.join(map(repr, unknown))}; the columns are: "
            + ", ".join(NAMES)
        )
    wanted = {*columns, "raw"}
    return tuple(n for n in NAMES if n in wanted)


__all__ = [
    "BY_NAME",
    "COLUMNS",
    "HEADER",
    "HEADER_ATTRS",
    "META_KCAP",
    "META_VERSION",
    "NAMES",
    "PARAMS",
    "RAW",
    "SCHEMA_VERSION",
    "SOURCE",
    "STATE",
    "TYPED_PARAMS",
    "Column",
    "ColumnError",
    "select",
]
