"""The optional libraries of the export and analysis commands, and the error when one is absent.

pyarrow (columnar batches, Parquet, CSV) and DuckDB (SQL) are not needed to read or replay a
capture, so they come with the ``analysis`` extra (``pip install 'kcap[analysis]'``) rather
than with kcap itself. Every entry point that needs one asks `require` for it, which raises a
`MissingExtra` that names the extra to install, instead of an ImportError traceback.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from kcap.errors import KcapError

#: The extra of pyproject.toml that installs the libraries below.
EXTRA = "analysis"

_WHAT = {
    "pyarrow": "columnar export (Arrow, Parquet, CSV)",
    "pyarrow.parquet": "Parquet output",
    "pyarrow.csv": "CSV output",
    "duckdb": "SQL over captures",
    "pandas": "kcap.to_pandas",
    "polars": "kcap.to_polars",
}
# pandas and polars are the user's choice of data-frame library, not part of the extra.
_NOT_IN_EXTRA = {"pandas", "polars"}


class MissingExtra(KcapError):
    """A library an optional feature needs is not installed."""

    def __init__(self, module: str) -> None:
        self.module = module
        top = module.split(".", 1)[0]
        what = _WHAT.get(module, module)
        fix = f"pip install {top}" if top in _NOT_IN_EXTRA else f"pip install 'kcap[{EXTRA}]'"
        super().__init__(f"{what} needs the Python package {top!r}, which is not installed: {fix}")


def require(module: str) -> ModuleType:
    """Import ``module`` or raise `MissingExtra` saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtra(module) from None


__all__ = ["EXTRA", "MissingExtra", "require"]
