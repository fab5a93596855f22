"""``kcap replay``: stream a capture's events, with process state rebuilt, to stdout."""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

import click

import kcap
from kcap.cli.diagnostics import WarningPrinter, fail, fail_usage, silence_stdout, stdout_bytes
from kcap.cli.render import event_json, event_text
from kcap.errors import FilterError, FormatError, KcapError
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
    if fmt == "text":
        return lambda ev: event_text(ev).encode("utf-8", "backslashreplace") + b"\n"
    if fmt == "jsonl":
        return lambda ev: event_json(ev) + b"\n"
    return event_json  # an element of the array


def _set_filter(reader: Reader, expression: str) -> None:
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

\b
Exit status: 0 when every event was replayed (events that could not be decoded are
skipped with a warning on stderr), 1 when the capture cannot be read or is damaged part-way
(every complete event before the damage is still printed), 2 for a bad command line or
filter expression.
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
def replay(file: str, expression: tuple[str, ...], fmt: str, limit: int | None) -> None:
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
    """
    warnings = WarningPrinter()
    expr = " ".join(expression).strip()
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
        out = _Output(stdout_bytes())
        try:
            error, reached_end = _stream(reader, out, fmt, limit, warnings)
        except BrokenPipeError:
            # The consumer stopped reading (``| head``): not an error of ours.
            silence_stdout()
            raise click.exceptions.Exit(0) from None
    warnings.finish()
    if error is not None:
        fail(error, reader.path)
    if reached_end and not reader.terminated:
        click.echo(
            f"kcap: warning: {reader.path}: the capture was not closed (its writer stopped "
            "early or is still writing); replayed up to its last flush",
            err=True,
        )


def _stream(
    reader: Reader, out: _Output, fmt: str, limit: int | None, warn: WarningPrinter
) -> tuple[KcapError | None, bool]:
    """Write the events; returns the fatal error that stopped reading, if any, and whether
    reading reached the end of the capture (not stopped by ``limit``)."""
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
