"""``-f NAME[,ARG...]`` for ``kcap replay`` and ``kcap capture``: options and the glue that runs
the filament (the filament itself lives in `kcap.filaments`; docs/filaments.md)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from kcap.cli import output
from kcap.cli.diagnostics import EXIT_USAGE, WarningPrinter, error_message, fail, fail_usage
from kcap.errors import FilamentError, FilterError, KcapError

if TYPE_CHECKING:  # every kcap command imports this module: kcap.filaments loads on -f only
    from kcap.filaments import AlertSink, FilamentFilterError, FilamentRun

F = TypeVar("F", bound=Callable[..., Any])

#: `kcap.filaments.clock.CLOCKS`, spelled out so that --help needs no import of the filament
#: machinery (a test checks the two agree).
CLOCK_CHOICES = ("capture", "wall")

#: Exit status after Ctrl-C, as shells report a SIGINT death.
EXIT_INTERRUPTED = 130


@dataclass
class FilamentOptions:
    """The filament options of one command line (``filament`` None: no filament)."""

    filament: str | None
    filament_path: tuple[str, ...] = ()
    strict: bool = False
    alerts: str | None = None
    redraw: bool = True
    clock: str = "capture"

    def check(self) -> None:
        """Filament options given without ``-f`` are a usage error, not silently ignored."""
        if self.filament is not None:
            return
        given = [
            flag
            for flag, set_ in (
                ("--filament-path", bool(self.filament_path)),
                ("--filament-strict", self.strict),
                ("--alerts", self.alerts is not None),
                ("--no-redraw", not self.redraw),
                ("--filament-clock", self.clock != "capture"),
            )
            if set_
        ]
        if given:
            verb = "applies" if len(given) == 1 else "apply"
            fail_usage(f"{', '.join(given)} only {verb} with -f NAME")

    @classmethod
    def pop(cls, kwargs: dict[str, Any]) -> FilamentOptions:
        """Take the filament options out of a command's keyword arguments (and check them)."""
        opts = cls(
            filament=kwargs.pop("filament"),
            filament_path=kwargs.pop("filament_path"),
            strict=kwargs.pop("filament_strict"),
            alerts=kwargs.pop("alerts"),
            redraw=not kwargs.pop("no_redraw"),
            clock=kwargs.pop("filament_clock", "capture"),
        )
        opts.check()
        return opts


def filament_options(*, replay: bool) -> Callable[[F], F]:
    """The options of the filament feature, for ``kcap replay`` (``replay``) or capture."""
    options = [
        click.option(
            "-f",
            "--filament",
            "filament",
            metavar="NAME[,ARG...]",
            default=None,
            help="Run the filament (Python script) NAME over the events instead of printing "
            "them; ARGs after commas are its sys.argv[1:]. See 'kcap filaments'.",
        ),
        click.option(
            "--filament-path",
            "filament_path",
            multiple=True,
            metavar="DIR",
            help="Look for filaments in DIR first (repeatable); then $KCAP_FILAMENT_PATH, then "
            "the filaments bundled with kcap.",
        ),
        click.option(
            "--filament-strict",
            is_flag=True,
            help="Stop at the filament's first exception (exit status 1) instead of reporting "
            "it and going on.",
        ),
        click.option(
            "--alerts",
            "alerts",
            metavar="FILE",
            type=click.Path(dir_okay=False, allow_dash=True),
            default=None,
            help="Also write the filament's alerts to FILE as JSON lines ('-': stdout).",
        ),
        click.option(
            "--no-redraw",
            is_flag=True,
            help="Print every table the filament renders one after another, also on a terminal "
            "(by default a filament that declares columns gets a display redrawn in place).",
        ),
    ]
    if replay:
        options.append(
            click.option(
                "--filament-clock",
                type=click.Choice(CLOCK_CHOICES),
                default="capture",
                show_default=True,
                help="What on_interval ticks follow: the events' own timestamps (the same "
                "output every run) or elapsed real time, as Fibratus.",
            )
        )

    def decorate(fn: F) -> F:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


#: True while a progress line stands on the terminal's last line (stderr).
_progress_shown = False


def _note(text: str) -> None:
    """A message on stderr (first clearing the progress line, if one is shown)."""
    global _progress_shown
    if _progress_shown:
        sys.stderr.write("\r\x1b[K")
        _progress_shown = False
    click.echo(text, err=True)


class _CurrentStdout:
    """``sys.stdout`` as it is at each write (the table display swaps it while it is shown)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@contextmanager
def _alert_sink(path: str | None) -> Iterator[AlertSink]:
    from kcap.filaments import AlertSink

    if path is None:
        yield AlertSink(_note)
        return
    if path == "-":
        yield AlertSink(_note, _CurrentStdout())
        return
    try:
        fh: IO[str] = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise FilamentError(f"{path}: cannot write the alerts file: {exc.strerror}") from None
    with fh:
        yield AlertSink(_note, fh)


def _fail_filter(exc: FilamentFilterError) -> None:
    """The filament's filter did not compile: its error, caret diagram and all, exit 2."""
    lines = error_message(exc.filter_error).split("\n")
    head = lines[0].removeprefix("kcap: error: ")
    click.echo("\n".join([f"kcap: error: {exc}: {head}", *lines[1:]]), err=True)
    raise click.exceptions.Exit(EXIT_USAGE)


def _compile(expression: str) -> Any:
    from kcap.filter import compile as compile_filter

    try:
        return compile_filter(expression) if expression else None
    except FilterError as exc:
        fail(exc)


@contextmanager
def _started(opts: FilamentOptions, expression: str) -> Iterator[tuple[FilamentRun, Any]]:
    """Load and start the filament; yields the run and the command-line filter (None when
    there is none, or when the filament's own filter replaces it)."""
    from kcap.filaments import (
        FilamentFilterError,
        FilamentRun,
        RunOptions,
        find,
        search_path,
        split_spec,
    )

    assert opts.filament is not None
    cli_filter = _compile(expression)
    argv = split_spec(opts.filament)
    try:
        found = find(argv[0], search_path(opts.filament_path))
        with _alert_sink(opts.alerts) as alerts:
            options = RunOptions(
                strict=opts.strict,
                redraw=opts.redraw,
                output_gone=(BrokenPipeError, output.OutputFailure),
            )
            with FilamentRun(found, argv, alerts=alerts, note=_note, options=options) as run:
                if run.filter is not None and cli_filter is not None:
                    _note(
                        f"kcap: warning: the filament's own filter ({run.filter.expression}) "
                        "replaces the command-line filter, as in Fibratus"
                    )
                    cli_filter = None
                yield run, cli_filter
    except FilamentFilterError as exc:
        _fail_filter(exc)
    except KeyboardInterrupt:
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None


class _Progress:
    """Records read so far, shown on a terminal where it disturbs no output: on the table
    display until its first frame, or on stderr when stdout is not the terminal."""

    def __init__(self, run: FilamentRun) -> None:
        self._run = run
        self._shown_at = 0.0
        self._stderr = _is_terminal(sys.stderr) and not _is_terminal(sys.stdout)

    def __call__(self, records: int, delivered: int) -> None:
        global _progress_shown
        now = time.monotonic()
        if now - self._shown_at < 0.25:
            return
        self._shown_at = now
        text = f"kcap: {self._run.file.name}: {records:,} records read, {delivered:,} events"
        frames = self._run.frames
        if frames is not None and frames.status(text):
            return
        if self._stderr:
            sys.stderr.write("\r" + text + "\x1b[K")
            sys.stderr.flush()
            _progress_shown = True

    def clear(self) -> None:
        global _progress_shown
        if _progress_shown:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            _progress_shown = False


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def replay_with_filament(
    file: str, expression: str, limit: int | None, opts: FilamentOptions
) -> None:
    """``kcap replay FILE -f NAME``: the events of FILE go to the filament."""
    import kcap
    from kcap.filaments import replay

    warnings = WarningPrinter()
    try:
        reader = kcap.open(file, on_error=warnings)
    except KcapError as exc:
        fail(exc, file)
    with reader, _started(opts, expression) as (run, cli_filter):
        progress = _Progress(run)
        try:
            result = replay(
                reader,
                run,
                filter=cli_filter,
                limit=limit,
                clock=opts.clock,
                on_damaged=warnings,
                on_progress=progress,
            )
        finally:
            progress.clear()
    warnings.finish()
    if result.skipped_ticks:
        _note(
            f"kcap: warning: {reader.path}: a timestamp jumped far ahead; "
            f"{result.skipped_ticks:,} interval tick(s) were skipped over the gap"
        )
    if result.error is not None:
        fail(result.error, reader.path)
    if result.reached_end and not reader.terminated:
        _note(
            f"kcap: warning: {reader.path}: the capture was not closed (its writer stopped "
            "early or is still writing); replayed up to its last flush"
        )


def capture_with_filament(
    expression: str, duration: float | None, config: Any, opts: FilamentOptions, quiet: bool
) -> None:
    """``kcap capture -f NAME``: live events go to the filament; no file is written."""
    from kcap.filaments.live import run_live
    from kcap.sources.linux.session import check_privileges

    try:  # before on_init runs: a filament that cannot get events should not start
        check_privileges()
    except KcapError as exc:
        fail(exc)
    with _started(opts, expression) as (run, cli_filter):

        def ready() -> None:
            if not quiet:
                limit = f" for {duration:g}s" if duration else " (Ctrl-C to stop)"
                _note(f"running filament {run.file.name} on live events{limit}")

        try:
            result = run_live(run, config, duration=duration, filter=cli_filter, ready=ready)
        except KcapError as exc:
            if isinstance(exc, FilamentError):
                raise
            fail(exc)
    if result.lost:
        _note(
            f"kcap: warning: the kernel dropped {result.lost:,} events; try a larger "
            "--buffer-mb or fewer --events"
        )


__all__ = [
    "CLOCK_CHOICES",
    "EXIT_INTERRUPTED",
    "FilamentOptions",
    "capture_with_filament",
    "filament_options",
    "replay_with_filament",
]
