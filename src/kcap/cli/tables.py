"""Tables on standard output (``kcap info``, the capture statistics): one look everywhere.

* Numbers have one format: counts and sizes with thousands separators (``73,084``,
  ``2,002,429 bytes (2 MB)``), whoever produced them.
* On a terminal the tables are drawn by rich at the terminal's width, styled. Into a pipe or a
  file they are plain text, never wrapped (each row stays one line for ``grep``), and no line
  carries trailing padding.
* A cell shows at most `MAX_CELL` characters (the rest is counted, ``--json`` has it all), so
  a hostile capture with megabyte-long names cannot make a table of gigabytes.

Tables are rendered to a string and then written through `kcap.cli.output`, so a closed pipe or
a full disk is handled there like any other output (rich itself would exit with status 1).
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from kcap.cli import output
from kcap.cli.escape import text_escape

if TYPE_CHECKING:
    from rich.box import Box
    from rich.table import Table

    from kcap.writer import WriterStats

#: Longest text shown in one cell.
MAX_CELL = 1000
#: The console width used off a terminal: wide enough that no row wraps.
_UNWRAPPED = 1 << 20
_TRAILING_SPACE = re.compile(r"[ \t]+$", re.MULTILINE)


def count(n: int) -> str:
    """A count, as every table shows one: ``12,345``."""
    return f"{n:,}"


def size(n: int) -> str:
    """A size in bytes, exact and readable: ``2,002,429 bytes (2 MB)``."""
    return f"{count(n)} bytes ({human_size(n)})"


def human_size(n: int) -> str:
    """SI units as upstream prints them (``83 kB``, ``1.2 MB``)."""
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        n_f = n / 1000
        if n_f < 1000 or unit == "PB":
            text = f"{n_f:.1f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
        n = int(n_f)
    return f"{n} B"


def writer_rows(stats: WriterStats) -> list[tuple[str, str]]:
    """A writer's "Capture Statistics", in upstream's order (and a little more)."""
    out = [
        ("File", stats.file),
        ("Events written", count(stats.events)),
        ("Bytes written", count(stats.bytes)),
        ("Processes written", count(stats.processes)),
        ("Handles written", count(stats.handles)),
    ]
    if stats.state_events:
        out.append(("State events written", count(stats.state_events)))
    if stats.write_errors:
        out.append(("Write errors", count(stats.write_errors)))
    if stats.lost_events:
        out.append(("Events lost", count(stats.lost_events)))
    n = stats.notes
    if n.converted_params or n.dropped_params:
        adapted = f"{count(n.converted_params)} converted, {count(n.dropped_params)} left out"
        out.append(("Parameters adapted", adapted))
    if n.dropped_args or n.dropped_envs:
        cut = f"{count(n.dropped_args)} arguments, {count(n.dropped_envs)} env vars"
        out.append(("Process fields cut", cut))
    if stats.capture_size is not None:
        out.append(("Capture size", human_size(stats.capture_size)))
    return out


def number_cell(value: object) -> str:
    """A cell from elsewhere (an int, or a string of digits) in the table number format."""
    if isinstance(value, int) and not isinstance(value, bool):
        return count(value)
    text = str(value)
    return count(int(text)) if text.isdigit() else text


def cell(text: str) -> str:
    """Text from a capture, escaped onto one line and cut to `MAX_CELL` characters."""
    shown = text_escape(text) or "(empty)"
    if len(shown) <= MAX_CELL:
        return shown
    return f"{shown[:MAX_CELL]}… ({count(len(shown) - MAX_CELL)} more characters)"


def _box() -> Box:
    """rich's SIMPLE box (a rule under the header, nothing else), in dashes where the output
    encoding has no box-drawing characters (rich would substitute a box with borders)."""
    from rich import box

    if output.text_encoding().lower().replace("_", "-").startswith("utf"):
        return box.SIMPLE
    return box.Box("    \n    \n -- \n    \n    \n -- \n    \n    \n", ascii=True)


def key_values(title: str, rows: Iterable[tuple[str, str]]) -> Table:
    """A two-column table of names and values (values are shown as given)."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, box=_box(), show_header=False, title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    for name, value in rows:
        table.add_row(Text(name), Text(value))
    return table


def counts(
    title: str, label: str, values: Mapping[str, int], *, column: str = "Events", share: bool = True
) -> Table:
    """A histogram: one row per value with its count and (``share``) its share of the total."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=title, box=_box(), title_justify="left", pad_edge=False)
    table.add_column(label)
    table.add_column(column, justify="right")
    if share:
        table.add_column("Share", justify="right")
    total = sum(values.values())
    for name, n in values.items():
        row = [Text(cell(name)), Text(count(n))]
        if share:
            row.append(Text(f"{100 * n / total:.1f}%" if total else "-"))
        table.add_row(*row)
    return table


class _Target(io.StringIO):
    """Collects the rendering; tells rich the encoding of the real output (for its box
    characters: plain ASCII ones where the output cannot show the others)."""

    def __init__(self, encoding: str) -> None:
        super().__init__()
        self._encoding = encoding

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._encoding


def render(tables: Sequence[Table]) -> str:
    """The text of ``tables`` as they are shown on this standard output (see module docs)."""
    from rich.console import Console

    terminal = output.is_terminal()
    target = _Target(output.text_encoding())
    console = Console(
        file=target,
        force_terminal=terminal,
        width=shutil.get_terminal_size().columns if terminal else _UNWRAPPED,
        highlight=False,
        markup=False,
        emoji=False,
    )
    for table in tables:
        console.print(table)
    text = target.getvalue()
    return text if terminal else _TRAILING_SPACE.sub("", text)


def print_tables(tables: Sequence[Table]) -> None:
    output.write_text(render(tables))


__all__ = [
    "MAX_CELL",
    "cell",
    "count",
    "counts",
    "key_values",
    "number_cell",
    "print_tables",
    "render",
    "size",
]
