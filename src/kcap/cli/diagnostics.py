"""Messages on stderr and exit codes, the same for every ``kcap`` command.

* A fatal error is ONE line, ``kcap: error: <file>: <what>``, and the exit code says what kind:
  `EXIT_ERROR` (1) for a file that cannot be read (or is damaged part-way), `EXIT_USAGE` (2) for
  a bad command line, filter expression or rule file, as click itself uses for usage errors
  (a rule file error lists every problem found, one line each).
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
from kcap.errors import FilterError, KcapError, RuleError, StateWarning

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
    if isinstance(exc, RuleError):
        # Every problem of the rule files, each a complete error line of its own.
        return "\n".join(text_escape(f"kcap: error: {_one_line(p)}") for p in exc.problems)
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
    """One complete line first; the compiler's caret picture, if any, indented below it.

    A compile error from `kcap.filter` carries ``summary`` (what is wrong), ``picture`` (the
    expression with a caret) and ``position``; the line says what and the column.
    """
    summary = getattr(exc, "summary", None)
    picture = getattr(exc, "picture", None)
    position = getattr(exc, "position", None)
    if not isinstance(summary, str) or not isinstance(picture, str):
        head, *rest = str(exc).rstrip("\n").split("\n")
        lines = [f"kcap: error: filter: {head}", *("  " + line for line in rest)]
    else:
        column = f" (column {position + 1})" if isinstance(position, int) else ""
        head = f"kcap: error: filter: {_one_line(summary)}{column}"
        lines = [head, *("  " + line for line in picture.split("\n"))]
    return "\n".join(text_escape(line) for line in lines)


def exit_code(exc: KcapError) -> int:
    return EXIT_USAGE if isinstance(exc, FilterError | RuleError) else EXIT_ERROR


def fail(exc: KcapError, file: str | os.PathLike[str] | None = None) -> NoReturn:
    """Print the error line and leave with the matching exit code."""
    click.echo(error_message(exc, file), err=True)
    raise click.exceptions.Exit(exit_code(exc))


def fail_usage(message: str) -> NoReturn:
    click.echo(text_escape(f"kcap: error: {message}"), err=True)
    raise click.exceptions.Exit(EXIT_USAGE)


class WarningPrinter:
    """Prints non-fatal errors as warnings on stderr, the first ``limit`` of them, counts all.

    An event that could not be decoded (and was skipped) is a warning line of its own. A state
    update that met a missing or malformed parameter (`StateWarning`: the event is kept, the
    value treated as empty) is only counted, and the final line names the first of them: old
    captures lack parameters by the thousand, and each is harmless."""

    def __init__(self, limit: int = DEFAULT_WARNING_LIMIT) -> None:
        self.limit = limit
        self.count = 0  # events skipped
        self.state = 0  # state updates that used a default
        self._first_state: str | None = None

    def __call__(self, exc: KcapError) -> None:
        if isinstance(exc, StateWarning):
            self.state += 1
            if self._first_state is None:
                self._first_state = _one_line(str(exc))
            return
        self.count += 1
        if self.count <= self.limit:
            click.echo(text_escape(f"kcap: warning: {_one_line(str(exc))}"), err=True)

    def finish(self) -> None:
        """Print the final counts (and how many warnings were held back), if there were any."""
        if self.count:
            hidden = self.count - self.limit
            more = f" ({hidden:,} warning(s) not shown)" if hidden > 0 else ""
            events = "1 event" if self.count == 1 else f"{self.count:,} events"
            skipped = f"{events} could not be decoded and {'was' if self.count == 1 else 'were'}"
            click.echo(f"kcap: warning: {skipped} skipped{more}", err=True)
        if self.state:
            updates = "1 state update" if self.state == 1 else f"{self.state:,} state updates"
            click.echo(
                text_escape(
                    f"kcap: note: {updates} treated a missing or malformed parameter as empty "
                    f"(first: {self._first_state})"
                ),
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
