# cython: annotation_typing=False, boundscheck=False, wraparound=False
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

try:
    import cython
except ImportError:  # plain Python without Cython installed
    from kcap import cython_shim as cython

_COMPILED = cython.compiled
_SECOND_CACHE: dict[bytes, int] = {}
_SECOND_CACHE_MAX = 8192

#: Marks "did not parse" in ``Timestamp._offset``; `Timestamp.offset` reads 0 then.
_INVALID = -(1 << 31)
#: What `_seconds` gives for text that is not a date and time (outside any real value).
_NOT_A_TIME = -(1 << 62)


#: What a fraction of so many digits is multiplied by to give nanoseconds.
_SCALE = (0, 100_000_000, 10_000_000, 1_000_000, 100_000, 10_000, 1000, 100, 10, 1)

#: Seconds from the Unix epoch within which the nanoseconds fit in 64 bits (about 2255 years).
_FITS = 9_000_000_000


# The parser reads the text's ASCII bytes: indexing bytes gives numbers directly (compiled, one
# memory read each). It compares them with literal byte values, which plain Python loads as
# constants (named ones would be a global lookup each): 43 "+", 44 ",", 45 "-", 46 ".", 58 ":",
# 84 "T", 90 "Z", 116 "t", 122 "z".


def _digits(b: bytes, start: int, count: int) -> int:
    """The number written by ``count`` ASCII digits at ``start``, or -1 if one is not a digit.

    Two ways to the same number: compiled, a loop over the bytes is a few instructions a digit;
    as Python, the built-in conversion beats any loop (``bytes.isdigit`` is true for ASCII
    digits only, exactly what the loop accepts). tests/model/test_builds.py compares the two
    builds of the parser on arbitrary text."""
    if not _COMPILED:
        chunk = b[start : start + count]
        return int(chunk) if chunk.isdigit() else -1
    value = 0
    for i in range(start, start + count):
        d = b[i] - 48
        if d < 0 or d > 9:
            return -1
        value = value * 10 + d
    return value


def _seconds(b: bytes) -> int:
    """Epoch seconds of the ``YYYY-MM-DDThh:mm:ss`` that starts ``b``, or `_NOT_A_TIME`.

    A leap second (60) is tolerated, as Go's parser does; every other field is range-checked.
    """
    if b[4] != 45 or b[7] != 45 or (b[10] != 84 and b[10] != 116):
        return _NOT_A_TIME
    if b[13] != 58 or b[16] != 58:
        return _NOT_A_TIME
    y = _digits(b, 0, 4)
    mo = _digits(b, 5, 2)
    d = _digits(b, 8, 2)
    h = _digits(b, 11, 2)
    mi = _digits(b, 14, 2)
    sec = _digits(b, 17, 2)
    if y < 1 or mo < 1 or mo > 12 or d < 1 or h < 0 or h > 23 or mi < 0 or mi > 59:
        return _NOT_A_TIME
    if sec < 0 or sec > 60:
        return _NOT_A_TIME
    if mo == 2:
        leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        last_day = 29 if leap else 28
    else:
        last_day = 30 + (mo + mo // 8) % 2  # 31 for Jan, Mar, May, Jul, Aug, Oct, Dec
    if d > last_day:
        return _NOT_A_TIME
    # days from 1970-01-01 to the date (the proleptic Gregorian "days from civil" count)
    yy = y - 1 if mo <= 2 else y
    era = yy // 400
    yoe = yy - era * 400
    doy = (153 * (mo + (-3 if mo > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return ((days * 24 + h) * 60 + mi) * 60 + sec


def _parse(text: str) -> tuple[int, int] | None:
    """Parse RFC 3339 text into (UTC epoch nanoseconds, offset seconds), None if malformed."""
    ts = _stored(text)
    if not _parse_into(ts, text):
        return None
    return ts._ns, ts._offset  # type: ignore[return-value]  # set by _parse_into


def _parse_into(ts: Timestamp, text: str) -> bool:
    """Set ``ts._ns`` and ``ts._offset`` from RFC 3339 ``text``; False (nothing set) when it
    is malformed.

    The one parser of capture timestamps (docs/engine.md, "Timestamps"), compiled by Cython
    where a compiler exists (``timestamp.pxd`` types its locals) and run as plain Python
    otherwise. Run as Python, the seconds of the date and time of day are remembered by their
    text (a capture has thousands of events a second); compiled, working them out again is
    cheaper than looking them up.
    """
    n = len(text)
    if n < 20:
        return False
    # one byte per character: anything not ASCII becomes "?", which no check accepts
    b = text.encode("ascii", "replace")
    if _COMPILED:
        secs = _seconds(b)
    else:
        head = b[:19]
        secs = _SECOND_CACHE.get(head, _NOT_A_TIME)
        if secs == _NOT_A_TIME:
            secs = _seconds(b)
            if len(_SECOND_CACHE) >= _SECOND_CACHE_MAX:
                _SECOND_CACHE.clear()
            _SECOND_CACHE[head] = secs
    if secs == _NOT_A_TIME:
        return False
    last = b[n - 1]
    offset = 0
    if last == 90 or last == 122:
        end = n - 1
    elif n >= 25 and b[n - 3] == 58 and (b[n - 6] == 43 or b[n - 6] == 45):
        end = n - 6
        hh = _digits(b, n - 5, 2)
        mm = _digits(b, n - 2, 2)
        if hh < 0 or mm < 0 or hh > 23 or mm > 59:
            return False
        offset = hh * 3600 + mm * 60
        if b[n - 6] == 45:
            offset = -offset
    else:
        return False
    frac = 0
    if end > 19:
        sep = b[19]
        digits = end - 20
        if (sep != 46 and sep != 44) or digits < 1 or digits > 9:
            return False
        frac = _digits(b, 20, digits)
        if frac < 0:
            return False
        frac *= _SCALE[digits]  # to nanoseconds
    utc = secs - offset
    if -_FITS < utc < _FITS:
        ts._ns = utc * 1_000_000_000 + frac
    else:  # year 0001 (Go's zero time): beyond 64-bit nanoseconds
        ts._ns = int(utc) * 1_000_000_000 + frac
    ts._offset = offset
    return True


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
        return Timestamp.parsed(format_rfc3339_nano(ns, offset), ns, offset)

    @staticmethod
    def parsed(text: str, ns: int, offset: int) -> Timestamp:
        """A timestamp whose instant is known already (a live clock formats its own text):
        ``text`` must be what `format_rfc3339_nano` makes of ``ns`` and ``offset``."""
        ts = Timestamp(text)
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
        if not _parse_into(self, self.text):
            self._ns = ZERO_NS
            self._offset = _INVALID
        return self._ns  # type: ignore[return-value]  # set just now

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
        return 0 if self._offset == _INVALID else self._offset

    @property
    def valid(self) -> bool:
        if self._ns is None:
            self._load()
        return self._offset != _INVALID

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


def _stored(text: str) -> Timestamp:
    """A timestamp of stored text, not parsed yet: what decoders make (compiled, a plain C
    function that the native byte kernel calls directly)."""
    ts: Timestamp = Timestamp.__new__(Timestamp)
    ts.text = text
    ts._ns = None
    ts._offset = 0
    return ts


ZERO = Timestamp(ZERO_TEXT)
