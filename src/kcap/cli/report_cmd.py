"""``kcap report``: a self-contained HTML triage page for a capture."""

from __future__ import annotations

import click

from kcap.cli.analysis_support import output_file, run

EPILOG = """\b
Examples:
  kcap report incident.kcap -o report.html
  kcap report incident.kcap -o report.html --top 25

\b
The page needs no network access to be viewed: summary, process tree with each process's
activity, event-rate chart, top files, registry keys and endpoints, and a process's events
one click away (its first 200).

\b
Exit status:
  0  the report was written
  1  the capture cannot be read, or the report cannot be written
  2  bad command line
"""


@click.command(epilog=EPILOG)
@click.argument("file", metavar="FILE")
@click.option("-o", "--output", "out", required=True, metavar="OUT", help="HTML file to write.")
@click.option(
    "--top",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Rows of each top-N table.",
)
def report(file: str, out: str, top: int) -> None:
    """Write a triage report of capture FILE as one HTML page."""
    from kcap.analysis.report import collect, render

    page = run(lambda: render(collect(file, top)), file)
    with output_file(out) as fh:
        fh.write(page.encode("utf-8"))
    click.echo(f"wrote {out}", err=True)


__all__ = ["report"]
