"""Timestamps as captures store them: RFC 3339 text with nanoseconds and the host's UTC offset.

A capture stores every time as Go's RFC 3339 "nano" text (``2022-08-15T21:56:28.3433744Z``,
``...+02:00``). Keeping the text is what makes a read-then-write round trip exact; the instant is
parsed from it only when somebody asks, and parses of the same second are cached because a
capture holds thousands of events per second.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from functools import total_ordering

#: Go's zero time, which upstream uses for "unknown" and for text it cannot parse.
ZERO_TEXT = "0001-01-01T00:00:00Z"
_EPOCH_OFFSET_ZERO = -62135596800  # seconds from the Unix epoch to 0001-01-01T00:00:00Z
ZERO_NS = _EPOCH_OFFSET_ZERO * 1_000_000_000

_SECOND_CACHE: dict[str, int] = {}
_SECOND_CACHE_MAX = 8192


#: An optional faster `_parse` for the canonical forms (None: not decided, `_parse` decides).
#: Set by `kcap.format.accel` when the C accelerator is loaded.
_fast_parse: Callable[[str], tuple[int, int] | None] | None = None

_SCALE = tuple(10 ** (9 - digits) for digits in range(10))  # fraction digits -> ns factor


def _seconds(head: str) -> int | None:
    """Epoch seconds of ``YYYY-MM-DDThh:mm:ss`` (cached: a capture has many events a second)."""
    secs = _SECOND_CACHE.get(head)
    if secs is not None:
        return secs
    if not head.isascii() or head[4] != "-" or head[7] != "-" or head[10] not in "Tt":
        return None
    if head[13] != ":" or head[16] != ":":
        return None
    try:
        y, mo, d = int(head[0:4]), int(head[5:7]), int(head[8:10])
        h, mi, sec = int(head[11:13]), int(head[14:16]), int(head[17:19])
        datetime(y, mo, d, h, mi, min(sec, 59))  # validates ranges (leap second tolerated)
    except ValueError:
        return None
    secs = calendar.timegm((y, mo, d, h, mi, sec, 0, 0, 0))
    if len(_SECOND_CACHE) >= _SECOND_CACHE_MAX:
        _SECOND_CACHE.clear()
    _SECOND_CACHE[head] = secs
    return secs


def _parse(text: str) -> tuple[int, int] | None:
    """Parse RFC 3339 text into (UTC epoch nanoseconds, offset seconds), None if malformed."""
    n = len(text)
    if n < 20:
        return None
    secs = _seconds(text[:19])
    if secs is None:
        return None
    last = text[-1]
    if last == "Z" or last == "z":
        offset, end = 0, n - 1
    elif n >= 25 and text[-3] == ":" and text[-6] in "+-":
        zone = text[-5:]
        if not (zone[:2].isdigit() and zone[3:].isdigit() and zone.isascii()):
            return None
        hh, mm = int(zone[:2]), int(zone[3:])
        if hh > 23 or mm > 59:
            return None
        offset = (hh * 3600 + mm * 60) * (1 if text[-6] == "+" else -1)
        end = n - 6
    else:
        return None
    frac_ns = 0
    if end > 19:
        frac = text[20:end]
        if text[19] not in ".," or not frac or len(frac) > 9:
            return None
        if not (frac.isdigit() and frac.isascii()):
            return None
        frac_ns = int(frac) * _SCALE[len(frac)]
    return (secs - offset) * 1_000_000_000 + frac_ns, offset


def format_rfc3339_nano(ns: int, offset: int = 0) -> str:
    """Format UTC epoch nanoseconds the way Go's RFC3339Nano layout does (trailing zeros cut)."""
    secs, frac = divmod(ns, 1_000_000_000)
    local = datetime(1970, 1, 1) + timedelta(seconds=secs + offset)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if local.year < 1000:  # strftime does not pad years below 1000 on every libc
        text = f"{local.year:04d}" + text[text.index("-") :]
    if frac:
        text += "." + f"{frac:09d}".rstrip("0")
    if offset == 0:
        return text + "Z"
    sign = "+" if offset > 0 else "-"
    hh, mm = divmod(abs(offset) // 60, 60)
    return f"{text}{sign}{hh:02d}:{mm:02d}"


@total_ordering
class Timestamp:
    """An instant with nanosecond precision and the UTC offset it was recorded with.

    ``text`` is exactly what the capture stores. ``ns`` (UTC nanoseconds since the Unix epoch)
    and ``offset`` (seconds east of UTC) are parsed on first use. Text that does not parse is
    kept as is and reads as Go's zero time, as upstream does; ``valid`` tells the two apart.
    Ordering and equality compare instants, not text.
    """

    __slots__ = ("_ns", "_offset", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._ns: int | None = None
        self._offset = 0

    @classmethod
    def from_ns(cls, ns: int, offset: int = 0) -> Timestamp:
        ts = cls(format_rfc3339_nano(ns, offset))
        ts._ns = ns
        ts._offset = offset
        return ts

    @classmethod
    def from_datetime(cls, value: datetime) -> Timestamp:
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        off = value.utcoffset()
        offset = int(off.total_seconds()) if off is not None else 0
        ns = calendar.timegm(value.utctimetuple()) * 1_000_000_000 + value.microsecond * 1000
        return cls.from_ns(ns, offset)

    def _load(self) -> int:
        parsed = None if _fast_parse is None else _fast_parse(self.text)
        if parsed is None:
            parsed = _parse(self.text)
        if parsed is None:
            self._ns, self._offset = ZERO_NS, 0
            self._offset = -1 << 31  # marks "did not parse"; offset reads as 0
        else:
            self._ns, self._offset = parsed
        return self._ns

    @property
    def ns(self) -> int:
        """UTC nanoseconds since the Unix epoch (Go's zero time when the text does not parse)."""
        ns = self._ns
        return ns if ns is not None else self._load()

    @property
    def offset(self) -> int:
        """Seconds east of UTC as recorded (0 for ``Z`` and for text that does not parse)."""
        if self._ns is None:
            self._load()
        return 0 if self._offset == -1 << 31 else self._offset

    @property
    def valid(self) -> bool:
        if self._ns is None:
            self._load()
        return self._offset != -1 << 31

    @property
    def datetime(self) -> datetime:
        """An aware datetime in the recorded offset (microsecond precision, as datetime allows)."""
        tz = timezone(timedelta(seconds=self.offset))
        secs, frac = divmod(self.ns, 1_000_000_000)
        return datetime.fromtimestamp(0, tz) + timedelta(seconds=secs, microseconds=frac // 1000)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"Timestamp({self.text!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Timestamp):
            return self.ns == other.ns
        return NotImplemented

    def __lt__(self, other: Timestamp) -> bool:
        return self.ns < other.ns

    def __hash__(self) -> int:
        return hash(self.ns)


ZERO = Timestamp(ZERO_TEXT)
