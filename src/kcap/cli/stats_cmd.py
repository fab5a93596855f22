"""``kcap stats``: what a capture holds, counted (the ``capinfos`` / ``tshark -z`` of kcap)."""

from __future__ import annotations

from typing import Any

import click

from kcap.cli.analysis_support import run, split_inputs
from kcap.cli.escape import text_escape
from kcap.cli.output import stdout_bytes

EPILOG = """\b
Examples:
  kcap stats incident.kcap
  kcap stats incident.kcap --top 25
  kcap stats incident.kcap "ps.name = 'svchost.exe'"
  kcap stats incident.kcap --json | jq .kinds

\b
Counts events (as replay emits them: rundowns excluded) per kind, category, process and
second, and the top network endpoints (with bytes), files and registry keys. --json gives
every table in full, the per-second series included.

\b
Exit status:
  0  success
  1  a capture cannot be read, or the output cannot be written
  2  bad command line or filter expression
"""


@click.command(epilog=EPILOG)
@click.argument("inputs", nargs=-1, required=True, metavar="FILE... [EXPR]...")
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Rows of each top-N table.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.option(
    "-f",
    "--filter",
    "flt",
    metavar="EXPR",
    default=None,
    help="Filter expression (instead of EXPR words).",
)
def stats(inputs: tuple[str, ...], top: int, as_json: bool, flt: str | None) -> None:
    """Statistics of capture FILEs: events per kind, process, category and second; top
    talkers (network endpoints), files and registry keys."""
    from kcap.analysis.stats import compute

    files, expr = split_inputs(inputs, flt)
    result = run(lambda: compute(files, filter=expr or None, top=top), files[0])
    if as_json:
        from kcap.cli.render import json_bytes  # the model, loaded when needed

        stdout_bytes().write(json_bytes(result.as_dict(), indent=2) + b"\n")
        return
    _print(result, top)


def _print(s: Any, top: int) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    rate = s.events / s.duration_s if s.duration_s > 0 else 0.0
    console.print(Text(f"Files      {', '.join(s.files)}"))
    console.print(Text(f"Events     {s.events:,}"))
    console.print(Text(f"First      {s.first or '-'}"))
    console.print(Text(f"Last       {s.last or '-'}"))
    console.print(Text(f"Duration   {s.duration_s:,.3f} s ({rate:,.0f} events/s)"))
    if s.seconds:
        busiest = max(s.seconds, key=lambda r: r["events"])
        console.print(Text(f"Busiest s  {busiest['second']} ({busiest['events']:,} events)"))

    def table(title: str, headers: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        t = Table(*headers, title=title, title_justify="left", show_edge=False)
        counted = [h in ("Events", "Bytes") for h in headers]
        for r in rows:
            cells = ("" if v is None else f"{v:,}" if c else str(v) for v, c in zip(r, counted))
            t.add_row(*(Text(text_escape(cell)) for cell in cells))
        console.print(t)

    share = (lambda n: f"{100 * n / s.events:.1f}%") if s.events else (lambda n: "-")
    table(
        "Events by kind",
        ("Kind", "Events", "Share"),
        [(r["name"], r["events"], share(r["events"])) for r in s.kinds],
    )
    table(
        "Events by category",
        ("Category", "Events", "Share"),
        [(r["category"], r["events"], share(r["events"])) for r in s.categories],
    )
    table(
        f"Top {top} processes",
        ("PID", "Process", "Events"),
        [(r["pid"], r["ps_name"], r["events"]) for r in s.processes],
    )
    table(
        f"Top {top} endpoints",
        ("Address", "Port", "Events", "Bytes"),
        [(r["net_dip"], r["net_dport"], r["events"], r["bytes"]) for r in s.endpoints_top],
    )
    table(
        f"Top {top} files", ("File", "Events"), [(r["file_path"], r["events"]) for r in s.files_top]
    )
    table(
        f"Top {top} registry keys",
        ("Key", "Events"),
        [(r["registry_path"], r["events"]) for r in s.registry_top],
    )


__all__ = ["stats"]
