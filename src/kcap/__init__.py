"""kcap: read, write, replay and capture kernel event captures in the Fibratus format.

import kcap
with kcap.open("incident.kcap") as reader:
    for event in reader.read():
        print(event.name, event.ps.name if event.ps else "")
"""

from kcap.errors import (
    BadMagic,
    CaptureError,
    Corrupt,
    EncodeError,
    FilterError,
    FormatError,
    KcapError,
    LimitExceeded,
    Truncated,
    UnsupportedVersion,
)
from kcap.model import Event, Param, Params, ParamType, Process, Timestamp
from kcap.reader import Reader, open
from kcap.writer import STOP, Config, Writer, WriterStats, new_writer

__version__ = "0.1.0"

__all__ = [
    "STOP",
    "BadMagic",
    "CaptureError",
    "Config",
    "Corrupt",
    "EncodeError",
    "Event",
    "FilterError",
    "FormatError",
    "KcapError",
    "LimitExceeded",
    "Param",
    "ParamType",
    "Params",
    "Process",
    "Reader",
    "Timestamp",
    "Truncated",
    "UnsupportedVersion",
    "Writer",
    "WriterStats",
    "new_writer",
    "open",
]
