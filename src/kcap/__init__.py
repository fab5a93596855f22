"""kcap: read, write, replay and capture kernel event captures in the Fibratus format.

import kcap
with kcap.open("incident.kcap") as reader:
    for event in reader.read():
        print(event.name, event.ps.name if event.ps else "")
"""

from kcap import compiled

compiled.install()  # honour KCAP_PURE_PYTHON before any compiled module is imported

from kcap.errors import (  # noqa: E402
    BadMagic,
    CaptureError,
    Corrupt,
    EncodeError,
    FilterError,
    FormatError,
    KcapError,
    LimitExceeded,
    OpenError,
    StateWarning,
    Truncated,
    UnsupportedVersion,
)
from kcap.model import Event, Param, Params, ParamType, Process, Timestamp  # noqa: E402
from kcap.reader import Reader, open  # noqa: E402
from kcap.writer import STOP, Config, Writer, WriterStats, new_writer  # noqa: E402

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
    "OpenError",
    "Param",
    "ParamType",
    "Params",
    "Process",
    "Reader",
    "StateWarning",
    "Timestamp",
    "Truncated",
    "UnsupportedVersion",
    "Writer",
    "WriterStats",
    "new_writer",
    "open",
]
