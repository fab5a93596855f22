"""``kcap info``: what a capture holds, as tables (or JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from kcap.cli.diagnostics import WarningPrinter, fail
from kcap.cli.escape import text_escape

if TYPE_CHECKING:
    from rich.table import Table

    from kcap.info import CaptureSummary

EPILOG = """\b
Examples:
  kcap info incident.kcap
  kcap info incident.kcap --json | jq .names
  kcap info incident.kcap --json | jq '.replayed_events, .errors'

\b
Exit status:
  0  the capture was read to its end (events that could not be decoded are counted
     under "Non-fatal errors" and warned about on stderr)
  1  the capture cannot be read, or is damaged part-way (the summary then covers what
     was read before the damage, and the error follows on stderr), or the output cannot
     be written
  2  bad command line
"""

#: Hosts listed by name in the table (all are in --json).
_MAX_HOSTS = 10


def _hosts(hosts: dict[str, int]) -> str:
    from kcap.cli.tables import cell, count

    shown = ", ".join(cell(h) for h in list(hosts)[:_MAX_HOSTS]) or "-"
    more = len(hosts) - _MAX_HOSTS
    return shown if more <= 0 else f"{shown} and {count(more)} more (see --json)"


def _overview(s: CaptureSummary) -> Table:
    from kcap.cli.tables import count, key_values, size

    rows = [
        ("File", text_escape(s.path)),
        ("Format version", text_escape(s.format_version)),
        ("Writer generation", s.generation),
        ("Byte order", s.byte_order),
        ("Flags", f"0x{s.flags:x}"),
        ("Compressed size", size(s.compressed_size)),
        ("Raw size", size(s.raw_size)),
        ("Compression ratio", "-" if s.ratio is None else f"{s.ratio:.2f} : 1"),
        ("zstd frame terminated", "yes" if s.terminated else "no (the writer did not finish)"),
        (
            "Events",
            f"{count(s.events)} ({count(s.replayed_events)} replayed, "
            f"{count(s.state_events)} state-only"
            + (f", {count(s.errors)} skipped" if s.errors else "")
            + ")",
        ),
        ("Handles (snapshot)", count(s.handles)),
        ("Processes", f"{count(s.processes)} (events carrying process state)"),
        ("Hosts", _hosts(s.hosts)),
    ]
    t = s.time
    # Timestamps are the stored text, which a damaged capture may fill with anything.
    for label, value in (
        ("First timestamp", t.first),
        ("Last timestamp", t.last),
        ("Earliest (min)", t.earliest),
        ("Latest (max)", t.latest),
    ):
        rows.append((label, "-" if value is None else text_escape(value)))
    if t.unknown:
        rows.append(("Unknown timestamps", f"{count(t.unknown)} (zero time or unparsable)"))
    q = s.seq
    if q.first is not None and q.last is not None and q.min is not None and q.max is not None:
        rows.append(
            (
                "Sequence numbers",
                f"first {count(q.first)}, last {count(q.last)}, "
                f"min {count(q.min)}, max {count(q.max)}",
            )
        )
    rows.append(("Non-fatal errors", f"{count(s.errors)} (events replay skips)"))
    if s.fatal is not None:
        rows.append(("Read stopped early", "yes: " + text_escape(" ".join(str(s.fatal).split()))))
    return key_values("Capture", rows)


def summary_tables(s: CaptureSummary) -> list[Table]:
    from kcap.cli.tables import counts

    tables = [_overview(s)]
    if s.names:
        tables.append(counts("Events by recorded name", "Name", s.names))
    if s.types != s.names:
        # Some writers recorded N/A or raw bytes as names: the type ids tell what they are.
        tables.append(counts("Events by type (from the type ids)", "Type", s.types))
    if s.categories:
        tables.append(counts("Events by category", "Category", s.categories))
    if s.handle_types:
        tables.append(
            counts("Handles by type", "Type", s.handle_types, column="Handles", share=False)
        )
    return tables


@click.command(epilog=EPILOG)
@click.argument("file", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def info(file: str, as_json: bool) -> None:
    """Summarize capture FILE: format, sizes, events, processes, time range, event names.

    Reads the capture once, decoding every event as replay does (without rebuilding process
    state), so "Non-fatal errors" counts exactly the events replay would skip. Timestamps are
    shown as stored; first/last are in file order, min/max by instant, since file order is not
    time order. JSON has the same figures, with every name in full.
    """
    from kcap.cli import output
    from kcap.cli.render import json_bytes
    from kcap.cli.tables import print_tables
    from kcap.errors import KcapError
    from kcap.info import summarize

    warnings = WarningPrinter()
    try:
        summary = summarize(file, on_error=warnings)
    except KcapError as exc:
        fail(exc, file)
    warnings.finish()
    if as_json:
        out = output.stdout_bytes()
        out.write(json_bytes(summary.to_dict(), indent=2) + b"\n")
        out.flush()
    else:
        print_tables(summary_tables(summary))
    if summary.fatal is not None:
        fail(summary.fatal, file)


__all__ = ["info", "summary_tables"]
