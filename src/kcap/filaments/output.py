"""Where the tables a filament renders go (docs/filaments.md, "Where tables go").

* `AppendFrames`: each rendered table is written to standard output followed by a newline,
  frames one after another. This is upstream's behaviour when the filament did not declare
  columns in ``on_init``, and kcap's whenever standard output is not a terminal, so output
  can be compared and piped.
* `RedrawFrames`: when the filament declared columns in ``on_init`` and standard output is a
  terminal, the table is a display redrawn in place on the terminal's alternate screen, as
  upstream redraws its console buffer. Columns are then at most ``W/2 + 15`` cells wide
  (``W`` = terminal width - 1, upstream's rule) and a frame is cut at the screen's height.
  What the filament prints, and kcap's own messages, are held back meanwhile (upstream shows
  them on the other screen buffer) and written out when the display closes, after the last
  frame, which stays on the normal screen. Redraws are limited to `REDRAW_PERIOD`: a filament
  that renders per event would otherwise spend its time repainting the terminal.
"""

from __future__ import annotations

import io
import shutil
import sys
import tempfile
import time
from typing import IO, Protocol

#: The shortest time between two redraws of the display, in seconds.
REDRAW_PERIOD = 0.05

_ENTER = "\x1b[?1049h\x1b[?25l"  # alternate screen, cursor hidden
_LEAVE = "\x1b[?25h\x1b[?1049l"
_HOME_CLEAR = "\x1b[H\x1b[2J"


class Frames(Protocol):
    """Receives every rendered table."""

    #: Widest a table column may be (None: no limit).
    max_width: int | None

    def frame(self, text: str) -> None: ...

    def status(self, text: str) -> bool:
        """Show a progress line where it disturbs nothing; False when there is no such place."""
        ...

    def close(self) -> None: ...


class AppendFrames:
    """Frames written one after another to ``sys.stdout`` (looked up at each frame)."""

    max_width: int | None = None

    def frame(self, text: str) -> None:
        out = sys.stdout
        out.write(text + "\n")

    def status(self, text: str) -> bool:
        return False

    def close(self) -> None:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            pass  # the reader of our output has gone; the command ends quietly


class RedrawFrames:
    """A display redrawn in place on the alternate screen of ``terminal``."""

    def __init__(self, terminal: IO[str], period: float = REDRAW_PERIOD) -> None:
        self._term = terminal
        self._period = period
        self._pending: str | None = None
        self._last: str | None = None
        self._drawn_at = 0.0
        size = shutil.get_terminal_size()
        self.max_width: int | None = (size.columns - 1) // 2 + 15
        self._held_out: IO[str] = _spool()
        self._held_err: IO[str] = _spool()
        self._saved = (sys.stdout, sys.stderr)
        terminal.write(_ENTER)
        terminal.flush()
        sys.stdout, sys.stderr = self._held_out, self._held_err
        self._open = True

    def frame(self, text: str) -> None:
        self._pending = text
        now = time.monotonic()
        if now - self._drawn_at >= self._period:
            self._draw(now)

    def status(self, text: str) -> bool:
        """Until the first frame, the display shows this progress line."""
        if self._last is None and self._pending is None:
            self._term.write(_HOME_CLEAR + text)
            self._term.flush()
        return True

    def _draw(self, now: float) -> None:
        text = self._pending
        if text is None:
            return
        rows = shutil.get_terminal_size().lines
        lines = text.split("\n")
        self._term.write(_HOME_CLEAR + "\n".join(lines[: max(1, rows - 1)]))
        self._term.flush()
        self._last, self._pending, self._drawn_at = text, None, now

    def close(self) -> None:
        if not self._open:
            return
        self._open = False
        last = self._pending if self._pending is not None else self._last
        sys.stdout, sys.stderr = self._saved
        self._term.write(_LEAVE)
        if last is not None:
            self._term.write(last + "\n")
        self._term.flush()
        for held, real in ((self._held_out, sys.stdout), (self._held_err, sys.stderr)):
            held.seek(0)
            shutil.copyfileobj(held, real)
            held.close()
            real.flush()


def _spool() -> IO[str]:
    # On disk past 1 MiB: a filament printing a lot during a long replay must not grow memory.
    raw = tempfile.SpooledTemporaryFile(max_size=1 << 20, mode="w+b")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding="utf-8", errors="backslashreplace", write_through=True)


def choose(declared_columns: bool, *, redraw: bool = True) -> Frames:
    """`RedrawFrames` on a terminal when the filament declared columns, else `AppendFrames`."""
    out = sys.stdout
    if declared_columns and redraw and _is_terminal(out):
        return RedrawFrames(out)
    return AppendFrames()


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = ["REDRAW_PERIOD", "AppendFrames", "Frames", "RedrawFrames", "choose"]
