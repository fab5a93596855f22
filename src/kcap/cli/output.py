"""Standard output of every ``kcap`` command: what happens when it cannot take what we write.

Handled here once, for tables, events, help text and version alike:

* The reader went away (``kcap info x | head -1``; EPIPE, since Python ignores SIGPIPE): not an
  error of ours. kcap stops quietly with exit status 0, as ``replay | head`` always did.
* The output cannot be written (a full disk, ``>/dev/full``, an I/O error, a closed descriptor):
  an ordinary error, one line ``kcap: error: standard output: <what>`` and exit status 1.
* A character the output encoding cannot show (``PYTHONIOENCODING=ascii``, a latin-1 terminal)
  is written as a backslash escape, never a `UnicodeEncodeError`.

`install` (called by `kcap.cli.main.main`) puts a guarded stream on file descriptor 1 in place
of `sys.stdout`, whose write errors become `OutputClosed` / `OutputError`. Those are not
`KcapError`s on purpose: a command that catches a `KcapError` while reading a capture must not
mistake a failed write for a damaged input. After either, `silence` points descriptor 1 at
/dev/null so that nothing still buffered fails again when the interpreter exits.
"""

from __future__ import annotations

import errno
import io
import os
import sys
from typing import Any, BinaryIO

import click

from kcap.cli.diagnostics import EXIT_ERROR, EXIT_OK

#: How text output treats a character the output encoding cannot represent.
ENCODE_ERRORS = "backslashreplace"


class OutputFailure(Exception):
    """Standard output cannot take what kcap writes (see the subclasses)."""


class OutputClosed(OutputFailure):
    """Nobody reads standard output any more (a broken pipe): stop quietly."""


class OutputError(OutputFailure):
    """Writing standard output failed; ``str()`` is what went wrong, for the error line."""


def _failure(exc: OSError) -> OutputFailure:
    if isinstance(exc, BrokenPipeError) or exc.errno in (errno.EPIPE, errno.ECONNRESET):
        return OutputClosed()
    return OutputError(exc.strerror or str(exc))


class _GuardedWriter(io.BufferedWriter):
    """Descriptor 1, buffered, raising `OutputFailure` instead of `OSError`.

    It has to be an exception click does not handle: click turns EPIPE into exit status 1 and
    lets other `OSError`s through as tracebacks.
    """

    def write(self, data: Any) -> int:
        try:
            return super().write(data)
        except OSError as exc:
            raise _failure(exc) from None

    def flush(self) -> None:
        try:
            super().flush()
        except OSError as exc:
            raise _failure(exc) from None


def install() -> None:
    """Replace `sys.stdout` by a guarded stream on the same descriptor, encoding and buffering."""
    current = sys.stdout
    if current is None or isinstance(getattr(current, "buffer", None), _GuardedWriter):
        return
    try:
        fd = current.fileno()
        current.flush()
    except (OSError, ValueError, AttributeError):
        return  # not a real file (an embedding application): leave it alone
    raw = io.FileIO(fd, "w", closefd=False)
    sys.stdout = io.TextIOWrapper(
        _GuardedWriter(raw),
        encoding=current.encoding,
        errors=ENCODE_ERRORS,
        line_buffering=bool(current.line_buffering),
    )


def stdout_bytes() -> BinaryIO:
    """The binary side of stdout (looked up per call: test runners replace `sys.stdout`)."""
    stream = sys.stdout
    if stream is None:  # descriptor 1 was closed when kcap started (``kcap ... >&-``)
        raise OutputError(os.strerror(errno.EBADF))
    return stream.buffer


def text_encoding() -> str:
    """The encoding text output is written in (JSON is always UTF-8)."""
    return getattr(sys.stdout, "encoding", None) or "utf-8"


def is_terminal() -> bool:
    stream = sys.stdout
    try:
        return stream is not None and stream.isatty()
    except (OSError, ValueError):
        return False


def write_text(text: str) -> None:
    """Write text and flush, escaping what the output encoding cannot show."""
    out = stdout_bytes()
    out.write(text.encode(text_encoding(), ENCODE_ERRORS))
    out.flush()


def silence() -> None:
    """Point descriptor 1 at /dev/null, so buffered output cannot fail again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass  # not a real file descriptor (tests): nothing will be flushed to it


def report_failure(exc: BaseException) -> int:
    """Handle a failed write of standard output; returns the exit status to leave with."""
    silence()
    if isinstance(exc, OutputClosed | BrokenPipeError):
        return EXIT_OK
    what = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    click.echo(f"kcap: error: standard output: {what}", err=True)
    return EXIT_ERROR


__all__ = [
    "ENCODE_ERRORS",
    "OutputClosed",
    "OutputError",
    "OutputFailure",
    "install",
    "is_terminal",
    "report_failure",
    "silence",
    "stdout_bytes",
    "text_encoding",
    "write_text",
]
