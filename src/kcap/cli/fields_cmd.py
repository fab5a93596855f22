"""`kcap fields [--json]`: every filter field with its type, description and an example."""

from __future__ import annotations

import json

import click

EPILOG = """\b
Examples:
  kcap fields
  kcap fields --json | jq -r '.[] | select(.type == "string") | .field'

\b
Exit status:
  0  the list was printed
  1  the output cannot be written
  2  bad command line
"""


@click.command("fields", epilog=EPILOG)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array instead of a table.")
@click.option(
    "--all",
    "show_all",
    is_flag=True,
    help="Also list the fields a capture cannot provide (filters reject them), with the reason.",
)
def fields(as_json: bool, show_all: bool) -> None:
    """List the fields filter expressions accept, with type, description and an example.

    evt. is accepted as an alias of kevt.

    \b
    Examples:
      kcap fields
      kcap fields --all --json

    Exit status: 0.
    """
    from kcap.filter.catalog import field_catalog

    rows = [f for f in field_catalog() if show_all or f.available]
    if as_json:
        click.echo(json.dumps([f.as_dict() for f in rows], indent=2, ensure_ascii=False))
        return
    for f in rows:
        click.echo(f"{f.name}  ({f.type})")
        desc = f.description or "(extension)"
        if not f.available:
            desc += f" [not available in replay: {f.unavailable_reason}]"
        click.echo(f"    {desc}")
        if f.example:
            click.echo(f"    e.g. {f.example}")
