"""kcap: read, write, replay and capture kernel event captures in the Fibratus format.

import kcap
with kcap.open("incident.kcap") as reader:
    for event in reader.read():
        print(event.name, event.ps.name if event.ps else "")
"""

from __future__ import annotations

from kcap import compiled

compiled.install()  # honour KCAP_PURE_PYTHON before any compiled module is imported

import os  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

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

if TYPE_CHECKING:
    from kcap.rules import Alert, RuleSet


def detect(path: str | os.PathLike[str], ruleset: RuleSet, **options: Any) -> Iterator[Alert]:
    """Replay the capture at ``path`` through a `kcap.rules.RuleSet`, yielding alerts as they
    fire (options: see `kcap.rules.detect`). The rule engine is imported on first use."""
    from kcap.rules import detect as _detect

    return _detect(path, ruleset, **options)


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
    "detect",
    "new_writer",
    "open",
]
