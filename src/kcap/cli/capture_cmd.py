"""``kcap capture``: record live kernel events of this Linux machine into a capture file."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from kcap.cli.diagnostics import EXIT_ERROR, error_message, fail, fail_usage
from kcap.cli.escape import text_escape
from kcap.cli.filament_opts import FilamentOptions, capture_with_filament, filament_options
from kcap.errors import CaptureError, KcapError
from kcap.sources.linux.probes import EVENT_KINDS

if TYPE_CHECKING:
    from kcap.model import Event


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


EPILOG = """\b
Examples:
  sudo kcap capture -o incident                  # writes incident.kcap until Ctrl-C
  sudo kcap capture -o run.kcap --duration 60 --events process,file
  sudo kcap capture -o web.kcap "ps.name = 'nginx'"
  sudo kcap capture -o incident.kcap --force     # replace an earlier capture
  sudo kcap capture -o run.kcap --rules rules/   # alerts go to run.kcap.alerts.jsonl
  sudo kcap capture -f top_netio --duration 30   # a filament over live events, no file

\b
Exit status:
  0  the capture was written (events the kernel dropped are reported as a warning)
  1  capture could not start (not root, a missing kernel facility, the output file
     exists or cannot be created) or had to stop (a write error): what was captured
     before a failure is in the file and replays
  2  bad command line, filter expression or rule file
"""


@click.command("capture", epilog=EPILOG)
@click.option(
    "-o",
    "--output",
    "output",
    default=None,
    type=click.Path(),
    help="Capture file to write ('.kcap' is added to a new name without extension); "
    "required unless -f runs a filament instead.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Overwrite the output file if it exists (without it kcap refuses to).",
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
@click.option(
    "--rules",
    "rule_paths",
    multiple=True,
    type=click.Path(exists=True),
    help="Evaluate these detection rules (files or directories) on the live events; alerts "
    "go to OUTPUT.alerts.jsonl.",
)
@click.option(
    "--allow-actions", is_flag=True, help="Execute rule actions (kill) instead of reporting them."
)
@filament_options(replay=False)
def capture(
    output: str | None,
    force: bool,
    expr: tuple[str, ...],
    duration: float | None,
    events: str,
    buffer_mb: int,
    io_aggregate: float,
    quiet: bool,
    rule_paths: tuple[str, ...] = (),
    allow_actions: bool = False,
    **filament: Any,
) -> None:
    """Capture kernel events (process, thread, image, file, net, handle) into OUTPUT.

    Needs root. The optional filter EXPR applies at capture time; process, thread, image and
    handle events are always kept because replay needs them to rebuild process state.

    OUTPUT is the file written (the first line on stderr names it): a name without extension
    that does not exist yet gets ".kcap"; a device or FIFO is written as it is, and with
    -o /dev/stdout the capture goes to standard output (the statistics then to stderr). A
    file that exists and is not empty is not overwritten unless --force is given (Fibratus
    overwrites without asking).

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
        _run(
            _output_path(output, force),
            expr,
            duration,
            events,
            buffer_mb,
            io_aggregate,
            quiet,
            rule_paths,
            allow_actions,
        )
        completed = True
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, signal.SIG_IGN if completed else handler)


def _output_path(output: str, force: bool) -> str:
    """The file to write (`kcap.writer.resolve_output`'s rule); a file holding data only with
    ``force``: a capture is evidence, and a repeated command must not destroy the last one.
    An empty file is no loss (``-o /dev/stdout > new.kcap``: the shell made it)."""
    from kcap.writer import resolve_output

    if os.path.isdir(output):
        # checked here rather than by click.Path(dir_okay=False), whose usage error is several
        # lines; a path that cannot hold a capture is an error of the file (exit 1)
        fail(CaptureError("is a directory: give the name of the capture file to write"), output)
    path = resolve_output(output)
    if not force:
        try:
            holds_data = path.is_file() and path.stat().st_size > 0
        except OSError:  # too long a name, say: creating the file reports it
            holds_data = False
        if holds_data:
            fail(
                KcapError("the file exists; give --force to overwrite it, or another name with -o"),
                path,
            )
    return str(path)


def _is_standard_output(path: str, fd: int = 1) -> bool:
    """True when ``path`` is the file descriptor ``fd`` writes to (``-o /dev/stdout``)."""
    try:
        written, out = os.stat(path), os.fstat(fd)
    except OSError:
        return False
    return (written.st_dev, written.st_ino) == (out.st_dev, out.st_ino)


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
    rule_paths: tuple[str, ...] = (),
    allow_actions: bool = False,
) -> None:
    from kcap.cli.tables import count, key_values, number_cell, print_tables, render, writer_rows
    from kcap.sources.linux.session import CaptureConfig, Progress, capture_to_file

    kinds = _parse_kinds(events)
    ring = _ring_size(buffer_mb)
    err = sys.stderr
    live = not quiet and err.isatty()

    def show(p: Progress) -> None:
        line = (
            f"\r{p.elapsed:7.1f}s  {p.rate:9,.0f} events/s  {p.lost_rate:8,.0f} lost/s  "
            f"buffer {100 * p.buffer_fill:3.0f}%  CPU {100 * p.cpu:3.0f}%  "
            f"{p.written:12,} written  {p.lost:9,} lost"
        )
        err.write(line)
        err.flush()

    def ready() -> None:
        limit = f" for {duration:g}s" if duration else " (Ctrl-C to stop)"
        click.echo(text_escape(f"capturing to {output}{limit}"), err=True)

    detector = None
    try:
        if rule_paths:
            from kcap.rules import load
            from kcap.rules.live import LiveDetector

            announce = None if quiet else lambda text: click.echo(f"\n{text}", err=True)
            detector = LiveDetector(
                load(rule_paths), output, allow_actions=allow_actions, announce=announce
            )
        keep = _compile_filter(" ".join(expr)) if expr else None
        config = CaptureConfig(
            kinds=kinds,
            ring_size=ring,
            keep=keep,
            io_aggregate=io_aggregate,
            observe=detector.observe if detector else None,
        )
        result = capture_to_file(
            output, config, duration=duration, progress=show if live else None, ready=ready
        )
    except KcapError as exc:
        # Named in front when it is about the file (it cannot be created or written).
        fail(exc, output if output in str(exc) else None)
    finally:
        if detector is not None:
            detector.close()
    if live:
        err.write("\n")
    if detector is not None:
        click.echo(f"{detector.count:,} alert(s) written to {detector.path}", err=True)
    rows = writer_rows(result.stats) if result.stats is not None else []
    rows = [(k, number_cell(v)) for k, v in rows if k != "Events lost"]
    busy = result.duration + result.drain_seconds
    rows += [
        ("Kernel records read", count(result.records)),
        ("Events lost", count(result.lost)),
        *(
            (f"  {name}", count(n))
            for name, n in sorted(result.lost_events.items(), key=lambda kv: -kv[1])
        ),
        ("Kernel records lost", count(result.lost_records)),
        ("Records skipped at stop", count(result.skipped_records)),
        ("Peak buffer fill", f"{100 * result.peak_fill:.0f}%"),
        ("Filtered out", count(result.filtered)),
        ("Records not mapped", count(result.mapping_errors)),
        ("Duration", f"{result.duration:.2f} s"),
        ("Stop (drain)", f"{result.drain_seconds:.2f} s"),
        ("Events/s", f"{result.events / busy:,.0f}" if busy > 0 else "0"),
        ("Lost/s", f"{result.lost / busy:,.0f}" if busy > 0 else "0"),
        (
            "Capture CPU",
            f"{result.cpu_seconds:.2f} s ({100 * result.cpu_seconds / busy:.0f}%)"
            if busy > 0
            else f"{result.cpu_seconds:.2f} s",
        ),
    ]
    statistics = [key_values("Capture Statistics", rows)]
    if _is_standard_output(result.path):  # -o /dev/stdout: the table must not join the capture
        click.echo(render(statistics), err=True, nl=False)
    else:
        print_tables(statistics)
    if result.lost:
        click.echo(
            f"kcap: warning: {result.lost:,} events were lost (recorded in the capture as "
            "EventsLost, per kind of event); try a larger --buffer-mb, fewer --events, "
            "--io-aggregate or a filter",
            err=True,
        )
    if result.mapping_errors:
        click.echo(
            f"kcap: warning: {result.mapping_errors:,} kernel records could not be mapped to "
            f"events (first: {result.first_mapping_error})",
            err=True,
        )
    if result.error:
        line = error_message(KcapError(result.error), result.path)
        click.echo(f"{line}; what was captured before the failure is in the file", err=True)
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    capture()
