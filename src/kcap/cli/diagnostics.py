"""Messages on stderr and exit codes, the same for every ``kcap`` command.

* A fatal error is ONE line, ``kcap: error: <file>: <what>``, and the exit code says what kind:
  `EXIT_ERROR` (1) for a file that cannot be read (or is damaged part-way), `EXIT_USAGE` (2) for
  a bad command line or filter expression, as click itself uses for usage errors.
* A non-fatal error (one event that does not decode) is a warning line; the first
  ``limit`` are shown, then a count of the rest, so a badly damaged file cannot flood the
  terminal.
* Nothing ever prints a Python traceback for bad input.
"""

from __future__ import annotations

import os
import re
from typing import NoReturn

import click

from kcap.cli.escape import text_escape
from kcap.errors import FilterError, KcapError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
#: sysexits' EX_SOFTWARE: kcap itself failed (a bug), not the input.
EXIT_INTERNAL = 70

DEFAULT_WARNING_LIMIT = 20


def _one_line(text: str) -> str:
    return " ".join(text.split("\n")).strip()


def error_message(exc: KcapError, file: str | os.PathLike[str] | None = None) -> str:
    """``kcap: error: <file>: <what>``, naming ``file`` as the user typed it, once.

    ``<what>`` is the error without its own mention of the file: a located error (a
    `FormatError` with ``path``) gives its byte offset and reason; any other message loses
    its mention of the file (`_without_subject`). Without ``file`` the error's own ``path`` is
    named, if it has one. The line is escaped (`text_escape`), so a file name holding a
    newline or invalid UTF-8 cannot break it.
    """
    if isinstance(exc, FilterError):
        return _filter_message(exc)
    typed = None if file is None else os.fspath(file)
    path = getattr(exc, "path", None)
    reason = getattr(exc, "reason", None)
    if path and isinstance(reason, str):
        offset = getattr(exc, "offset", None)
        what = reason if offset is None else f"byte {offset}: {reason}"
        where: str | None = typed or str(path)
    else:
        where = typed
        what = str(exc) if where is None else _without_subject(str(exc), where)
    what = _one_line(_ERRNO.sub("", what))
    return text_escape(f"kcap: error: {where}: {what}" if where else f"kcap: error: {what}")


def _without_subject(message: str, name: str) -> str:
    """``message`` without its mention of the file ``name`` (as typed, or with the extension
    kcap added), which the error line names in front: a leading ``name: `` or ``"name" ``, or
    else the first `` to name`` / `` name`` inside (``cannot create capture file x.kcap: ...``
    -> ``cannot create capture file: ...``)."""
    file = r"""(["']?)""" + re.escape(name) + r"""(\.[^\s"':;,]+)?\1"""
    leading = re.match(file + r"(: | )", message)
    if leading:
        return message[leading.end() :]
    inside = r"\s(?:(?:to|in|into|from|of|for|at)\s)?" + file + r"(?=[:;,\s]|$)"
    return re.sub(inside, "", message, count=1)


#: ``[Errno 28] `` in the text of an `OSError`: Python's detail, not the user's.
_ERRNO = re.compile(r"\[Errno -?\d+\] ")


def _filter_message(exc: FilterError) -> str:
    """One complete line first; the compiler's caret drawing, if any, indented below it.

    A syntax error from `kcap.filter` carries ``position`` and ``expected`` and a message that
    is upstream's caret box (expression, box, ``expected ...``) with an optional hint line
    ("unknown field ...; did you mean ...") after it. The hint or the expectation, with the
    column, makes the one-line summary.
    """
    text = str(exc).rstrip("\n")
    lines = text.split("\n")
    position = getattr(exc, "position", None)
    expected = getattr(exc, "expected", None)
    box_end = next((i for i, line in enumerate(lines) if line.startswith("╰")), None)
    if not isinstance(position, int) or not isinstance(expected, str) or box_end is None:
        head, rest = lines[0], lines[1:]
        return "\n".join(
            text_escape(line)
            for line in [f"kcap: error: filter: {head}", *("  " + line for line in rest)]
        )
    hint = " ".join(line.strip() for line in lines[box_end + 1 :] if line.strip())
    if hint:
        summary = hint
    elif lines[box_end].rstrip().endswith(" expected " + expected):
        summary = "expected " + expected
    else:
        summary = expected
    head = f"kcap: error: filter: {summary} (column {position + 1})"
    return "\n".join(
        text_escape(line) for line in [head, *("  " + line for line in lines[: box_end + 1])]
    )


def exit_code(exc: KcapError) -> int:
    return EXIT_USAGE if isinstance(exc, FilterError) else EXIT_ERROR


def fail(exc: KcapError, file: str | os.PathLike[str] | None = None) -> NoReturn:
    """Print the error line and leave with the matching exit code."""
    click.echo(error_message(exc, file), err=True)
    raise click.exceptions.Exit(exit_code(exc))


def fail_usage(message: str) -> NoReturn:
    click.echo(text_escape(f"kcap: error: {message}"), err=True)
    raise click.exceptions.Exit(EXIT_USAGE)


class WarningPrinter:
    """Prints non-fatal errors as warnings on stderr, the first ``limit`` of them, counts all."""

    def __init__(self, limit: int = DEFAULT_WARNING_LIMIT) -> None:
        self.limit = limit
        self.count = 0

    def __call__(self, exc: KcapError) -> None:
        self.count += 1
        if self.count <= self.limit:
            click.echo(text_escape(f"kcap: warning: {_one_line(str(exc))}"), err=True)

    def finish(self) -> None:
        """Print the final count (and how many warnings were held back), if there were any."""
        if not self.count:
            return
        skipped = "1 event" if self.count == 1 else f"{self.count:,} events"
        hidden = self.count - self.limit
        more = f" ({hidden:,} warning(s) not shown)" if hidden > 0 else ""
        click.echo(
            f"kcap: warning: {skipped} could not be decoded and "
            f"{'was' if self.count == 1 else 'were'} skipped{more}",
            err=True,
        )


__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "EXIT_USAGE",
    "WarningPrinter",
    "error_message",
    "exit_code",
    "fail",
    "fail_usage",
]
