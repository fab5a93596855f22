"""The ``kcap`` command: a click group of subcommands, one module each.

Start-up stays short (``kcap --version`` and ``kcap --help`` in well under 100 ms): this module
and the command modules import click and kcap's small CLI helpers only; each command imports
the decoder, rich and the rest when it runs (`benchmarks/bench_cli.py` measures it).
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click

from kcap import __version__
from kcap.cli import output
from kcap.cli.diagnostics import EXIT_INTERNAL, EXIT_OK, error_message, exit_code
from kcap.cli.filaments_cmd import filaments
from kcap.cli.info_cmd import info
from kcap.cli.replay_cmd import replay
from kcap.errors import KcapError


class KcapGroup(click.Group):
    """Turns any `KcapError` a subcommand lets through into the one-line error and exit code,
    and a standard output that fails into `kcap.cli.output`'s quiet exit or error line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KcapError as exc:
            click.echo(error_message(exc), err=True)
            ctx.exit(exit_code(exc))
        except (output.OutputFailure, BrokenPipeError) as exc:
            ctx.exit(output.report_failure(exc))


EPILOG = """\b
Examples:
  kcap info incident.kcap
  kcap replay incident.kcap --limit 20
  kcap replay incident.kcap "kevt.name = 'CreateProcess'" --format jsonl

\b
Exit status:
  0  success (also when the reader of the output stops early, as "| head" does)
  1  a capture cannot be read or is damaged, or the output cannot be written
  2  bad command line or filter expression
  70 an internal error of kcap (please report it)

Run "kcap COMMAND --help" for the options, examples and exit statuses of a command."""


@click.group(
    cls=KcapGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG,
)
@click.version_option(
    __version__, "-V", "--version", prog_name="kcap", message="%(prog)s %(version)s"
)
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Read, replay and capture kernel event captures in the Fibratus .kcap format.

    Captures of every Fibratus writer generation (2020 onwards) are read; process and handle
    state is rebuilt from the capture on replay.
    """
    if ctx.invoked_subcommand is None:  # bare ``kcap``: the help, and success
        click.echo(ctx.get_help())
        ctx.exit(EXIT_OK)


cli.add_command(info)
cli.add_command(replay)
cli.add_command(filaments)
for _command in __import__("kcap.cli.analysis_cmds", fromlist=["COMMANDS"]).COMMANDS:
    cli.add_command(_command)

# Commands written in their own modules; the CLI works without them.
try:
    from kcap.cli.fields_cmd import fields  # type: ignore[import-not-found,unused-ignore]

    cli.add_command(fields)
except ImportError:
    pass
try:
    from kcap.cli.detect_cmd import detect  # type: ignore[import-not-found,unused-ignore]

    cli.add_command(detect)
except ImportError:
    pass
try:
    from kcap.cli.capture_cmd import capture  # type: ignore[import-not-found,unused-ignore]

    cli.add_command(capture)
except ImportError:
    pass


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point of the ``kcap`` script and of ``python -m kcap``."""
    output.install()
    try:
        try:
            cli.main(args=argv, prog_name="kcap")
        finally:
            if sys.stdout is not None:
                sys.stdout.flush()  # here, where a failure is reported, rather than at exit
    except SystemExit as exc:
        code = exc.code
    except output.OutputFailure as exc:  # outside a command: help, version, usage text
        code = output.report_failure(exc)
    except Exception as exc:  # a bug in kcap, not bad input: say so without a traceback
        if os.environ.get("KCAP_DEBUG"):
            raise
        click.echo(
            f"kcap: internal error: {type(exc).__name__}: {exc} "
            "(set KCAP_DEBUG=1 to see the traceback, and please report it)",
            err=True,
        )
        code = EXIT_INTERNAL
    else:
        code = EXIT_OK
    sys.exit(code)


__all__ = ["cli", "main"]
