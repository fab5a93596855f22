"""``kcap convert``: captures to Parquet, CSV, JSON lines, Timesketch or ECS documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from kcap.cli.analysis_support import Progress, output_file, run, split_inputs, usage_error
from kcap.cli.diagnostics import EXIT_ERROR, WarningPrinter

FORMATS = ("parquet", "csv", "jsonl", "timesketch", "ecs")
_BY_SUFFIX = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

EPILOG = """\b
Examples:
  kcap convert incident.kcap -o incident.parquet
  kcap convert a.kcap b.kcap -o events.csv "kevt.category = 'file'"
  kcap convert incident.kcap -o - --to jsonl --columns seq,name,timestamp,ps_name
  kcap convert incident.kcap -o timeline.jsonl --to timesketch
  kcap convert incident.kcap -o ecs.ndjson --to ecs

\b
The columns are those of docs/schema.md (kcap's Arrow schema, versioned); --columns keeps
some of them (header columns alone decode no event parameters, which is much faster).
Several captures go into one output, in the order given, with their file name in the
"file" column.

\b
Exit status:
  0  every event was converted (events that could not be decoded are skipped with a
     warning)
  1  a capture cannot be read or is damaged part-way (every complete event before the
     damage is still written, and the other captures too), or the output cannot be written
  2  bad command line or filter expression
"""


@click.command(epilog=EPILOG)
@click.argument("inputs", nargs=-1, required=True, metavar="FILE... [EXPR]...")
@click.option(
    "-o", "--output", "out", required=True, metavar="OUT", help="File to write (- for stdout)."
)
@click.option(
    "--to",
    "fmt",
    type=click.Choice(FORMATS),
    default=None,
    help="Output format (default: from the extension of OUT: .parquet .csv .jsonl .ndjson).",
)
@click.option("--columns", metavar="COL,...", default=None, help="Columns to keep (default: all).")
@click.option(
    "-f",
    "--filter",
    "flt",
    metavar="EXPR",
    default=None,
    help="Filter expression (instead of EXPR words).",
)
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Stop after N events.",
)
def convert(
    inputs: tuple[str, ...],
    out: str,
    fmt: str | None,
    columns: str | None,
    flt: str | None,
    limit: int | None,
) -> None:
    """Convert capture FILEs to columnar or timeline formats.

    Words after the capture files are joined into a filter expression: only events for
    which it is true are converted. Timestamps keep nanoseconds, binary values stay binary
    (hex in text formats), and strings that are not valid UTF-8 keep their exact bytes in the
    "raw" column (docs/schema.md).
    """
    files, expr = split_inputs(inputs, flt)
    if fmt is None:
        fmt = _BY_SUFFIX.get(Path(out).suffix.lower())
        if fmt is None:
            usage_error(
                f"cannot tell the format of {out!r} from its name: give --to ({', '.join(FORMATS)})"
            )
    export(files, expr, out, fmt, columns, limit)


def export(
    files: list[str], expr: str, out: str, fmt: str, columns: str | None, limit: int | None
) -> None:
    """Write the events of ``files`` to ``out`` (what convert and ``replay --format csv`` do)."""
    warnings = WarningPrinter()
    batches = run(lambda: _open(files, expr, columns, warnings, limit), files[0])
    stats = batches.stats
    progress = Progress("converting")
    with output_file(out) as fh:
        writer = run(lambda: _writer(fmt, fh, batches.schema))
        try:
            for batch in batches:
                writer.write(batch)
                progress.update(stats.events)
        finally:
            writer.close()
            progress.done()
    warnings.finish()
    for path in stats.unterminated:
        click.echo(
            f"kcap: warning: {path}: the capture was not closed (its writer stopped early or is "
            "still writing); converted up to its last flush",
            err=True,
        )
    for exc in stats.fatal:
        click.echo(f"kcap: error: {exc}", err=True)
    if stats.fatal:
        raise click.exceptions.Exit(EXIT_ERROR)


def _open(
    files: list[str], expr: str, columns: str | None, warnings: WarningPrinter, limit: int | None
) -> Any:
    from kcap.export.source import EventBatches

    return EventBatches(
        files, expr or None, columns, on_error=warnings, keep_going=True, limit=limit
    )


def _writer(fmt: str, fh: Any, schema: Any) -> Any:
    from kcap.export.formats import open_writer

    return open_writer(fmt, fh, schema)


__all__ = ["convert", "export"]
