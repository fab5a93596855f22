"""Timestamps as captures store them: RFC 3339 text with nanoseconds and the host's UTC offset.

A capture stores every time as Go's RFC 3339 "nano" text (``2022-08-15T21:56:28.3433744Z``,
``...+02:00``). Keeping the text is what makes a read-then-write round trip exact; the instant is
parsed from it only when somebody asks, and parses of the same second are cached because a
capture holds thousands of events per second.
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone
from functools import total_ordering

#: Go's zero time, which upstream uses for "unknown" and for text it cannot parse.
ZERO_TEXT = "0001-01-01T00:00:00Z"
_EPOCH_OFFSET_ZERO = -62135596800  # seconds from the Unix epoch to 0001-01-01T00:00:00Z
ZERO_NS = _EPOCH_OFFSET_ZERO * 1_000_000_000

_SECOND_CACHE: dict[str, int] = {}
_SECOND_CACHE_MAX = 8192


def _parse(text: str) -> tuple[int, int] | None:
    """Parse RFC 3339 text into (UTC epoch nanoseconds, offset seconds), None if malformed."""
    if len(text) < 20 or text[4] != "-" or text[7] != "-" or text[10] not in "Tt":
        return None
    head = text[:19]
    secs = _SECOND_CACHE.get(head)
    if secs is None:
        try:
            y, mo, d = int(text[0:4]), int(text[5:7]), int(text[8:10])
            h, mi, s = int(text[11:13]), int(text[14:16]), int(text[17:19])
            if text[13] != ":" or text[16] != ":":
                return None
            datetime(y, mo, d, h, mi, min(s, 59))  # validates ranges (leap second tolerated)
        except ValueError:
            return None
        secs = calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0))
        if len(_SECOND_CACHE) >= _SECOND_CACHE_MAX:
            _SECOND_CACHE.clear()
        _SECOND_CACHE[head] = secs
    pos = 19
    frac_ns = 0
    n = len(text)
    if pos < n and text[pos] in ".,":
        end = pos + 1
        while end < n and text[end].isdigit():
            end += 1
        digits = text[pos + 1 : end]
        if not digits or len(digits) > 9:
            return None
        frac_ns = int(digits.ljust(9, "0"))
        pos = end
    zone = text[pos:]
    if zone in ("Z", "z"):
        offset = 0
    elif len(zone) == 6 and zone[0] in "+-" and zone[3] == ":":
        try:
            hh, mm = int(zone[1:3]), int(zone[4:6])
        except ValueError:
            return None
        if hh > 23 or mm > 59:
            return None
        offset = (hh * 3600 + mm * 60) * (1 if zone[0] == "+" else -1)
    else:
        return None
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
