"""The ``kcap`` command: a click group of subcommands, one module each."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from kcap import __version__
from kcap.cli.diagnostics import EXIT_INTERNAL, error_message, exit_code, silence_stdout
from kcap.cli.info_cmd import info
from kcap.cli.replay_cmd import replay
from kcap.errors import KcapError


class KcapGroup(click.Group):
    """Turns any `KcapError` a subcommand lets through into the one-line error and exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KcapError as exc:
            click.echo(error_message(exc), err=True)
            ctx.exit(exit_code(exc))
        except BrokenPipeError:
            silence_stdout()
            ctx.exit(0)


@click.group(
    cls=KcapGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  kcap info incident.kcap
  kcap replay incident.kcap --limit 20
  kcap replay incident.kcap "kevt.name = 'CreateProcess'" --format jsonl

Run "kcap COMMAND --help" for the options of a command.""",
)
@click.version_option(
    __version__, "-V", "--version", prog_name="kcap", message="%(prog)s %(version)s"
)
def cli() -> None:
    """Read, replay and capture kernel event captures in the Fibratus .kcap format.

    Captures of every Fibratus writer generation (2020 onwards) are read; process and handle
    state is rebuilt from the capture on replay.
    """


cli.add_command(info)
cli.add_command(replay)
for _command in __import__("kcap.cli.analysis_cmds", fromlist=["COMMANDS"]).COMMANDS:
    cli.add_command(_command)

# Commands written in their own modules; the CLI works without them.
try:
    from kcap.cli.fields_cmd import fields  # type: ignore[import-not-found,unused-ignore]

    cli.add_command(fields)
except ImportError:
    pass
try:
    from kcap.cli.capture_cmd import capture  # type: ignore[import-not-found,unused-ignore]

    cli.add_command(capture)
except ImportError:
    pass


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``kcap`` script and of ``python -m kcap``."""
    try:
        cli.main(args=argv, prog_name="kcap")
    except Exception as exc:  # a bug in kcap, not bad input: say so without a traceback
        if os.environ.get("KCAP_DEBUG"):
            raise
        click.echo(
            f"kcap: internal error: {type(exc).__name__}: {exc} "
            "(set KCAP_DEBUG=1 to see the traceback, and please report it)",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)


__all__ = ["cli", "main"]
