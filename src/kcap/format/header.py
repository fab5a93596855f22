"""The 18-byte file header: magic (which also tells the byte order), major, minor, flags."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from kcap.errors import BadMagic, Truncated, UnsupportedVersion

MAGIC_LE = b"sutarbif"  # the u64 0x6669627261747573 written little-endian
MAGIC_BE = b"fibratus"
HEADER_SIZE = 18
SUPPORTED_MAJORS = (1, 2)
NEWEST_MAJOR = 2


@dataclass(frozen=True, slots=True)
class Header:
    major: int
    minor: int
    flags: int
    byte_order: str  # "little" or "big"
    headerless: bool = False  # the pre-release stream of kcap-format.md §12.1

    @property
    def version(self) -> str:
        return "pre-release (no header)" if self.headerless else f"{self.major}.{self.minor}"

    @property
    def prefix(self) -> str:
        """The struct byte-order prefix for this file."""
        return "<" if self.byte_order == "little" else ">"


def parse_header(data: bytes, path: str | None = None) -> Header:
    """Parse the header at the start of the decompressed stream.

    A stream that starts with neither magic is the headerless pre-release layout when it looks
    like one (a plausible u16 record length); anything else is `BadMagic`.
    """
    if len(data) < 8:
        raise BadMagic(
            f"invalid kcap file magic number: the stream holds only {len(data)} byte(s)",
            path=path,
            offset=0,
        )
    magic = data[:8]
    if magic == MAGIC_LE:
        order = "little"
    elif magic == MAGIC_BE:
        order = "big"
    else:
        raise BadMagic(
            f"invalid kcap file magic number (found {magic.hex(' ')}; a kcap stream starts "
            f"with {MAGIC_LE.hex(' ')})",
            path=path,
            offset=0,
        )
    if len(data) < HEADER_SIZE:
        raise Truncated(
            f"the header is cut short: {len(data)} of {HEADER_SIZE} bytes", path=path, offset=0
        )
    major, minor = data[8], data[9]
    (flags,) = struct.unpack_from("<Q" if order == "little" else ">Q", data, 10)
    if major not in SUPPORTED_MAJORS:
        raise UnsupportedVersion(
            f"unsupported kcap format version {major}.{minor}: this kcap reads "
            f"{', '.join(f'{m}.x' for m in SUPPORTED_MAJORS)}; upgrade kcap to read it",
            path=path,
            offset=8,
        )
    return Header(major, minor, flags, order)


def encode_header(
    major: int = NEWEST_MAJOR, minor: int = 0, flags: int = 0, prefix: str = "<"
) -> bytes:
    magic = MAGIC_LE if prefix == "<" else MAGIC_BE
    return magic + bytes((major, minor)) + struct.pack(prefix + "Q", flags)
