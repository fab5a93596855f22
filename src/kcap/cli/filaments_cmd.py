"""``kcap filaments``: the filaments found on the search path, with their descriptions."""

from __future__ import annotations

import json

import click

from kcap.cli.diagnostics import fail
from kcap.errors import FilamentError

EPILOG = """\b
Examples:
  kcap filaments
  kcap filaments --filament-path ~/fibratus/filaments
  kcap replay incident.kcap -f top_registry_keys,20
  kcap filaments --json | jq -r '.[].name'

\b
The search path is: each --filament-path DIR in order, then the directories in
$KCAP_FILAMENT_PATH (separated by ':'), then the filaments bundled with kcap. A name found
in an earlier directory hides the same name further on ("shadowed").

\b
Exit status:
  0  the filaments were listed (none found is not an error)
  1  the output cannot be written
  2  bad command line
"""


@click.command("filaments", epilog=EPILOG)
@click.option(
    "--filament-path",
    "filament_path",
    multiple=True,
    metavar="DIR",
    help="Look for filaments in DIR first (repeatable).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of tables.")
def filaments(filament_path: tuple[str, ...], as_json: bool) -> None:
    """List the filaments (Python scripts for -f) with the first line of their docstring.

    Every regular file ending in .py in a directory of the search path is listed;
    sub-directories are helper packages (such as utils/, which holds dotdictify).
    """
    from kcap.filaments import Table, discover, search_path

    try:
        path = search_path(filament_path)
        found = discover(path)
    except FilamentError as exc:
        fail(exc)
    if as_json:
        rows = [
            {
                "name": f.file.name,
                "description": f.description,
                "path": str(f.file.path),
                "shadowed_by": None if f.shadowed_by is None else str(f.shadowed_by),
            }
            for f in found
        ]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for i, directory in enumerate(path):
        in_dir = [f for f in found if f.file.directory == directory]
        if i:
            click.echo()
        click.echo(f"{directory}:")
        if not in_dir:
            click.echo("  (no filaments)")
            continue
        table = Table()
        table.add_header(["Name", "Description"])
        for f in in_dir:
            note = f" (shadowed by {f.shadowed_by})" if f.shadowed_by is not None else ""
            table.add_row([f.file.name, f.description + note])
        click.echo(table.render())


__all__ = ["filaments"]
