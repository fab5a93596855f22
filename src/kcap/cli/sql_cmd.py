"""``kcap sql``: a DuckDB query over captures (views events, processes, handles, modules)."""

from __future__ import annotations

import sys
from typing import Any

import click

from kcap.cli.analysis_support import output_file, run, usage_error

FORMATS = ("table", "csv", "json", "jsonl", "parquet")
#: Rows a terminal table shows at most; the rest is counted (use --format csv for all).
TABLE_ROWS = 10_000

EPILOG = """\b
Examples:
  kcap sql "SELECT name, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC" incident.kcap
  kcap sql "SELECT pid, name, cmdline, start_time, exit_time FROM processes" incident.kcap
  kcap sql "SELECT ps_name, file_path FROM events WHERE name = 'CreateFile'" a.kcap b.kcap
  kcap sql "SELECT * FROM events WHERE net_dport = 443" incident.kcap --format csv -o tls.csv
  kcap sql "SELECT type, count(*) FROM handles WHERE closed IS NULL GROUP BY 1" incident.kcap

\b
Views: events (one row per event, the columns of docs/schema.md), processes (one row per
process: start, exit, parent, image, command line, uuid, event count), handles (one row per
handle: opened, closed), modules (the modules each process held at its exit or at the end).
Only the columns a query names are read: a query on header columns (seq, pid, name,
timestamp...) decodes no event parameters.

\b
Exit status:
  0  the query ran
  1  a capture cannot be read, or the output cannot be written
  2  bad command line, or a query DuckDB rejects
"""


@click.command(epilog=EPILOG)
@click.argument("query")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="table",
    show_default=True,
    help="table: aligned text; csv; json: one array; jsonl: one object per line; parquet.",
)
@click.option(
    "-o", "--output", "out", default="-", metavar="OUT", help="File to write (default: stdout)."
)
@click.option(
    "-f",
    "--filter",
    "flt",
    metavar="EXPR",
    default=None,
    help="Keep only the events a filter expression accepts.",
)
def sql(query: str, files: tuple[str, ...], fmt: str, out: str, flt: str | None) -> None:
    """Run the SQL QUERY (DuckDB's dialect) over capture FILEs."""
    if fmt == "parquet" and out == "-" and sys.stdout.isatty():
        usage_error("Parquet is binary: give -o FILE (or redirect stdout)")
    rel = run(lambda: _relation(query, list(files), flt), files[0])
    run(lambda: _emit(rel, fmt, out))


def _relation(query: str, files: list[str], flt: str | None) -> Any:
    from kcap.export.sql import sql as run_sql

    try:
        return run_sql(query, files, filter=flt)
    except Exception as exc:
        from kcap.export.sql import SqlError

        if isinstance(exc, SqlError):
            usage_error(f"sql: {exc}")
        raise


def _emit(rel: Any, fmt: str, out: str) -> None:
    from kcap.export.sql import SqlError, is_duckdb_error

    try:
        # to_arrow_reader in DuckDB 2, fetch_record_batch before
        fetch = getattr(rel, "to_arrow_reader", None) or rel.fetch_record_batch
        _write(fetch(4096), fmt, out)
    except Exception as exc:
        if is_duckdb_error(exc) or type(exc).__module__.startswith("pyarrow"):
            raise SqlError(" ".join(str(exc).split())) from None
        raise


def _write(reader: Any, fmt: str, out: str) -> None:
    with output_file(out) as fh:
        if fmt == "table":
            _table(reader, fh)
            return
        from kcap.export.formats import CsvWriter, JsonLinesWriter, ParquetWriter, dumps, rows

        if fmt == "json":
            first = True
            fh.write(b"[")
            for batch in reader:
                for row in rows(batch):
                    fh.write((b"\n" if first else b",\n") + dumps(row))
                    first = False
            fh.write(b"\n]\n" if not first else b"]\n")
            return
        writer: Any
        if fmt == "csv":
            writer = CsvWriter(fh, reader.schema)
        elif fmt == "jsonl":
            writer = JsonLinesWriter(fh)
        else:
            writer = ParquetWriter(fh, reader.schema)
        try:
            for batch in reader:
                writer.write(batch)
        finally:
            writer.close()


def _table(reader: Any, fh: Any) -> None:
    import io

    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from kcap.export.formats import text_columns

    table = Table(*reader.schema.names, show_edge=False, header_style="bold")
    shown = total = 0
    for batch in reader:
        total += batch.num_rows
        room = TABLE_ROWS - shown
        if room <= 0:
            continue
        cols = text_columns(batch.slice(0, room), nested=False)
        for values in zip(*cols.values()):
            table.add_row(*(Text("" if v is None else str(v)) for v in values))
            shown += 1
    text = io.StringIO()
    Console(
        file=text, width=None if fh is sys.stdout.buffer and sys.stdout.isatty() else 200
    ).print(table)
    fh.write(text.getvalue().encode("utf-8", "backslashreplace"))
    if total > shown:
        fh.write(f"({total - shown:,} more rows not shown; use --format csv)\n".encode())
    elif total == 0:
        fh.write(b"(no rows)\n")


__all__ = ["sql"]
