"""A filament's exceptions: reported with traceback and event, never fatal unless strict."""

from __future__ import annotations

from pathlib import Path

import kcap

from .helpers import SCRIPTS, lines, replay


def test_exceptions_are_reported_and_the_replay_goes_on(live2022: Path) -> None:
    result = replay(live2022, "newer_api_on_old_capture")
    assert result.exit_code == 0
    err = result.stderr
    first = lines(err)[0]
    assert first.startswith(
        "kcap: filament newer_api_on_old_capture: on_next_kevent raised KeyError on event "
    )
    assert "(CreateFile, pid " in first and "2022-08-15T21:56:" in first
    assert f'{SCRIPTS}/newer_api_on_old_capture.py", line 9, in on_next_kevent' in err
    assert "  KeyError: 'file_path'" in err
    assert "  it was given: {'seq': " in err and "'file_name': " in err
    assert "runner.py" not in err
    with kcap.open(live2022) as reader:
        creates = sum(ev.name == "CreateFile" for ev in reader.read())
    # the first ten in full, then a count of all of them
    assert err.count("raised KeyError on event") == 10
    # (last but for the note on the capture's CreateProcess events without 'flags')
    assert [line for line in lines(err) if not line.startswith("kcap: note:")][-1] == (
        f"kcap: filament newer_api_on_old_capture: {creates:,} exception(s): "
        f"{creates:,} in on_next_kevent; {creates - 10:,} not shown"
    )


def test_every_event_is_still_delivered_and_on_stop_runs_once(cap1: Path) -> None:
    result = replay(cap1, "raises_every_tenth")
    assert result.exit_code == 0
    assert lines(result.stdout) == ["stopped after 100"]
    assert "on_interval raised RuntimeError" in result.stderr  # the final tick
    assert "10 in on_next_kevent, 1 in on_interval" in lines(result.stderr)[-1]


def test_strict_stops_at_the_first_exception(cap1: Path) -> None:
    result = replay(cap1, "raises_every_tenth", "--filament-strict")
    assert result.exit_code == 1
    assert lines(result.stdout) == ["stopped after 10"]  # on_stop still runs, once
    last = lines(result.stderr)[-1]
    assert last.startswith(f"kcap: error: {SCRIPTS}/raises_every_tenth.py: on_next_kevent raised")
    assert "ValueError: cannot handle 10 on event 10 (CreateFile" in last
    assert last.endswith("(--filament-strict)")


def test_on_stop_exception_is_reported_not_fatal(cap1: Path) -> None:
    result = replay(cap1, "stop_raises")
    assert result.exit_code == 0
    assert "on_stop raised KeyError" in result.stderr and "KeyError: 'gone'" in result.stderr
