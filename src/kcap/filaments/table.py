"""The table a filament fills with `add_row` and draws with `render_table`.

The layout is Fibratus's, so that a filament's output can be compared with upstream's byte for
byte (docs/filaments.md, "Tables"): single-line box drawing, upper-cased headers, one space of
padding, a numeric column right-aligned (header included), an optional boxed title, descending
numeric sort and paging. Widths are terminal cells, so East Asian wide characters count twice.

Where upstream misbehaves the table does what upstream evidently meant: a cell it cannot show
(None, bool, bytes, containers) renders as ``<nil>`` instead of crashing, floats and negative
integers show as numbers, the title is shown literally (no ``%`` formatting), and sorting is
stable with non-numeric cells after the numeric ones.
"""

from __future__ import annotations

import datetime
import ipaddress
import math
from collections.abc import Sequence
from typing import TypeVar

from rich.cells import cell_len, chop_cells

#: What a data cell holds once `add_row` has converted it: a number, text, or nothing (None,
#: drawn as ``<nil>``).
Cell = int | float | str | None

NIL = "<nil>"

_T = TypeVar("_T")


def to_cell(value: object) -> Cell:
    """The cell `add_row` stores for one value a filament gave it."""
    if isinstance(value, bool):  # before int: a bool is an int in Python, not in upstream
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        return value
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return str(value)
    return None


def _cell_text(cell: Cell) -> str:
    if cell is None:
        return NIL
    if isinstance(cell, str):
        return cell
    return str(cell)


def _clean(text: str) -> str:
    """Tabs become four spaces and carriage returns disappear, as in upstream's tables."""
    if "\t" in text or "\r" in text:
        text = text.replace("\t", "    ").replace("\r", "")
    return text


def _upper(text: str) -> str:
    """Upper-case per character: a character whose upper case is longer stays as it is
    (``ß`` is not turned into ``SS``), as Go's per-rune mapping does."""
    upper = text.upper()
    if len(upper) == len(text):
        return upper
    return "".join(u if len(u) == 1 else c for c, u in ((c, c.upper()) for c in text))


def _lines(text: str, width: int | None) -> list[str]:
    """The lines of one cell: split at newlines, each hard-wrapped at ``width`` cells."""
    out: list[str] = []
    for line in _clean(text).split("\n"):
        if width is not None and width > 0 and cell_len(line) > width:
            out.extend(chop_cells(line, width))
        else:
            out.append(line)
    return out


def _sort_key(text: str) -> float | None:
    """The number a cell's text reads as for `sort_by`, None when it is not one."""
    if not text or text != text.strip() or "_" in text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return None if math.isnan(value) else value


class Table:
    """Header rows, data rows and the settings the builtins change.

    ``render()`` draws the table; `clear_rows` empties the data rows (what `render_table`
    does after drawing) and leaves headers, title, sort and page size as they are.
    """

    def __init__(self) -> None:
        self.headers: list[list[str]] = []
        self.rows: list[list[Cell]] = []
        self.title = ""
        self.sort_by: str | None = None
        self.page_size = 0
        #: Widest a column may grow, in cells; longer cells wrap (None: no limit).
        self.max_width: int | None = None

    @property
    def columns(self) -> int:
        """How many cells `add_row` expects: the length of the last header row (0 without)."""
        return len(self.headers[-1]) if self.headers else 0

    def add_header(self, names: Sequence[str]) -> None:
        self.headers.append(list(names))

    def add_row(self, cells: Sequence[Cell]) -> None:
        self.rows.append(list(cells))

    def clear_rows(self) -> None:
        self.rows = []

    def sort_column(self) -> int | None:
        """The index of the column named by ``sort_by``, if that names one exactly."""
        if self.sort_by is None or not self.headers:
            return None
        try:
            return self.headers[-1].index(self.sort_by)
        except ValueError:
            return None

    # ------------------------------------------------------------------ rendering

    def render(self) -> str:
        """The table as text, lines joined by newlines, no newline at the end ("" when the
        table has neither headers nor rows)."""
        ncols = max(
            max((len(r) for r in self.headers), default=0),
            max((len(r) for r in self.rows), default=0),
        )
        if ncols == 0:
            return ""
        rows = self._sorted_rows()
        numeric = [
            bool(rows) and all(_is_number(r[i] if i < len(r) else "") for r in rows)
            for i in range(ncols)
        ]
        headers = [[_upper(_clean(h)) for h in _padded(row, ncols)] for row in self.headers]
        texts = [[_cell_text(c) for c in _padded(r, ncols)] for r in rows]
        widths = self._widths(headers, texts, ncols)
        out: list[str] = []
        title = self._title_lines(widths)
        if title:
            inner = sum(widths) + 3 * ncols - 3
            out.append("┌" + "─" * (inner + 2) + "┐")
            out.extend("│ " + _pad_left(line, inner) + " │" for line in title)
        top = _border("├", "┬", "┤", widths) if title else _border("┌", "┬", "┐", widths)
        head = self._head(headers, widths, numeric)
        bottom = _border("└", "┴", "┘", widths)
        out.append(top)
        out.extend(head)
        page = self.page_size
        last = len(texts) - 1
        for i, row in enumerate(texts):
            out.extend(_row_lines(row, widths, numeric))
            if page > 0 and (i + 1) % page == 0 and i != last:
                out.extend((bottom, "", top))
                out.extend(head)
        out.append(bottom)
        return "\n".join(out)

    def _sorted_rows(self) -> list[list[Cell]]:
        col = self.sort_column()
        if col is None:
            return self.rows
        keyed: list[tuple[float, int, list[Cell]]] = []
        rest: list[list[Cell]] = []
        for i, row in enumerate(self.rows):
            key = _sort_key(_cell_text(row[col])) if col < len(row) else None
            if key is None:
                rest.append(row)
            else:
                keyed.append((-key, i, row))
        keyed.sort(key=lambda k: (k[0], k[1]))
        return [row for _, _, row in keyed] + rest

    def _widths(self, headers: list[list[str]], texts: list[list[str]], ncols: int) -> list[int]:
        cap = self.max_width
        widths = []
        for i in range(ncols):
            widest = 0
            for row in (*headers, *texts):
                for line in _clean(row[i]).split("\n"):
                    widest = max(widest, cell_len(line))
            widths.append(widest if cap is None else min(widest, cap))
        return widths

    def _head(self, headers: list[list[str]], widths: list[int], numeric: list[bool]) -> list[str]:
        if not headers:
            return []
        lines: list[str] = []
        for row in headers:
            lines.extend(_row_lines(row, widths, numeric))
        lines.append(_border("├", "┼", "┤", widths))
        return lines

    def _title_lines(self, widths: list[int]) -> list[str]:
        if not self.title:
            return []
        inner = sum(widths) + 3 * len(widths) - 3
        return [line.strip() for line in _lines(self.title, inner)]


def _is_number(cell: object) -> bool:
    return isinstance(cell, int | float) and not isinstance(cell, bool)


def _padded(row: Sequence[_T], n: int) -> list[_T | str]:
    return [*row, *([""] * (n - len(row)))] if len(row) < n else list(row)


def _pad_left(text: str, width: int) -> str:
    return text + " " * max(0, width - cell_len(text))


def _pad_right(text: str, width: int) -> str:
    return " " * max(0, width - cell_len(text)) + text


def _border(left: str, middle: str, right: str, widths: list[int]) -> str:
    return left + middle.join("─" * (w + 2) for w in widths) + right


def _row_lines(row: Sequence[object], widths: list[int], numeric: list[bool]) -> list[str]:
    cells = [_lines(str(text), w) for text, w in zip(row, widths)]
    height = max(len(c) for c in cells)
    out = []
    for k in range(height):
        parts = []
        for cell, width, right in zip(cells, widths, numeric):
            line = cell[k] if k < len(cell) else ""
            parts.append(_pad_right(line, width) if right else _pad_left(line, width))
        out.append("│ " + " │ ".join(parts) + " │")
    return out


__all__ = ["NIL", "Cell", "Table", "to_cell"]
