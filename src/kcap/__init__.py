"""kcap: read, write, replay and capture kernel event captures in the Fibratus format.

Copying a capture keeps its process state only when the state events come along (README,
"Python API")::

    import kcap
    with kcap.open("incident.kcap") as reader:
        for event in reader.read():
            print(event.name, event.ps.name if event.ps else "")

    kcap.copy("incident.kcap", "bash-only.kcap", filter="ps.name = 'bash'")

The names below are imported on first use (a module ``__getattr__``), so ``import kcap`` and
``kcap --version`` do not load the decoder, the model and the state machinery.
"""

from __future__ import annotations

from importlib import import_module

from kcap import compiled

compiled.install()  # honour KCAP_PURE_PYTHON before any compiled module is imported

# Not `typing.TYPE_CHECKING`: importing typing would double the time `import kcap` takes.
# Type checkers treat any constant of this name as true.
TYPE_CHECKING = False

__version__ = "0.1.0"

if TYPE_CHECKING:  # what the lazy names are, for type checkers and editors
    import os
    from collections.abc import Iterator
    from typing import Any

    from kcap.copying import copy as copy
    from kcap.errors import BadMagic as BadMagic
    from kcap.errors import CaptureError as CaptureError
    from kcap.errors import Corrupt as Corrupt
    from kcap.errors import EncodeError as EncodeError
    from kcap.errors import FilterError as FilterError
    from kcap.errors import FormatError as FormatError
    from kcap.errors import KcapError as KcapError
    from kcap.errors import LimitExceeded as LimitExceeded
    from kcap.errors import OpenError as OpenError
    from kcap.errors import RuleError as RuleError
    from kcap.errors import StateWarning as StateWarning
    from kcap.errors import Truncated as Truncated
    from kcap.errors import UnsupportedVersion as UnsupportedVersion
    from kcap.export.source import to_arrow as to_arrow
    from kcap.export.source import to_pandas as to_pandas
    from kcap.export.source import to_polars as to_polars
    from kcap.export.sql import sql as sql
    from kcap.model import Event as Event
    from kcap.model import Param as Param
    from kcap.model import Params as Params
    from kcap.model import ParamType as ParamType
    from kcap.model import Process as Process
    from kcap.model import Timestamp as Timestamp
    from kcap.reader import Reader as Reader
    from kcap.reader import open as open
    from kcap.rules import Alert, RuleSet
    from kcap.writer import STOP as STOP
    from kcap.writer import Config as Config
    from kcap.writer import Writer as Writer
    from kcap.writer import WriterStats as WriterStats
    from kcap.writer import new_writer as new_writer

#: public name -> the module that defines it
_LAZY = {
    "copy": "kcap.copying",
    **dict.fromkeys(
        (
            "BadMagic",
            "CaptureError",
            "Corrupt",
            "EncodeError",
            "FilterError",
            "FormatError",
            "KcapError",
            "LimitExceeded",
            "OpenError",
            "RuleError",
            "StateWarning",
            "Truncated",
            "UnsupportedVersion",
        ),
        "kcap.errors",
    ),
    **dict.fromkeys(
        ("Event", "Param", "Params", "ParamType", "Process", "Timestamp"), "kcap.model"
    ),
    **dict.fromkeys(("Reader", "open"), "kcap.reader"),
    **dict.fromkeys(("STOP", "Config", "Writer", "WriterStats", "new_writer"), "kcap.writer"),
    # columnar export and SQL need the ``analysis`` extra (pyarrow, DuckDB)
    **dict.fromkeys(("to_arrow", "to_pandas", "to_polars"), "kcap.export.source"),
    "sql": "kcap.export.sql",
}

__all__ = sorted([*_LAZY, "detect"])


def detect(path: str | os.PathLike[str], ruleset: RuleSet, **options: Any) -> Iterator[Alert]:
    """Replay the capture at ``path`` through a `kcap.rules.RuleSet`, yielding alerts as they
    fire (options: see `kcap.rules.detect`). The rule engine is imported on first use."""
    from kcap.rules import detect as _detect

    return _detect(path, ruleset, **options)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kcap' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
