"""Columnar export of captures: Arrow record batches, Parquet/CSV/JSON-lines/timeline files and
SQL through DuckDB. The schema is `kcap.export.schema` (documented in docs/schema.md).

Needs the ``analysis`` extra (``pip install 'kcap[analysis]'``); without it every entry point
raises `MissingExtra` naming it.
"""

from kcap.export.extras import MissingExtra
from kcap.export.schema import SCHEMA_VERSION, ColumnError
from kcap.export.source import to_arrow, to_pandas, to_polars

__all__ = ["SCHEMA_VERSION", "ColumnError", "MissingExtra", "to_arrow", "to_pandas", "to_polars"]
