"""``kcap handles``: the handles open at a moment of a capture."""

from __future__ import annotations

import sys
from typing import Any

import click

from kcap.cli.analysis_support import run
from kcap.cli.escape import text_escape
from kcap.cli.output import stdout_bytes

EPILOG = """\b
Examples:
  kcap handles incident.kcap                  # handles open at the end of the capture
  kcap handles incident.kcap --pid 4242
  kcap handles incident.kcap --pid 4242 --type File --at +30
  kcap handles incident.kcap --json

\b
The state is the capture's handle snapshot updated by every CreateHandle and CloseHandle up
to --at, as replay rebuilds it.

\b
Exit status:
  0  success
  1  the capture cannot be read, or the output cannot be written
  2  bad command line
"""


@click.command(epilog=EPILOG)
@click.argument("file", metavar="FILE")
@click.option("--pid", type=int, default=None, help="Only the handles of this process.")
@click.option(
    "--type",
    "htype",
    default=None,
    metavar="TYPE",
    help="Only handles of this object type (File, Key...).",
)
@click.option(
    "--at",
    "at",
    metavar="TIME",
    default=None,
    help="RFC 3339 time (UTC when no zone is given) or +SECONDS after the first event; "
    "default: the end of the capture.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
def handles(file: str, pid: int | None, htype: str | None, at: str | None, as_json: bool) -> None:
    """List the handles open in capture FILE at a moment: pid, process, type, handle value,
    object address, name."""
    from kcap.analysis.snapshot import At, state_at

    moment = run(lambda: None if at is None else At.parse(at))
    snap = run(lambda: state_at(file, moment), file)
    names = {p.pid: p.name for p in snap.processes}
    rows = [
        h
        for h in snap.handles
        if (pid is None or h.pid == pid) and (htype is None or h.type.lower() == htype.lower())
    ]
    rows.sort(key=lambda h: (h.pid, h.num))
    if as_json:
        doc: dict[str, Any] = {
            "file": file,
            "at": None if snap.at is None else snap.at.text,
            "handles": [
                {
                    "pid": h.pid,
                    "process": names.get(h.pid),
                    "type": h.type,
                    "num": h.num,
                    "object": h.object,
                    "name": h.name,
                }
                for h in rows
            ],
        }
        from kcap.cli.render import json_bytes  # the model, loaded when needed

        stdout_bytes().write(json_bytes(doc, indent=2) + b"\n")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    when = (
        "end of capture" if at is None else (snap.at.text if snap.at else "before the first event")
    )
    click.echo(f"{len(rows)} handles open at {when}")
    table = Table("PID", "PROCESS", "TYPE", "HANDLE", "OBJECT", "NAME", show_edge=False)
    for h in rows:
        cells = (h.pid, names.get(h.pid, ""), h.type, f"{h.num:#x}", f"{h.object:#x}", h.name)
        table.add_row(*(Text(text_escape(str(c))) for c in cells))
    Console(width=None if sys.stdout.isatty() else 250).print(table)


__all__ = ["handles"]
