"""The export and analysis subcommands, registered together by `kcap.cli.main`."""

from __future__ import annotations

import click

from kcap.cli.convert_cmd import convert

COMMANDS: tuple[click.Command, ...] = (convert,)

__all__ = ["COMMANDS"]
