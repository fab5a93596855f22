"""``kcap ps``: the processes alive at a moment of a capture, as a list or a tree."""

from __future__ import annotations

import sys
from typing import Any

import click

from kcap.cli.analysis_support import run
from kcap.cli.escape import text_escape
from kcap.cli.output import stdout_bytes

EPILOG = """\b
Examples:
  kcap ps incident.kcap                       # processes alive at the end of the capture
  kcap ps incident.kcap --tree                # the same as a process tree
  kcap ps incident.kcap --at 2022-08-15T21:56:40Z --tree
  kcap ps incident.kcap --at +10              # 10 seconds after the first event
  kcap ps incident.kcap --json

\b
The state is what replay rebuilds from the capture (rundowns, process creation and
termination events) after every record up to --at. A process whose parent is not alive
then is a root of the tree.

\b
Exit status:
  0  success
  1  the capture cannot be read, or the output cannot be written
  2  bad command line
"""


def _at_option(fn: Any) -> Any:
    return click.option(
        "--at",
        "at",
        metavar="TIME",
        default=None,
        help="RFC 3339 time (UTC when no zone is given) or +SECONDS after the first event; "
        "default: the end of the capture.",
    )(fn)


@click.command(epilog=EPILOG)
@click.argument("file", metavar="FILE")
@_at_option
@click.option("--tree", "as_tree", is_flag=True, help="Show the processes as a tree.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object (a forest with --tree).")
def ps(file: str, at: str | None, as_tree: bool, as_json: bool) -> None:
    """List the processes of capture FILE alive at a moment: pid, ppid, name, start, user,
    command line."""
    from kcap.analysis.snapshot import At, state_at, tree

    moment = run(lambda: None if at is None else At.parse(at))
    if moment is not None and moment.ns is None and moment.after_s is None:
        raise click.UsageError("bad --at")
    snap = run(lambda: state_at(file, moment), file)
    procs = sorted(snap.processes, key=lambda p: p.pid)
    if as_json:
        doc: dict[str, Any] = {"file": file, "at": None if snap.at is None else snap.at.text}
        if as_tree:
            doc["tree"] = [_node_json(n) for n in tree(procs)]
        else:
            doc["processes"] = [_proc_json(p) for p in procs]
        from kcap.cli.render import json_bytes  # the model, loaded when needed

        stdout_bytes().write(json_bytes(doc, indent=2) + b"\n")
        return
    when = (
        "end of capture" if at is None else (snap.at.text if snap.at else "before the first event")
    )
    click.echo(f"{len(procs)} processes alive at {when}")
    if as_tree:
        for root in tree(procs):
            _print_tree(root, "", True, True)
    else:
        _print_table(procs)


def _proc_json(p: Any) -> dict[str, Any]:
    from kcap.analysis.snapshot import user_of

    return {
        "pid": p.pid,
        "ppid": p.ppid,
        "name": p.name,
        "exe": p.exe,
        "cmdline": p.cmdline,
        "start": p.start_time.text if p.start_time.valid and p.start_time.ns > 0 else None,
        "user": user_of(p),
        "uuid": p.uuid,
    }


def _node_json(n: Any) -> dict[str, Any]:
    doc = _proc_json(n.process)
    doc["children"] = [_node_json(c) for c in n.children]
    return doc


def _line(p: Any) -> str:
    from kcap.analysis.snapshot import user_of

    start = p.start_time.text if p.start_time.valid and p.start_time.ns > 0 else "-"
    user = user_of(p) or "-"
    return text_escape(f"{p.pid} {p.name}  start {start}  user {user}  {p.cmdline}".rstrip())


def _print_tree(node: Any, prefix: str, last: bool, root: bool) -> None:
    branch = "" if root else ("└─ " if last else "├─ ")
    click.echo(prefix + branch + _line(node.process))
    child_prefix = prefix if root else prefix + ("   " if last else "│  ")
    for i, child in enumerate(node.children):
        _print_tree(child, child_prefix, i == len(node.children) - 1, False)


def _print_table(procs: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from kcap.analysis.snapshot import user_of

    table = Table("PID", "PPID", "NAME", "START", "USER", "CMDLINE", show_edge=False)
    for p in procs:
        start = p.start_time.text if p.start_time.valid and p.start_time.ns > 0 else ""
        table.add_row(
            *(
                Text(text_escape(str(v)))
                for v in (p.pid, p.ppid, p.name, start, user_of(p), p.cmdline)
            )
        )
    Console(width=None if sys.stdout.isatty() else 250).print(table)


__all__ = ["ps"]
