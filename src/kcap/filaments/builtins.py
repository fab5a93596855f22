"""The functions a filament calls as bare names: configuration, the table, alerts.

They are put into the filament module's globals (docs/filaments.md, "Builtins"), bound to one
`Settings` per run. Upstream's argument rules hold: each takes exactly its positional
arguments (keywords raise), an int argument must be an ``int`` (``bool`` passes), a list
argument a ``list``. Where upstream raised a ``SystemError`` wrapping the real complaint, these
raise the ``TypeError`` or ``ValueError`` itself.

``interval``, ``kfilter``/``set_filter`` configure the run and only count inside ``on_init``;
later calls change nothing (a warning says so once). The table builtins act on the table
whenever they are called. Both API generations' names are always present.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kcap.filaments.alerts import Alert, severity_of, tags_of
from kcap.filaments.table import Table, to_cell
from kcap.model.event import Event


@dataclass
class Settings:
    """What the builtins of one run record, read by the runner."""

    filament: str
    table: Table = field(default_factory=Table)
    interval: int = 1
    filter: str | None = None
    #: True once `columns` was called with a non-empty list inside on_init: the table is
    #: then a redrawn display on a terminal (docs/filaments.md, "Where tables go").
    declared_columns: bool = False
    in_init: bool = False
    #: The hook running now and the event it is handling (for alerts), set by the runner.
    hook: str = ""
    event: Event | None = None
    alerts: Callable[[Alert], Any] = lambda alert: None
    frames: Callable[[str], Any] = lambda text: None
    warn: Callable[[str], Any] = lambda text: None
    _warned: set[str] = field(default_factory=set)

    def warn_once(self, key: str, text: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            self.warn(text)


def _require(value: object, kind: type | tuple[type, ...], what: str, fn: str) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"{fn}(): the argument must be {what}, not {type(value).__name__}")


def make_builtins(s: Settings) -> dict[str, Callable[..., Any]]:
    """The builtins of one run, by the names a filament calls them."""

    def outside_init(fn: str) -> None:
        s.warn_once(
            fn,
            f"filament {s.filament}: {fn}() has an effect only inside on_init; "
            f"the call from {s.hook or 'module level'} was ignored",
        )

    def interval(seconds: int, /) -> None:
        _require(seconds, int, "an integer (whole seconds)", "interval")
        if not s.in_init:
            outside_init("interval")
            return
        s.interval = int(seconds)

    def columns(names: list[Any], /) -> None:
        _require(names, list, "a list of column names", "columns")
        s.table.add_header([n if isinstance(n, str) else "" for n in names])
        if s.in_init and names:
            s.declared_columns = True

    def sort_by(column: str, /) -> None:
        _require(column, str, "a column name (str)", "sort_by")
        s.table.sort_by = column

    def max_rows(n: int, /) -> None:
        _require(n, int, "an integer", "max_rows")
        s.table.page_size = max(0, int(n))

    def title(text: str, /) -> None:
        _require(text, str, "a string", "title")
        s.table.title = text

    def set_filter(expression: str, /) -> None:
        _require(expression, str, "a filter expression (str)", "set_filter")
        if not s.in_init:
            outside_init("set_filter")
            return
        s.filter = expression

    def kfilter(expression: str, /) -> None:
        _require(expression, str, "a filter expression (str)", "kfilter")
        if not s.in_init:
            outside_init("kfilter")
            return
        s.filter = expression

    def add_row(cells: list[Any], /) -> int:
        _require(cells, list, "a list of cells", "add_row")
        expected = s.table.columns
        if len(cells) != expected:
            raise ValueError(
                f"add_row(): the row has {len(cells)} cell(s) but the table has {expected} "
                "column(s)" + ("" if expected else " (call columns() in on_init first)")
            )
        s.table.add_row([to_cell(c) for c in cells])
        return len(cells)

    def render_table() -> None:
        s.frames(s.table.render())
        s.table.clear_rows()

    def emit_alert(
        title: object, text: object, /, *, severity: object = None, tags: object = None
    ) -> None:
        s.alerts(
            Alert(
                filament=s.filament,
                title=str(title),
                text=str(text),
                severity=severity_of(severity),
                tags=tags_of(tags),
                hook=s.hook,
                seq=None if s.event is None else s.event.seq,
                timestamp=None if s.event is None else s.event.timestamp.text,
            )
        )

    def placeholder(*args: Any, **kwargs: Any) -> None:
        """Upstream's undocumented find_* builtins, which do nothing."""
        return None

    builtins: dict[str, Callable[..., Any]] = {
        "interval": interval,
        "columns": columns,
        "sort_by": sort_by,
        "max_rows": max_rows,
        "title": title,
        "kfilter": kfilter,
        "set_filter": set_filter,
        "add_row": add_row,
        "render_table": render_table,
        "emit_alert": emit_alert,
        "find_process": placeholder,
        "find_processes": placeholder,
        "find_handle": placeholder,
        "find_handles": placeholder,
    }
    for name, fn in builtins.items():
        if fn is not placeholder:
            fn.__qualname__ = fn.__name__ = name  # error messages say "add_row()", not closures
    return builtins


BUILTIN_NAMES = tuple(make_builtins(Settings("")).keys())

__all__ = ["BUILTIN_NAMES", "Settings", "make_builtins"]
