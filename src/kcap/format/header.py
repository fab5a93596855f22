"""The 18-byte file header: magic (which also tells the byte order), major, minor, flags
(docs/format.md, "Header")."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from kcap.errors import BadMagic, Truncated, UnsupportedVersion
from kcap.format.schema import HEADER_SIZE, MAGIC_BE, MAGIC_LE, ByteOrder

SUPPORTED_MAJORS = (1, 2)
NEWEST_MAJOR = 2

__all__ = [
    "HEADER_SIZE",
    "MAGIC_BE",
    "MAGIC_LE",
    "NEWEST_MAJOR",
    "ByteOrder",
    "Header",
    "encode_header",
    "parse_header",
]


@dataclass(frozen=True, slots=True)
class Header:
    major: int
    minor: int
    flags: int
    order: ByteOrder
    headerless: bool = False  # the pre-release stream (docs/format.md, "Pre-release layouts")

    @property
    def version(self) -> str:
        return "pre-release (no header)" if self.headerless else f"{self.major}.{self.minor}"


def parse_header(data: bytes, path: str | None = None) -> Header:
    """Parse the header at the start of the decompressed stream."""
    if len(data) < 8:
        raise BadMagic(
            f"invalid kcap file magic number: the stream holds only {len(data)} byte(s)",
            path=path,
            offset=0,
        )
    magic = data[:8]
    if magic == MAGIC_LE:
        order = ByteOrder.LITTLE
    elif magic == MAGIC_BE:
        order = ByteOrder.BIG
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
    (flags,) = struct.unpack_from(order.prefix + "Q", data, 10)
    if major not in SUPPORTED_MAJORS:
        raise UnsupportedVersion(
            f"unsupported kcap format version {major}.{minor}: this kcap reads "
            f"{', '.join(f'{m}.x' for m in SUPPORTED_MAJORS)}; upgrade kcap to read it",
            path=path,
            offset=8,
        )
    return Header(major, minor, flags, order)


def encode_header(
    major: int = NEWEST_MAJOR, minor: int = 0, flags: int = 0, order: ByteOrder = ByteOrder.LITTLE
) -> bytes:
    magic = MAGIC_LE if order is ByteOrder.LITTLE else MAGIC_BE
    return magic + bytes((major, minor)) + struct.pack(order.prefix + "Q", flags)
