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


def detect(path: str, ruleset: object, **options: object) -> object:
    """Replay the capture at ``path`` through a `kcap.rules.RuleSet`, yielding alerts.

    Imported on first use (see kcap.rules.detect for the options)."""
    from kcap.rules import detect as _detect

    return _detect(path, ruleset, **options)  # type: ignore[arg-type]


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
    "detect",
    "new_writer",
    "open",
]
