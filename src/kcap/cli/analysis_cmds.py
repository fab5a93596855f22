"""The export and analysis subcommands, registered together by `kcap.cli.main`."""

from __future__ import annotations

import click

from kcap.cli.convert_cmd import convert
from kcap.cli.handles_cmd import handles
from kcap.cli.ps_cmd import ps
from kcap.cli.report_cmd import report
from kcap.cli.sql_cmd import sql
from kcap.cli.stats_cmd import stats

COMMANDS: tuple[click.Command, ...] = (convert, sql, ps, handles, stats, report)

__all__ = ["COMMANDS"]
