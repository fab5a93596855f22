"""`kcap filaments` and the command-line rules of -f."""

from __future__ import annotations

import json
from pathlib import Path

from kcap.filaments import BUNDLED
from tests.cli.captures import run

from .helpers import SCRIPTS, lines, replay


def test_listing_shows_each_directory_with_descriptions(tmp_path: Path) -> None:
    (tmp_path / "count_events.py").write_text('"""My own counter."""\n')
    (tmp_path / "notes.txt").write_text("not a filament")
    (tmp_path / "utils").mkdir()
    (tmp_path / "undocumented.py").write_text("x = 1\n")
    result = run("filaments", "--filament-path", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    out = lines(result.stdout)
    assert out[0] == f"{tmp_path}:"
    assert out[1:7] == [
        "┌──────────────┬─────────────────┐",
        "│ NAME         │ DESCRIPTION     │",
        "├──────────────┼─────────────────┤",
        "│ count_events │ My own counter. │",
        "│ undocumented │                 │",
        "└──────────────┴─────────────────┘",
    ]
    assert f"{BUNDLED}:" in out
    assert any(
        line.startswith("│ count_events ") and f"(shadowed by {tmp_path}/count_events.py)" in line
        for line in out
    )


def test_listing_as_json() -> None:
    result = run("filaments", "--json")
    listed = json.loads(result.stdout)
    by_name = {f["name"]: f for f in listed}
    assert by_name["count_events"]["path"] == str(BUNDLED / "count_events.py")
    assert by_name["count_events"]["description"].startswith("Counts the events by name")
    assert by_name["count_events"]["shadowed_by"] is None


def test_listing_a_missing_directory_fails() -> None:
    result = run("filaments", "--filament-path", "/nonexistent/filaments")
    assert result.exit_code == 1
    assert result.stderr == (
        "kcap: error: /nonexistent/filaments: the filament directory does not exist or is not "
        "a directory\n"
    )


def test_a_docstring_that_does_not_parse_is_described_as_such(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def f(:\n")
    out = run("filaments", "--filament-path", str(tmp_path)).stdout
    assert "(does not parse: invalid syntax, line 1)" in out


def test_unknown_filament(cap1: Path) -> None:
    result = replay(cap1, "no_such_filament")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f'kcap: error: "no_such_filament" filament does not exist (looked in {SCRIPTS}, '
    )
    assert 'run "kcap filaments"' in result.stderr


def test_format_does_not_apply_with_a_filament(cap1: Path) -> None:
    result = replay(cap1, "count_events", "--format", "jsonl")
    assert result.exit_code == 2
    assert result.stderr == (
        "kcap: error: --format does not apply with -f: the events go to the filament\n"
    )


def test_filament_options_need_a_filament(cap1: Path) -> None:
    result = run("replay", str(cap1), "--filament-strict", "--no-redraw")
    assert result.exit_code == 2
    assert result.stderr == "kcap: error: --filament-strict, --no-redraw only apply with -f NAME\n"


def test_an_unreadable_capture_is_reported_before_the_filament_loads(tmp_path: Path) -> None:
    result = replay(tmp_path / "missing.kcap", "hook_trace")
    assert result.exit_code == 1
    assert "capture file does not exist" in result.stderr
    assert result.stdout == ""


def test_a_bad_command_line_filter_is_a_usage_error(cap1: Path) -> None:
    result = replay(cap1, "hook_trace", "kevt.name =")
    assert result.exit_code == 2
    assert result.stderr.startswith("kcap: error: filter: ")


def test_alerts_file_that_cannot_be_written(cap1: Path) -> None:
    result = replay(cap1, "count_events", "--alerts", "/nonexistent/dir/alerts.jsonl")
    assert result.exit_code == 1
    assert result.stderr.startswith("kcap: error: /nonexistent/dir/alerts.jsonl: cannot write")


def test_help_lists_the_filament_options() -> None:
    out = run("replay", "--help").stdout
    for option in ("-f, --filament", "--filament-path", "--filament-strict", "--alerts"):
        assert option in out
    assert "--filament-clock [capture|wall]" in out
    assert "-f, --filament" in run("capture", "--help").stdout


def test_a_path_to_a_script_works_without_a_search_path(cap1: Path) -> None:
    result = run("replay", str(cap1), "-f", f"{SCRIPTS}/spec_tables.py,title")
    assert result.exit_code == 0, result.stderr
    assert "│ Top sources           │" in result.stdout
