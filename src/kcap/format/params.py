"""Parameter type-id tables of every writer generation and how each value is encoded.

The wire id of a parameter type was renumbered three times with no marker in the file
(docs/format.md, "Parameters"), so a table is chosen per file by generation detection. Each table
maps a wire id to a logical `ParamType` and a *value codec*: how many bytes the value takes and how
they read. The same logical type can use different codecs in different tables (enum: 1 byte in 2020,
4 bytes later; sid: account text in 2020, binary later).
"""

from __future__ import annotations

import enum
from typing import Any

from kcap.format import schema as s
from kcap.model.params import ParamType as T


class Codec(enum.IntEnum):
    """How a value is laid out (names say the layout, not the meaning)."""

    STR16 = 1  # u16 length + bytes
    I8 = 2
    U8 = 3
    I16 = 4
    U16 = 5
    I32 = 6
    U32 = 7
    I64 = 8
    U64 = 9
    F64 = 10  # 8 bytes of binary64 bits ("float", id 11, as upstream writes it; Q4)
    F32 = 11  # 4 bytes of binary32 bits ("double", id 12, as upstream writes it; Q4)
    BOOL = 12
    BIN32 = 13  # u32 length + bytes
    BIN16 = 14  # u16 length + bytes (binary in the 2022-23 development snapshots)
    IPV4 = 15  # 4 octets in dotted order
    IPV6 = 16  # 16 bytes, network order
    TIME = 17  # ts-text
    SLICE = 18  # u8 kind, u16 count, elements
    NONE = 19  # the writer emitted no value bytes: undecodable (Q6)


#: The layout of each codec's value (docs/format.md, "Parameters"); NONE has none.
CODEC_NODES: dict[Codec, Any] = {
    Codec.STR16: s.SHARED_TEXT,
    Codec.I8: s.I8,
    Codec.U8: s.U8,
    Codec.I16: s.I16,
    Codec.U16: s.U16,
    Codec.I32: s.I32,
    Codec.U32: s.U32,
    Codec.I64: s.I64,
    Codec.U64: s.U64,
    Codec.F64: s.F64,
    Codec.F32: s.F32,
    Codec.BOOL: s.BOOL,
    Codec.BIN32: s.BIN32,
    Codec.BIN16: s.BIN16,
    Codec.IPV4: s.IPV4,
    Codec.IPV6: s.IPV6,
    Codec.TIME: s.TIME,
    Codec.SLICE: s.SLICE,
}
#: The order in which decoders test codecs: the most frequent first (measured on the fixtures).
CODEC_ORDER = (
    Codec.STR16, Codec.U64, Codec.U32, Codec.U8, Codec.U16, Codec.TIME, Codec.IPV4, Codec.IPV6,
    Codec.I32, Codec.I64, Codec.I8, Codec.I16, Codec.BOOL, Codec.BIN32, Codec.BIN16,
    Codec.F64, Codec.F32, Codec.SLICE,
)  # fmt: skip

_COMMON = {
    0: (T.NULL, Codec.NONE),
    1: (T.UNICODE, Codec.STR16),
    2: (T.ANSI, Codec.STR16),
    3: (T.INT8, Codec.I8),
    4: (T.UINT8, Codec.U8),
    5: (T.INT16, Codec.I16),
    6: (T.UINT16, Codec.U16),
    7: (T.INT32, Codec.I32),
    8: (T.UINT32, Codec.U32),
    9: (T.INT64, Codec.I64),
    10: (T.UINT64, Codec.U64),
    11: (T.FLOAT, Codec.F64),
    12: (T.DOUBLE, Codec.F32),
    13: (T.BOOL, Codec.BOOL),
    15: (T.GUID, Codec.NONE),
    16: (T.POINTER, Codec.NONE),
    18: (T.PID, Codec.U32),
    19: (T.TID, Codec.U32),
}

_HEX_AND_NET_2020_2023B = {
    21: (T.HEX_INT8, Codec.U8),
    22: (T.HEX_INT16, Codec.U16),
    23: (T.HEX_INT32, Codec.U32),
    24: (T.HEX_INT64, Codec.U64),
    25: (T.PORT, Codec.U16),
    26: (T.IP, Codec.NONE),
    27: (T.IPV4, Codec.IPV4),
    28: (T.IPV6, Codec.IPV6),
    29: (T.TIME, Codec.TIME),
    30: (T.SLICE, Codec.SLICE),
}

TABLE_2020 = {
    **_COMMON,
    **_HEX_AND_NET_2020_2023B,
    14: (T.BINARY, Codec.NONE),
    17: (T.SID, Codec.STR16),
    20: (T.WBEM_SID, Codec.STR16),
    31: (T.ENUM, Codec.U8),
    32: (T.MAP, Codec.NONE),
    33: (T.OBJECT, Codec.NONE),
    34: (T.UNKNOWN, Codec.NONE),
}

TABLE_2023A = {
    **_COMMON,
    **_HEX_AND_NET_2020_2023B,
    14: (T.BINARY, Codec.BIN32),
    17: (T.SID, Codec.BIN32),
    20: (T.WBEM_SID, Codec.BIN32),
    31: (T.ENUM, Codec.U32),
    32: (T.MAP, Codec.NONE),
    33: (T.OBJECT, Codec.NONE),
    34: (T.DOS_PATH, Codec.STR16),
    35: (T.PATH, Codec.STR16),
    36: (T.STATUS, Codec.U32),
    37: (T.KEY, Codec.STR16),
    38: (T.FLAGS, Codec.U32),
    39: (T.ADDRESS, Codec.U64),
    40: (T.HANDLE_TYPE, Codec.STR16),
}

# Development snapshots of 2022-11 .. 2023-05 (major 1): 2023a ids, but sid rewritten to id 1
# text (so sid ids never occur) and binary with a u16 length.
TABLE_2023A_DEV = {**TABLE_2023A, 14: (T.BINARY, Codec.BIN16)}

TABLE_2023B = {
    **{k: v for k, v in TABLE_2023A.items() if k < 39},
    39: (T.FLAGS64, Codec.U64),
    40: (T.ADDRESS, Codec.U64),
    41: (T.HANDLE_TYPE, Codec.STR16),
}

TABLE_2023C = {
    **_COMMON,
    14: (T.BINARY, Codec.BIN32),
    17: (T.SID, Codec.BIN32),
    20: (T.WBEM_SID, Codec.BIN32),
    21: (T.PORT, Codec.U16),
    22: (T.IP, Codec.NONE),
    23: (T.IPV4, Codec.IPV4),
    24: (T.IPV6, Codec.IPV6),
    25: (T.TIME, Codec.TIME),
    26: (T.SLICE, Codec.SLICE),
    27: (T.ENUM, Codec.U32),
    28: (T.MAP, Codec.NONE),
    29: (T.OBJECT, Codec.NONE),
    30: (T.DOS_PATH, Codec.STR16),
    31: (T.PATH, Codec.STR16),
    32: (T.STATUS, Codec.U32),
    33: (T.KEY, Codec.STR16),
    34: (T.FLAGS, Codec.U32),
    35: (T.FLAGS64, Codec.U64),
    36: (T.ADDRESS, Codec.U64),
    37: (T.HANDLE_TYPE, Codec.STR16),
}

TABLES: dict[str, dict[int, tuple[T, Codec]]] = {
    "2020": TABLE_2020,
    "2023a-dev": TABLE_2023A_DEV,
    "2023a": TABLE_2023A,
    "2023b": TABLE_2023B,
    "2023c": TABLE_2023C,
}

# --------------------------------------------------------------------------- writing (2023c)

#: How the writer stores each logical type in the newest layout: (wire id, codec). Types that
#: Fibratus's reader cannot take are converted first (see `newest_form`).
NEWEST_WIRE: dict[T, tuple[int, Codec]] = {
    t: (wire, codec)
    for wire, (t, codec) in TABLE_2023C.items()
    if codec is not Codec.NONE and t not in (T.FLOAT, T.DOUBLE)
}
# Registry keys, DOS paths and handle types are stored as unicode text by upstream's writer
# and its reader cannot decode them under their own ids (docs/format.md, "Writing").
for _t in (T.DOS_PATH, T.KEY, T.HANDLE_TYPE):
    NEWEST_WIRE[_t] = (1, Codec.STR16)
# Legacy types and their newest equivalents (docs/format.md, "Writing").
NEWEST_WIRE[T.HEX_INT8] = (4, Codec.U8)
NEWEST_WIRE[T.HEX_INT16] = (6, Codec.U16)
NEWEST_WIRE[T.HEX_INT32] = (8, Codec.U32)
NEWEST_WIRE[T.HEX_INT64] = (36, Codec.U64)

#: The logical type a value reads back as after the newest writer stored it.
WRITTEN_AS: dict[T, T] = {t: TABLE_2023C[wire][0] for t, (wire, _) in NEWEST_WIRE.items()}
