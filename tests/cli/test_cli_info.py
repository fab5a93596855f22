"""``kcap info``: tables and JSON on the fixtures."""

from __future__ import annotations

import json
from pathlib import Path

from .captures import demo_capture, run, truncated

INFO_KEYS = {
    "path",
    "format_version",
    "generation",
    "byte_order",
    "flags",
    "compressed_size",
    "raw_size",
    "ratio",
    "terminated",
    "complete",
    "fatal_error",
    "events",
    "state_events",
    "replayed_events",
    "handles",
    "processes",
    "time",
    "seq",
    "names",
    "types",
    "categories",
    "hosts",
    "handle_types",
    "errors",
    "error_messages",
}


def test_info_json_schema_and_figures(live2022: Path) -> None:
    result = run("info", str(live2022), "--json")
    assert result.exit_code == 0, result.stderr
    d = json.loads(result.stdout)
    assert set(d) == INFO_KEYS
    assert (d["compressed_size"], d["raw_size"]) == (2_002_429, 20_996_032)
    assert (d["events"], d["handles"], d["processes"]) == (73_084, 20_614, 234)
    assert d["replayed_events"] == 73_084 - 15_758
    assert d["time"] == {
        "first": "2022-08-15T21:56:28.3433744Z",
        "last": "2022-08-15T21:57:27.6440655Z",
        "min": "2022-08-15T21:56:28.3433744Z",
        "max": "2022-08-15T21:57:28.0118799Z",
        "unknown": 0,
    }
    assert d["names"]["CloseHandle"] == 16_739 and d["names"]["N/A"] == 15_758
    assert d["format_version"] == "1.0" and d["byte_order"] == "little" and d["flags"] == 0
    assert d["terminated"] is True and d["complete"] is True and d["errors"] == 0
    assert isinstance(d["ratio"], float) and 10 < d["ratio"] < 11
    assert result.stderr == ""


def test_info_tables_show_the_figures(cap1: Path) -> None:
    result = run("info", str(cap1))
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for text in (
        "1,213 bytes",
        "33,519 bytes",
        "1.0",
        "little",
        "2022-08-27T19:14:37.7160819+02:00",
        "2022-08-27T19:14:37.7174238+02:00",
        "CreateFile",
        "archrabbit",
    ):
        assert text in out, text
    assert "Events by recorded name" in out
    # Recorded names equal the type names here: no second histogram.
    assert "from the type ids" not in out


def test_info_tables_split_na_by_type(live2022: Path) -> None:
    out = run("info", str(live2022)).stdout
    assert "from the type ids" in out
    assert "ImageRundown" in out and "9,950" in out
    assert "73,084" in out and "20,614" in out


def test_info_on_a_truncated_capture_prints_summary_then_error(
    live2022: Path, tmp_path: Path
) -> None:
    cut = truncated(live2022, tmp_path / "cut.kcap", 1_000_000)
    result = run("info", str(cut), "--json")
    assert result.exit_code == 1
    d = json.loads(result.stdout)
    assert d["complete"] is False and 0 < d["events"] < 73_084
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"kcap: error: {cut}: ")
    assert "ends inside" in lines[0]


def test_info_demo_capture(tmp_path: Path) -> None:
    d = json.loads(run("info", str(demo_capture(tmp_path)), "--json").stdout)
    assert (d["events"], d["state_events"], d["handles"], d["processes"]) == (35, 12, 4, 5)
    assert d["format_version"] == "2.0" and "2023c" in d["generation"]
