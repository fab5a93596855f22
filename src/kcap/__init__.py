"""kcap: read, write, replay and capture kernel event captures in the Fibratus format.

import kcap
with kcap.open("incident.kcap") as reader:
    for event in reader.read():
        print(event.name, event.ps.name if event.ps else "")
"""

from typing import Any

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

# Columnar export and SQL need the ``analysis`` extra; they are imported on first use so that
# ``import kcap`` never needs pyarrow or DuckDB.
_EXPORTS = {
    "to_arrow": "kcap.export.source",
    "to_pandas": "kcap.export.source",
    "to_polars": "kcap.export.source",
    "sql": "kcap.export.sql",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'kcap' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


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
    "sql",
    "to_arrow",
    "to_pandas",
    "to_polars",
]
