# The typed interface of the C byte kernel (native/_native.c), the one way Python talks to it.
#
# The kernel turns bytes into model values and back, driven by the declarations of
# kcap.format.schema: it is handed those declarations (nodes) and compiles each into a small
# program it interprets. It knows no filter, snapshotter or replay loop. Whatever it does not
# accept -- a malformed record, an unusual value -- it refuses (None, or an anomaly flag), and
# the pure-Python kernel, which owns every error message, decodes and reports it
# (docs/engine.md, "Two kernels").
#
# Node grammar (plain tuples; schema.py's NamedTuples are tuples, first item the operation):
#   ("int"|"float", code)            a struct code: B H I Q b h i q (float: f d)
#   ("bool",)                        one byte, non-zero is True
#   ("text", shared) / ("time",)     u16 length + UTF-8 (time: a Timestamp of that text)
#   ("raw", width)                   bytes of a fixed width
#   ("blob", prefix)                 bytes after a length of struct code ``prefix``
#   ("address", width)               4 or 16 bytes as an ipaddress address
#   ("slice", kinds)                 a parameter list value (element kinds by id)
#   ("seq", item) / ("pair", a, b)   a u16 count of items / two values as a tuple
#   ("record", cls, what, fields, defaults)   a model object; fields are (slot, label, node)
#   ("tagged", label, cases)         a u8 tag choosing one of ``cases`` (tag, node | None)
#   ("framed", prefix, item, what, empty, least)   an item inside a length-prefixed frame
#   ("section", stype, label, versions, counted)   a section header, then a body by version
#   ("params",)                      the parameter list, by the layout's parameter table
#   ("event", width, head, shared, timestamp, tail)   an event body (EventBody)

from collections.abc import Callable, Sequence
from typing import Any

from kcap.model.event import Event
from kcap.model.params import Params
from kcap.model.process import Process
from kcap.model.timestamp import Timestamp

RawEvent = tuple[bytes, int, int, int, int]  # (buf, body start, body end, version, base)

def configure(
    timestamp: type,
    ipv4: type,
    ipv6: type,
    param: type,
    params: type,
    section: tuple[int, int, int, int, int, int, int],
    constructors: tuple[type, Any, Any, Any],
) -> None:
    """Bind the model classes the kernel builds, the section header layout (size, type at,
    version at, count at, size at, event type, process type) and the compiled model's
    constructors (event class, lazy-event, whole-event and stored-timestamp capsules, or
    Nones)."""

class Program:
    """One compiled node."""

    def decode(self, buf: bytes, p: int, end: int) -> tuple[Any, int] | None:
        """The value at ``buf[p:end]`` and where it ends; None when refused."""
    def run(self, buf: bytes, p: int, count: int) -> tuple[list[Any], int, bool]:
        """Up to ``count`` u16-length-prefixed records from ``p``: the values, where they
        end, and whether it stopped at one it refused (or at the end of ``buf``)."""

def program(node: Any, little: bool) -> Program: ...

class Tail:
    """The undecoded rest of a lazy event (a kcap.model.event.TailSource)."""

    def decode(self) -> tuple[Params, list[tuple[str, str]], Process | None]: ...
    def timestamp(self) -> Timestamp: ...
    def values(self, names: Sequence[str]) -> tuple[Any, ...] | None: ...

class Codec:
    """The event bodies of one file layout."""

    def lazy(self, buf: bytes, off: int, end: int, version: int, base: int) -> Event | None: ...
    def full(self, buf: bytes, off: int, end: int, version: int, base: int) -> Event | None: ...
    def decode_tail(
        self, buf: bytes, p: int, end: int
    ) -> tuple[Params, list[tuple[str, str]], Process | None] | None: ...
    def batch(
        self,
        buf: bytes,
        pos: int,
        base: int,
        limit: int,
        max_record: int,
        actions: dict[bytes, Any],
        classify: Callable[[bytes], Any],
    ) -> tuple[list[Any], int, bool, tuple[int, int]]:
        """Up to ``limit`` complete event sections from ``pos``, each handled by the action of
        its type id (kcap.format.kernel.actions; ``classify`` gives the action of an id not
        in ``actions``): the items built, where it stopped, whether it stopped at an anomaly
        (which the careful path then reads), and the counts of sections dropped and skipped
        without building an event."""
    def check_run(
        self, raws: Sequence[RawEvent], start: int, valid_time: Callable[[str], bool]
    ) -> int:
        """How many of ``raws`` from ``start`` decode completely with a valid timestamp (the
        generation trial)."""

def event_codec(
    body: Any,
    table: dict[int, tuple[Any, Any]],
    little: bool,
    ev1_width: int,
    min_body: int,
    event: type,
    fallback: Callable[[bytes, int, int, int], Any],
) -> Codec: ...

class TailEncoder:
    """An event's parameters and metadata into bytes, by the writer's parameter table."""

    def encode(self, params: Params, meta: list[tuple[str, str]]) -> bytes | None:
        """The encoded tail; None when a value needs the pure encoder (it adapts and reports)."""

def tail_encoder(wire: Any, little: bool) -> TailEncoder: ...
def scan_sections(
    buf: bytes, pos: int, base: int, max_record: int, limit: int, max_bytes: int, little: bool
) -> tuple[list[RawEvent], int, int]:
    """Up to ``limit`` complete event sections from ``pos`` (stopping once their bodies reach
    ``max_bytes``): the raw events, where it stopped, and their body bytes."""
