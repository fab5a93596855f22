"""``kcap info``: what a capture holds, as tables (or JSON)."""

from __future__ import annotations

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kcap.cli.diagnostics import WarningPrinter, fail, stdout_bytes
from kcap.cli.render import json_bytes, text_escape
from kcap.cli.tables import human_size
from kcap.errors import KcapError
from kcap.info import CaptureSummary, summarize

EPILOG = """\b
Examples:
  kcap info incident.kcap
  kcap info incident.kcap --json | jq .names

\b
Exit status: 0 for a readable capture, 1 when it cannot be read or is damaged part-way (the
summary then covers the events before the damage, and the error follows on stderr).
"""


def _size(n: int) -> str:
    return f"{n:,} bytes ({human_size(n)})"


def _histogram(title: str, counts: dict[str, int], total: int, label: str) -> Table:
    table = Table(title=title, box=box.SIMPLE, title_justify="left", pad_edge=False)
    table.add_column(label)
    table.add_column("Events", justify="right")
    table.add_column("Share", justify="right")
    for name, n in counts.items():
        share = f"{100 * n / total:.1f}%" if total else "-"
        table.add_row(Text(text_escape(name) or "(empty)"), f"{n:,}", share)
    return table


def _overview(s: CaptureSummary) -> Table:
    table = Table(title="Capture", box=box.SIMPLE, show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")

    def row(name: str, value: str) -> None:
        table.add_row(name, Text(value))

    row("File", text_escape(s.path))
    row("Format version", s.format_version)
    row("Writer generation", s.generation)
    row("Byte order", s.byte_order)
    row("Flags", f"0x{s.flags:x}")
    row("Compressed size", _size(s.compressed_size))
    row("Raw size", _size(s.raw_size))
    ratio = s.ratio
    row("Compression ratio", "-" if ratio is None else f"{ratio:.2f} : 1")
    row("zstd frame terminated", "yes" if s.terminated else "no (the writer did not finish)")
    row(
        "Events",
        f"{s.events:,} ({s.replayed_events:,} replayed, {s.state_events:,} state-only)",
    )
    row("Handles (snapshot)", f"{s.handles:,}")
    row("Processes", f"{s.processes:,} (events carrying process state)")
    row("Hosts", ", ".join(text_escape(h) or "(empty)" for h in s.hosts) or "-")
    t = s.time
    row("First timestamp", t.first or "-")
    row("Last timestamp", t.last or "-")
    row("Earliest (min)", t.earliest or "-")
    row("Latest (max)", t.latest or "-")
    if t.unknown:
        row("Unknown timestamps", f"{t.unknown:,} (zero time or unparsable)")
    q = s.seq
    if q.first is not None:
        row("Sequence numbers", f"first {q.first}, last {q.last}, min {q.min}, max {q.max}")
    row("Non-fatal errors", f"{s.errors:,}")
    if s.fatal is not None:
        row("Read stopped early", "yes: " + " ".join(str(s.fatal).split()))
    return table


def print_summary(console: Console, s: CaptureSummary) -> None:
    console.print(_overview(s))
    console.print(_histogram("Events by recorded name", s.names, s.events, "Name"))
    if s.types != s.names:
        # Some writers recorded N/A or raw bytes as names: the type ids tell what they are.
        console.print(_histogram("Events by type (from the type ids)", s.types, s.events, "Type"))
    console.print(_histogram("Events by category", s.categories, s.events, "Category"))
    if s.handle_types:
        table = Table(title="Handles by type", box=box.SIMPLE, title_justify="left", pad_edge=False)
        table.add_column("Type")
        table.add_column("Handles", justify="right")
        for name, n in s.handle_types.items():
            table.add_row(Text(text_escape(name) or "(empty)"), f"{n:,}")
        console.print(table)


@click.command(epilog=EPILOG)
@click.argument("file", metavar="FILE")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
def info(file: str, as_json: bool) -> None:
    """Summarize capture FILE: format, sizes, events, processes, time range, event names.

    Reads the capture once; on large captures only event headers are decoded (and the process
    section of process events). Timestamps are shown as stored; first/last are in file order,
    min/max by instant, since file order is not time order.
    """
    warnings = WarningPrinter()
    try:
        summary = summarize(file, on_error=warnings)
    except KcapError as exc:
        fail(exc, file)
    warnings.finish()
    out = stdout_bytes()
    if as_json:
        out.write(json_bytes(summary.to_dict(), indent=2) + b"\n")
        out.flush()
    else:
        print_summary(Console(highlight=False), summary)
    if summary.fatal is not None:
        fail(summary.fatal, summary.path)


__all__ = ["info", "print_summary"]
