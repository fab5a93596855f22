"""Text that stays on one line and survives any output: the escapes of kcap's text output.

Strings from a capture may hold bytes that were not valid UTF-8 (kept by the model as lone
surrogates U+DC80..U+DCFF, Python's ``surrogateescape``) and control characters (a newline in a
file name). Text output shows the former as ``\\xNN`` and the latter as ``\\n``, ``\\t`` or
``\\xNN``, so that one event, one table cell or one error line stays one line and can be written
in any encoding. (JSON writes the same bytes as ``\\udcNN`` escapes: `kcap.cli.render`.)
"""

from __future__ import annotations

_CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def text_escape(s: str) -> str:
    """Printable text for one line: invalid UTF-8 as ``\\xNN``, control characters escaped."""
    if s.isprintable():
        return s
    out = []
    for ch in s:
        if ch.isprintable() or ch == " ":
            out.append(ch)
            continue
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that was not valid UTF-8
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch in _CONTROL_ESCAPES:
            out.append(_CONTROL_ESCAPES[ch])
        elif code < 0x100:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return "".join(out)


__all__ = ["text_escape"]
