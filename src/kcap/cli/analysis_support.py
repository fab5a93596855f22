"""What the export and analysis commands (convert, sql, ps, handles, stats, report) share:
telling capture files from a filter expression on the command line, turning the errors of the
optional libraries into the one-line errors of `kcap.cli.diagnostics`, and a progress line.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, NoReturn, TypeVar

import click

from kcap.cli.diagnostics import EXIT_ERROR, EXIT_USAGE, fail, fail_usage
from kcap.errors import KcapError

T = TypeVar("T")


def split_inputs(words: Sequence[str], flt: str | None) -> tuple[list[str], str]:
    """Capture files, then the filter expression: the leading words that name existing files
    are the captures, the words from the first one that does not are the expression (joined
    with spaces). ``--filter`` gives the expression explicitly instead."""
    files: list[str] = []
    rest: list[str] = []
    for i, word in enumerate(words):
        if flt is None and files and not _is_file(word):
            rest = list(words[i:])
            break
        files.append(word)
    if not files:
        fail_usage("no capture file given")
    expr = flt if flt is not None else " ".join(rest)
    return files, expr.strip()


def _is_file(word: str) -> bool:
    from kcap.reader import resolve_path  # here: --help must not load the reader

    return resolve_path(word).is_file()


def run(fn: Callable[[], T], file: str | os.PathLike[str] | None = None) -> T:
    """Call ``fn``; a `KcapError` becomes the one-line error and its exit status (a missing
    optional library and a bad column name included)."""
    from kcap.analysis.snapshot import TimeError
    from kcap.export.extras import MissingExtra
    from kcap.export.schema import ColumnError

    try:
        return fn()
    except (ColumnError, TimeError) as exc:
        fail_usage(str(exc))
    except MissingExtra as exc:
        click.echo(f"kcap: error: {exc}", err=True)
        raise click.exceptions.Exit(EXIT_ERROR) from None
    except KcapError as exc:
        fail(exc, file)


def usage_error(message: str) -> NoReturn:
    click.echo(f"kcap: error: {message}", err=True)
    raise click.exceptions.Exit(EXIT_USAGE)


class Progress:
    """A one-line event count on stderr, redrawn at most a few times a second, only when stderr
    is a terminal (pipes and logs get nothing)."""

    def __init__(self, what: str, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self.what = what
        self._last = 0.0
        self._shown = False

    def update(self, count: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < 0.25:
            return
        self._last = now
        self._shown = True
        self.stream.write(f"\r{self.what}: {count:,} events")
        self.stream.flush()

    def done(self) -> None:
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


@contextmanager
def output_file(path: str, binary: bool = True) -> Iterator[IO[Any]]:
    """``path`` opened for writing through a temporary name in the same directory, renamed
    into place when the block ends (an interrupted run leaves no half-written file under the
    real name); ``-`` is stdout."""
    if path == "-":
        yield sys.stdout.buffer if binary else sys.stdout
        return
    target = Path(path)
    if target.is_dir():
        raise click.UsageError(f"{path} is a directory")
    tmp = target.with_name(f".{target.name}.part-{os.getpid()}")
    try:
        fh = tmp.open("wb" if binary else "w")
    except OSError as exc:
        raise KcapError(f"cannot write {path}: {exc.strerror}") from None
    try:
        with fh:
            yield fh
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(target)


__all__ = ["Progress", "output_file", "run", "split_inputs", "usage_error"]
