"""``kcap replay``: stream a capture's events, with process state rebuilt, to stdout."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

import click

from kcap.cli.diagnostics import WarningPrinter, fail, fail_usage
from kcap.cli.filament_opts import FilamentOptions, filament_options, replay_with_filament

if TYPE_CHECKING:
    from kcap.errors import KcapError
    from kcap.model.event import Event
    from kcap.reader import Reader

FORMATS = ("text", "json", "jsonl", "csv")
_CHUNK = 1 << 16


class _Output:
    """Buffered binary stdout: one write call per ~64 KiB instead of one per event."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._parts: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        self._parts.append(data)
        self._size += len(data)
        if self._size >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            self._stream.write(b"".join(self._parts))
            self._parts.clear()
            self._size = 0
        self._stream.flush()


def _renderer(fmt: str) -> Callable[[Event], bytes]:
    from kcap.cli.output import ENCODE_ERRORS, text_encoding
    from kcap.cli.render import event_json, event_text

    if fmt == "text":
        # In the output's encoding, like every text kcap prints; JSON is always UTF-8.
        encoding = text_encoding()
        return lambda ev: event_text(ev).encode(encoding, ENCODE_ERRORS) + b"\n"
    if fmt == "jsonl":
        return lambda ev: event_json(ev) + b"\n"
    return event_json  # an element of the array


def _set_filter(reader: Reader, expression: str) -> None:
    from kcap.errors import FilterError

    try:
        from kcap.filter import compile as compile_filter  # type: ignore[import-not-found,attr-defined,unused-ignore]
    except ImportError:
        fail_usage(
            "filter expressions are not available: this kcap build has no filter compiler "
            "(kcap.filter.compile); replay without an expression"
        )
    try:
        reader.set_filter(compile_filter(expression))
    except FilterError as exc:
        fail(exc)


EPILOG = """\b
Examples:
  kcap replay incident.kcap
  kcap replay incident.kcap --limit 20
  kcap replay incident.kcap "kevt.name = 'CreateProcess'" --format jsonl
  kcap replay incident.kcap "ps.name = 'bash' and kevt.category = 'file'" --format json
  kcap replay incident.kcap --format jsonl | jq -r .name | sort | uniq -c
  kcap replay incident.kcap -f top_registry_keys,20 --no-redraw
  kcap replay incident.kcap -f shell_spawns --alerts alerts.jsonl

\b
Exit status:
  0  every event was replayed (events that could not be decoded are skipped with a
     warning on stderr, and so are a filament's exceptions), or the reader of the output
     stopped early (| head)
  1  the capture cannot be read or is damaged part-way (every complete event before
     the damage is still printed), the output cannot be written, or the filament cannot
     be loaded or started (or raised, with --filament-strict)
  2  bad command line or filter expression (the filament's own included)
  130 after Ctrl-C
"""


@click.command(epilog=EPILOG)
@click.argument("file", metavar="FILE")
@click.argument("expression", nargs=-1, metavar="[EXPR]...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text: one readable line per event; json: one JSON array; jsonl: one JSON object "
    "per line; csv: the columns of docs/schema.md (as kcap convert --to csv).",
)
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Stop after N events (after filtering).",
)
@filament_options(replay=True)
def replay(
    file: str, expression: tuple[str, ...], fmt: str, limit: int | None, **filament: Any
) -> None:
    """Replay the events of capture FILE on stdout, in file order.

    Process and handle state is rebuilt from the capture and attached to every event (the
    "ps" of the JSON output); state-only events (rundowns) feed that state and are not
    printed. Words after FILE are joined with single spaces into a filter expression, and
    only events for which it is true are printed; quote the expression as one word so that
    the shell keeps the quotes of its strings.

    JSON objects have the keys seq, pid, tid, cpu, name, category, description, host,
    timestamp (RFC 3339 as stored), params (name -> value), meta (key -> value; the last of a
    repeated key wins) and ps (the process, or null). Bytes that are not valid UTF-8 appear
    as \\udcNN escapes in JSON and as \\xNN in text.

    With -f NAME the events go to the filament NAME instead (a Fibratus Python script, run
    unchanged; docs/filaments.md), and the filament's own filter replaces EXPR if it sets one.
    """
    import kcap
    from kcap.cli.escape import text_escape
    from kcap.cli.output import stdout_bytes
    from kcap.errors import KcapError

    warnings = WarningPrinter()
    expr = " ".join(expression).strip()
    opts = FilamentOptions.pop(filament)
    if opts.filament is not None:
        source = click.get_current_context().get_parameter_source("fmt")
        if source is not None and source.name != "DEFAULT":
            fail_usage("--format does not apply with -f: the events go to the filament")
        replay_with_filament(file, expr, limit, opts)
        return
    if fmt == "csv":  # the export schema's rows, written by the export's CSV writer
        from kcap.cli.convert_cmd import export

        return export([file], expr, "-", "csv", None, limit)
    try:
        reader = kcap.open(file, on_error=warnings)
    except KcapError as exc:
        fail(exc, file)
    with reader:
        if expr:
            _set_filter(reader, expr)
        # A reader of the output that stops early (``| head``) ends the command quietly, and
        # an output that cannot be written is an error: both handled by `kcap.cli.output`.
        error, reached_end = _stream(reader, _Output(stdout_bytes()), fmt, limit, warnings)
    warnings.finish()
    if error is not None:
        fail(error, file)
    if reached_end and not reader.terminated:
        click.echo(
            text_escape(
                f"kcap: warning: {file}: the capture was not closed (its writer stopped "
                "early or is still writing); replayed up to its last flush"
            ),
            err=True,
        )


def _stream(
    reader: Reader, out: _Output, fmt: str, limit: int | None, warn: WarningPrinter
) -> tuple[KcapError | None, bool]:
    """Write the events; returns the fatal error that stopped reading, if any, and whether
    reading reached the end of the capture (not stopped by ``limit``)."""
    from kcap.errors import FormatError, KcapError

    render = _renderer(fmt)
    json_array = fmt == "json"
    separator = b""
    if json_array:
        out.write(b"[\n")
    error: KcapError | None = None
    reached_end = False
    n = 0
    path = str(reader.path)
    if limit != 0:
        try:
            # Lazy: parameters are decoded only for events that pass the filter.
            for ev in reader.read(lazy=True):
                try:
                    data = render(ev)
                except FormatError as exc:  # this event's tail is damaged: skip it
                    warn(exc if exc.path else exc.located(path=path))
                    continue
                if json_array:
                    out.write(separator)
                    separator = b",\n"
                out.write(data)
                n += 1
                if limit is not None and n >= limit:
                    break
            else:
                reached_end = True
        except KcapError as exc:
            error = exc
    if json_array:
        out.write(b"\n]\n" if n else b"]\n")
    out.flush()
    return error, reached_end


__all__ = ["FORMATS", "replay"]
