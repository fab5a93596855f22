"""One run of a filament: load it, start it, hand it events and ticks, stop it exactly once.

    with FilamentRun(find("top_keys", search_path()), ["top_keys", "20"]) as run:
        for ev in events:            # what passes run.filter (or the caller's filter)
            run.deliver(ev)
        run.tick()                   # the caller's clock decides when (kcap.filaments.clock)

Entering loads the file and runs ``on_init``; anything wrong up to that point (no such hook, a
bad interval, a filter that does not compile, an exception in ``on_init``) raises a
`FilamentError` and nothing runs. Leaving calls ``on_stop`` (once), closes the table display and
restores the interpreter state the load changed.

An exception raised by a hook is reported with its traceback and the event it failed on (see
`kcap.filaments.failures`) and the run goes on, unless ``strict``: the run then stops with
`FilamentFailed`. See docs/filaments.md, "Life cycle".
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from kcap.errors import FilamentError, FilterError
from kcap.filaments.alerts import Alert
from kcap.filaments.builtins import Settings, make_builtins
from kcap.filaments.discovery import FilamentFile
from kcap.filaments.eventdict import Generation, builder
from kcap.filaments.failures import DEFAULT_SHOWN, FailureLog, event_label, exception_summary
from kcap.filaments.loader import (
    FilamentImportError,
    Hooks,
    activated,
    format_exception,
    hooks_of,
    import_filament,
)
from kcap.filaments.output import AppendFrames, Frames, choose
from kcap.model.event import Event


class FilamentFailed(FilamentError):
    """A hook raised and the run was strict (``--filament-strict``)."""


class FilamentFilterError(FilamentError):
    """The filter the filament set in ``on_init`` does not compile; ``filter_error`` is the
    compiler's error (with its caret diagram)."""

    def __init__(self, message: str, filter_error: FilterError) -> None:
        self.filter_error = filter_error
        super().__init__(message)


def _stderr_line(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


@dataclass
class RunOptions:
    """How a run behaves. ``redraw``: allow the redrawn table display on a terminal."""

    strict: bool = False
    redraw: bool = True
    shown: int = DEFAULT_SHOWN
    #: What a hook's write raises when nobody reads the output any more (``| head``): the run
    #: stops, quietly, instead of counting it as the filament's failure. The CLI adds its
    #: guarded standard output's exceptions (`kcap.cli.output`).
    output_gone: tuple[type[BaseException], ...] = (BrokenPipeError,)


class FilamentRun:
    """A filament loaded and started (a context manager; see the module docstring)."""

    def __init__(
        self,
        found: FilamentFile,
        argv: list[str] | None = None,
        *,
        alerts: Callable[[Alert], Any] | None = None,
        note: Callable[[str], Any] = _stderr_line,
        options: RunOptions | None = None,
    ) -> None:
        self.file = found
        # argv[0] is the bare name, also when the filament was given as a path
        self.argv = [found.name, *(argv or [])[1:]]
        self.options = options or RunOptions()
        self._note = note
        self.alerts: list[Alert] = []
        self.settings = Settings(
            found.name,
            alerts=alerts if alerts is not None else self.alerts.append,
            frames=self._frame,
            warn=lambda text: note("kcap: warning: " + text),
        )
        self.failures = FailureLog(found.name, note, self.options.shown)
        self.filter: Any = None  # the compiled filter the filament set (kcap.filter.Filter)
        self.interval: int | None = None  # seconds between ticks; None without on_interval
        self.generation: Generation | None = None
        self.delivered = 0
        self.ticks = 0
        self._frames: Frames | None = None
        self._hooks: Hooks | None = None
        self._stack = ExitStack()
        self._started = False
        self._stopped = False

    # ------------------------------------------------------------------ start

    def __enter__(self) -> FilamentRun:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def _start(self) -> None:
        s = self.settings
        path = self.file.path
        self._stack.enter_context(activated(self.file, self.argv))
        try:
            module = import_filament(self.file, make_builtins(s))
        except FilamentImportError as exc:
            self._note(
                "\n".join(
                    [
                        "kcap: filament " + self.file.name + ":",
                        *("  " + line for line in exc.details),
                    ]
                )
            )
            raise
        hooks = hooks_of(self.file, module)
        self._hooks = hooks
        self.generation = hooks.generation
        self._build = builder(hooks.generation)
        self._on_event = hooks.on_event
        if hooks.on_init is not None:
            s.in_init, s.hook = True, "on_init"
            try:
                hooks.on_init()
            except Exception as exc:
                self.failures.report("on_init", exc)
                raise FilamentError(
                    f"{path}: filament init error: on_init raised {exception_summary(exc)}"
                ) from None
            finally:
                s.in_init = False
        self._check_settings()
        self._frames = choose(s.declared_columns, redraw=self.options.redraw)
        self._stack.callback(self._frames.close)
        s.table.max_width = self._frames.max_width
        self.interval = s.interval if hooks.on_interval is not None else None
        self._started = True

    def _check_settings(self) -> None:
        s = self.settings
        path = self.file.path
        if s.interval <= 0:
            raise FilamentError(
                f"{path}: invalid interval value specified ({s.interval}): interval() takes "
                "whole seconds, at least 1"
            )
        table = s.table
        if table.headers and table.sort_by is not None and table.sort_column() is None:
            names = ", ".join(repr(n) for n in table.headers[-1])
            raise FilamentError(
                f"{path}: {table.sort_by} column can't be sorted since it is not defined "
                f"(the columns are {names}; sort_by names one exactly)"
            )
        expression = (s.filter or "").strip()
        if expression:
            from kcap.filter import compile as compile_filter

            try:
                self.filter = compile_filter(expression)
            except FilterError as exc:
                raise FilamentFilterError(
                    f"{path}: the filter set in on_init does not compile", exc
                ) from None

    @property
    def frames(self) -> Frames | None:
        """Where the rendered tables go (chosen after on_init)."""
        return self._frames

    # ------------------------------------------------------------------ running

    def deliver(self, ev: Event) -> None:
        """Call the per-event hook with ``ev`` (as the filament's generation wants it).

        A damaged event whose parameters do not decode raises its `FormatError` before the
        filament is called; the caller decides (replay skips it with a warning).
        """
        given = self._build(ev)
        s = self.settings
        s.hook = self._hooks.event_hook_name  # type: ignore[union-attr]
        s.event = ev
        self.delivered += 1
        try:
            self._on_event(given)
        except self.options.output_gone:
            raise  # whoever read the filament's output has gone (``| head``): stop, quietly
        except Exception as exc:
            self._failed(s.hook, exc, ev, None if given is ev else given)

    def tick(self) -> None:
        """Call ``on_interval`` (nothing without one)."""
        hooks = self._hooks
        if hooks is None or hooks.on_interval is None:
            return
        s = self.settings
        s.hook, s.event = "on_interval", None
        self.ticks += 1
        try:
            hooks.on_interval()
        except self.options.output_gone:
            raise
        except Exception as exc:
            self._failed("on_interval", exc)

    def _failed(
        self, hook: str, exc: Exception, ev: Event | None = None, given: object = None
    ) -> None:
        self.failures.report(hook, exc, event=ev, given=given)
        if self.options.strict:
            where = f" on {event_label(ev)}" if ev is not None else ""
            raise FilamentFailed(
                f"{self.file.path}: {hook} raised {exception_summary(exc)}{where} "
                "(--filament-strict)"
            ) from None

    def _frame(self, text: str) -> None:
        frames = self._frames
        if frames is None:  # render_table inside on_init, before the display is chosen
            frames = AppendFrames()
        frames.frame(text)

    # ------------------------------------------------------------------ stop

    def stop(self) -> None:
        """Call ``on_stop`` (once, however often this is called)."""
        if not self._started or self._stopped:
            return
        self._stopped = True
        hooks = self._hooks
        if hooks is not None and hooks.on_stop is not None:
            s = self.settings
            s.hook, s.event = "on_stop", None
            try:
                hooks.on_stop()
            except self.options.output_gone:
                pass  # the output is gone; nothing on_stop still writes can be read
            except Exception as exc:
                self.failures.report("on_stop", exc)

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            self._stack.close()
            summary = self.failures.summary()
            if summary is not None and self.failures.total > 1:
                self._note(summary)


__all__ = [
    "FilamentFailed",
    "FilamentFilterError",
    "FilamentRun",
    "RunOptions",
    "format_exception",
]
