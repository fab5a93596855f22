"""Where tables go: frames one after another, or a display redrawn on a terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

from tests.cli.captures import REPO

from .helpers import SCRIPTS, lines, replay

ENTER, LEAVE, HOME_CLEAR = "\x1b[?1049h\x1b[?25l", "\x1b[?25h\x1b[?1049l", "\x1b[H\x1b[2J"

DISPLAY = '''"""Declares columns, so it gets the redrawn display on a terminal."""


def on_init():
    columns(["Key", "N"])


def on_next_kevent(kevent):
    if kevent["seq"] == 1:
        print("printed by the filament")
        add_row(["x" * 60, 1])
        render_table()


def on_stop():
    add_row(["last", 2])
    render_table()
'''


def on_terminal(
    capture: Path, script: Path, columns: int = 40, extra: list[str] | None = None
) -> tuple[str, str]:
    """Run ``kcap replay CAPTURE -f SCRIPT`` with stdout on a pseudo-terminal of that width;
    returns (what the terminal received, stderr)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = str(REPO / "src")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kcap", "replay", str(capture), "-f", str(script), *(extra or [])],
        stdout=slave,
        stderr=subprocess.PIPE,
        env=env,
    )
    os.close(slave)
    received = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return received.decode().replace("\r\n", "\n"), err.decode()


def test_redrawn_display_on_a_terminal(cap1: Path, tmp_path: Path) -> None:
    script = tmp_path / "display.py"
    script.write_text(DISPLAY)
    screen, _ = on_terminal(cap1, script, columns=40)
    assert screen.startswith(ENTER + HOME_CLEAR)
    display, after = screen.split(LEAVE)
    # Columns are at most 40 // 2 + 15 = 34 cells wide (upstream's rule, W = width - 1 = 39)
    assert "│ " + "x" * 34 + " │ 1 │" in display
    # after the display: the last frame stays on the normal screen, then what was held back
    assert lines(after) == [
        "┌──────┬───┐",
        "│ KEY  │ N │",
        "├──────┼───┤",
        "│ last │ 2 │",
        "└──────┴───┘",
        "printed by the filament",
    ]


def test_no_redraw_and_pipes_get_every_frame(cap1: Path, tmp_path: Path) -> None:
    script = tmp_path / "display.py"
    script.write_text(DISPLAY)
    result = replay(cap1, str(script))  # not a terminal: frames one after another
    out = lines(result.stdout)
    assert out[0] == "printed by the filament"
    assert sum(line.startswith("┌") for line in out) == 2
    assert "│ " + "x" * 60 + " │ 1 │" in out  # no width limit off a terminal


def test_a_filament_without_columns_in_on_init_appends_on_a_terminal(cap1: Path) -> None:
    screen, _ = on_terminal(cap1, SCRIPTS / "hook_trace.py")
    assert ENTER not in screen
    assert lines(screen)[-2:] == ["tick", "stop"]


def test_no_redraw_on_a_terminal(cap1: Path, tmp_path: Path) -> None:
    script = tmp_path / "display.py"
    script.write_text(DISPLAY)
    screen, _ = on_terminal(cap1, script, extra=["--no-redraw"])
    assert ENTER not in screen
    assert lines(screen)[0] == "printed by the filament"
    assert "│ " + "x" * 60 + " │ 1 │" in lines(screen)


def test_progress_on_a_terminal_stderr_when_stdout_is_a_file(live2022: Path) -> None:
    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = str(REPO / "src")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kcap", "replay", str(live2022), "-f", "count_events"],
        stdout=subprocess.PIPE,
        stderr=slave,
        env=env,
    )
    os.close(slave)
    out, _ = proc.communicate(timeout=120)
    received = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    assert proc.returncode == 0
    err = received.decode()
    assert "\rkcap: count_events: 8,192 records read, " in err
    # the line is cleared at the end (before the note on this capture's missing parameters)
    assert err.split("kcap: note:")[0].endswith("\r\x1b[K")
    assert "CloseHandle" in out.decode()


def test_the_display_shows_progress_until_its_first_frame(live2022: Path) -> None:
    screen, _ = on_terminal(live2022, REPO / "src/kcap/filaments/bundled/count_events.py")
    display, after = screen.split(LEAVE)
    assert HOME_CLEAR + "kcap: count_events: 8,192 records read" in display
    assert "│ CloseHandle " in after
