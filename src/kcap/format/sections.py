"""The 10-byte section header: type, version, element count, payload size."""

from __future__ import annotations

import struct
from typing import NamedTuple

SECTION_SIZE = 10

PROCESS = 1
HANDLE = 2
EVENT = 3
PE = 4

SECTION_NAMES = {PROCESS: "process", HANDLE: "handle", EVENT: "event", PE: "PE"}

# Newest versions, which this project writes.
EVENT_V2 = 2
PROCESS_V4 = 4
PE_V2 = 2
HANDLE_V1 = 1


class SectionHeader(NamedTuple):
    type: int
    version: int
    len: int
    size: int


def section_struct(prefix: str) -> struct.Struct:
    return struct.Struct(prefix + "BBII")


_LE = section_struct("<")


def encode_section(type_: int, version: int, length: int, size: int) -> bytes:
    return _LE.pack(type_, version, length, size)
