"""The export and analysis subcommands, registered together by `kcap.cli.main`."""

from __future__ import annotations

import click

from kcap.cli.convert_cmd import convert
from kcap.cli.sql_cmd import sql

COMMANDS: tuple[click.Command, ...] = (convert, sql)

__all__ = ["COMMANDS"]
