"""``kcap capture``: record live kernel events of this Linux machine into a capture file."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from typing import Any

import click

from kcap.cli.diagnostics import EXIT_ERROR, fail, fail_usage
from kcap.cli.filament_opts import FilamentOptions, capture_with_filament, filament_options
from kcap.errors import KcapError
from kcap.model import Event
from kcap.sources.linux.probes import EVENT_KINDS


def _parse_kinds(text: str) -> frozenset[str]:
    kinds = {k.strip().lower() for k in text.split(",") if k.strip()}
    if "all" in kinds:
        return frozenset(EVENT_KINDS)
    unknown = kinds - set(EVENT_KINDS)
    if unknown or not kinds:
        raise click.BadParameter(
            f"unknown kind(s) {', '.join(sorted(unknown)) or '(none)'}; "
            f"choose from {', '.join(EVENT_KINDS)}",
            param_hint="--events",
        )
    return frozenset(kinds)


def _ring_size(buffer_mb: int) -> int:
    """--buffer-mb as a ring-buffer size: a power of two, at least one page."""
    return 1 << max(12, (buffer_mb * (1 << 20) - 1).bit_length())


def _compile_filter(expr: str) -> Callable[[Event], bool]:
    """Compile EXPR with the filter language (a callable predicate over events)."""
    from kcap.filter import compile as compile_filter

    return compile_filter(expr)


@click.command("capture")
@click.option(
    "-o",
    "--output",
    "output",
    default=None,
    type=click.Path(dir_okay=False),
    help="Capture file to write ('.kcap' is added when the name has no extension); "
    "required unless -f runs a filament instead.",
)
@click.argument("expr", nargs=-1)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Stop after this many seconds (default: until Ctrl-C or SIGTERM).",
)
@click.option(
    "--events",
    "events",
    default="all",
    show_default=True,
    help=f"Comma-separated event kinds: {','.join(EVENT_KINDS)}.",
)
@click.option(
    "--buffer-mb",
    type=click.IntRange(min=1, max=1024),
    default=32,
    show_default=True,
    help="Kernel ring-buffer size in MiB (rounded up to a power of two).",
)
@click.option(
    "--io-aggregate",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    metavar="SECONDS",
    help="Sum file reads and writes per process and descriptor over this window "
    "(one ReadFile/WriteFile with io_count); 0 writes one event per system call.",
)
@click.option("-q", "--quiet", is_flag=True, help="No live line, only the final statistics.")
@filament_options(replay=False)
def capture(
    output: str | None,
    expr: tuple[str, ...],
    duration: float | None,
    events: str,
    buffer_mb: int,
    io_aggregate: float,
    quiet: bool,
    **filament: Any,
) -> None:
    """Capture kernel events (process, thread, image, file, net, handle) into OUTPUT.

    Needs root. The optional filter EXPR applies at capture time; process, thread, image and
    handle events are always kept because replay needs them to rebuild process state.

    With -f NAME, no file is written: the live events go to the filament NAME, as with
    "fibratus run -f" (docs/filaments.md).
    """
    opts = FilamentOptions.pop(filament)
    if opts.filament is not None:
        if output is not None:
            fail_usage("-o and -f exclude each other: -f runs a filament instead of writing a file")
        _run_filament(expr, duration, events, buffer_mb, io_aggregate, quiet, opts)
        return
    if output is None:
        fail_usage("missing option -o/--output (or -f NAME to run a filament on live events)")
    # While it records, the capture turns SIGINT/SIGTERM into "stop". Before and after (writing
    # the end of the file, printing the statistics) a repeated Ctrl-C or SIGTERM must not cut
    # the command short, so for the whole command they are ignored rather than fatal.
    # Once the command has finished normally the process is about to exit: the signals are then
    # ignored at the C level (SIG_IGN survives interpreter shutdown, which resets Python-level
    # handlers to the default), so a late SIGTERM cannot turn a complete capture into exit 143.
    saved = {sig: signal.signal(sig, _ignore) for sig in (signal.SIGINT, signal.SIGTERM)}
    completed = False
    try:
        _run(output, expr, duration, events, buffer_mb, io_aggregate, quiet)
        completed = True
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, signal.SIG_IGN if completed else handler)


def _run_filament(
    expr: tuple[str, ...],
    duration: float | None,
    events: str,
    buffer_mb: int,
    io_aggregate: float,
    quiet: bool,
    opts: FilamentOptions,
) -> None:
    from kcap.sources.linux.session import CaptureConfig

    config = CaptureConfig(
        kinds=_parse_kinds(events), ring_size=_ring_size(buffer_mb), io_aggregate=io_aggregate
    )
    capture_with_filament(" ".join(expr).strip(), duration, config, opts, quiet)


def _ignore(signum: int, frame: object) -> None:
    """A signal that arrives outside the recording loop: the command is finishing anyway."""


def _run(
    output: str,
    expr: tuple[str, ...],
    duration: float | None,
    events: str,
    buffer_mb: int,
    io_aggregate: float,
    quiet: bool,
) -> None:
    from kcap.sources.linux.session import CaptureConfig, Progress, capture_to_file

    kinds = _parse_kinds(events)
    ring = _ring_size(buffer_mb)
    err = sys.stderr
    live = not quiet and err.isatty()

    def show(p: Progress) -> None:
        line = (
            f"\r{p.elapsed:7.1f}s  {p.rate:10,.0f} events/s  {p.written:12,} written  "
            f"{p.lost:8,} lost"
        )
        err.write(line)
        err.flush()

    def ready() -> None:
        limit = f" for {duration:g}s" if duration else " (Ctrl-C to stop)"
        click.echo(f"capturing to {output}{limit}", err=True)

    try:
        keep = _compile_filter(" ".join(expr)) if expr else None
        config = CaptureConfig(kinds=kinds, ring_size=ring, keep=keep, io_aggregate=io_aggregate)
        result = capture_to_file(
            output, config, duration=duration, progress=show if live else None, ready=ready
        )
    except KcapError as exc:
        fail(exc)
    if live:
        err.write("\n")
    rows = list(result.stats.rows()) if result.stats is not None else []
    rows = [r for r in rows if r[0] != "Events lost"]
    rows += [
        ("Kernel records read", f"{result.records:,}"),
        ("Events lost (kernel buffers)", f"{result.lost:,}"),
        ("Filtered out", f"{result.filtered:,}"),
        ("Records not mapped", f"{result.mapping_errors:,}"),
        ("Duration", f"{result.duration:.2f} s"),
        ("Capture CPU", f"{result.cpu_seconds:.2f} s"),
    ]
    width = max(len(k) for k, _ in rows)
    click.echo("Capture Statistics")
    for k, v in rows:
        click.echo(f"  {k:<{width}}  {v}")
    if result.lost:
        click.echo(
            f"warning: the kernel dropped {result.lost:,} events (recorded in the capture as "
            "EventsLost); try a larger --buffer-mb or fewer --events",
            err=True,
        )
    if result.mapping_errors:
        click.echo(
            f"warning: {result.mapping_errors:,} kernel records could not be mapped to events "
            f"(first: {result.first_mapping_error})",
            err=True,
        )
    if result.error:
        click.echo(
            f"kcap: error: {result.error}; what was captured before the failure is "
            f"in {result.path}",
            err=True,
        )
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    capture()
