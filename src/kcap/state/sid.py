"""Render Windows security identifiers (SIDs) as ``S-1-...`` text.

Captures store a SID parameter in one of three shapes (docs/state.md, "Parameters across writer
generations"):

* a raw SID structure (parameter type ``sid``);
* a "wbem sid": the token block ETW puts before the SID (a pointer, a 4-byte attribute word and
  padding: 16 bytes on 64-bit Windows, 8 on 32-bit) followed by the SID structure;
* account text such as ``NT AUTHORITY\\SYSTEM`` (table-2020 files), already a ``str``.

The binary forms come from untrusted files, so rendering never raises: anything that is not a
well-formed SID renders as ``''``.
"""

from __future__ import annotations

#: Revision 1 is the only SID revision Windows has ever defined.
_SID_REVISION = 1
#: SID_MAX_SUB_AUTHORITIES in winnt.h.
_MAX_SUB_AUTHORITIES = 15
#: Token block sizes ETW puts before a wbem SID: 64-bit first (every fixture), then 32-bit.
_WBEM_TOKEN_BLOCKS = (16, 8)


def _render_at(raw: bytes, offset: int) -> str:
    """Render the SID starting at ``offset`` of ``raw``; '' when it is not a well-formed SID."""
    if len(raw) < offset + 8:
        return ""
    revision = raw[offset]
    count = raw[offset + 1]
    if revision != _SID_REVISION or count > _MAX_SUB_AUTHORITIES:
        return ""
    end = offset + 8 + 4 * count
    if len(raw) < end:
        return ""
    authority = int.from_bytes(raw[offset + 2 : offset + 8], "big")
    # Windows prints an authority that does not fit in 32 bits as 0x + 12 hex digits.
    parts = ["S", str(revision), str(authority) if authority < 1 << 32 else f"0x{authority:012X}"]
    for i in range(count):
        start = offset + 8 + 4 * i
        parts.append(str(int.from_bytes(raw[start : start + 4], "little")))
    return "-".join(parts)


def sid_to_text(value: object, *, wbem: bool = False) -> str:
    """The ``S-1-...`` text of a SID parameter value.

    ``value`` is the parameter value as decoded: ``bytes`` (raw or wbem SID), ``str`` (account
    text, returned unchanged) or anything else (rendered as ''). With ``wbem=True`` the token
    block before the SID is skipped; its size depends on the capturing machine's pointer width,
    which a capture does not record, so the 64-bit size is tried first and the 32-bit one second.
    A raw SID given as wbem (or vice versa) still renders when it is unambiguous.
    """
    if isinstance(value, str):
        return value
    if not isinstance(value, bytes | bytearray | memoryview):
        return ""
    raw = bytes(value)
    if not raw:
        return ""
    offsets = (*_WBEM_TOKEN_BLOCKS, 0) if wbem else (0,)
    for offset in offsets:
        text = _render_at(raw, offset)
        # A SID must fill its buffer exactly; a shorter parse at a guessed offset is a misread.
        if text and len(raw) == offset + 8 + 4 * raw[offset + 1]:
            return text
    # Tolerate trailing padding (some producers round buffers up) when the parse is unambiguous.
    for offset in offsets:
        text = _render_at(raw, offset)
        if text:
            return text
    return ""
