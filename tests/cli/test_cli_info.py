"""``kcap info``: tables and JSON on the fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import zstandard

from .captures import demo_capture, rewrite, run, truncated

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


def test_info_on_a_damaged_handle_section_reports_the_header(tmp_path: Path) -> None:
    # Cut inside the first handle record: the header was read, nothing after it.
    good = demo_capture(tmp_path)
    raw = zstandard.ZstdDecompressor().decompressobj().decompress(good.read_bytes())
    cut = tmp_path / "cut.kcap"
    cut.write_bytes(zstandard.ZstdCompressor().compress(raw[:40]))
    result = run("info", str(cut), "--json")
    assert result.exit_code == 1
    d = json.loads(result.stdout)
    assert d["format_version"] == "2.0" and d["byte_order"] == "little"
    assert d["compressed_size"] == cut.stat().st_size and d["raw_size"] == 28
    assert d["events"] == 0 and d["complete"] is False and "handle" in d["fatal_error"]
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith(f"kcap: error: {cut}: byte 28: handle record")
    text = run("info", str(cut))
    assert text.exit_code == 1
    assert "Format version          2.0" in text.stdout and "Read stopped early" in text.stdout


@pytest.mark.parametrize(
    ("old", "new", "printed"),
    [
        # TerminateProcess: its process update decodes the tail at once
        (b"\x08\x00\x0b\x00exit_status", b"\xee\xee\x0b\x00exit_status", 22),
        # Connect changes no state: its tail is first decoded when replay renders it
        (b"\x01\x00\x08\x00l4_proto", b"\xee\xee\x08\x00l4_proto", 22),
        # an ImageRundown: state-only, never printed, but skipped all the same
        (b"$\x00\x0c\x00base_address", b"\xee\xee\x0c\x00base_address", 23),
    ],
)
def test_non_fatal_errors_count_what_replay_skips(
    tmp_path: Path, old: bytes, new: bytes, printed: int
) -> None:
    bad = rewrite(demo_capture(tmp_path), tmp_path / "bad.kcap", old, new)
    replay = run("replay", str(bad), "--format", "jsonl")
    assert replay.exit_code == 0
    skipped = sum(1 for w in replay.stderr.splitlines() if "unknown type id" in w)
    assert (len(replay.stdout.splitlines()), skipped) == (printed, 1)
    info = run("info", str(bad), "--json")
    assert info.exit_code == 0
    d = json.loads(info.stdout)
    assert (d["errors"], d["replayed_events"], d["events"]) == (skipped, printed, 35)
    assert "unknown type id" in d["error_messages"][0]
    assert "Non-fatal errors        1 (events replay skips)" in run("info", str(bad)).stdout


def test_piped_tables_are_not_padded_or_wrapped(live2022: Path) -> None:
    out = run("info", str(live2022)).stdout
    lines = out.splitlines()
    assert all(line == line.rstrip() for line in lines)
    # a long value stays on its row (80 columns would wrap it)
    assert any(
        line.endswith(
            "Writer generation       1.0 writer, 2020-12 .. 2023-05 (parameter table 2020)"
        )
        for line in lines
    )


def test_numbers_in_tables_have_one_format(live2022: Path) -> None:
    out = run("info", str(live2022)).stdout
    assert "Sequence numbers        first 0, last 57,325, min 0, max 57,325" in out
    assert "Compressed size         2,002,429 bytes (2 MB)" in out
    assert "Events                  73,084 (57,326 replayed, 15,758 state-only)" in out
    assert " CloseHandle          16,739   22.9%" in out


def test_long_names_are_cut_in_tables_and_whole_in_json(tmp_path: Path) -> None:
    from kcap import Event, Timestamp, new_writer
    from kcap.cli.tables import MAX_CELL
    from kcap.model.catalogue import by_name
    from kcap.writer import Config

    et = by_name()["CreateFile"]
    name = "N" * (MAX_CELL + 500)
    path = tmp_path / "long.kcap"
    w = new_writer(path, config=Config(flush_period=0))
    w.write(Event(seq=1, type=et.id, name=name, category="file", timestamp=Timestamp.from_ns(0)))
    w.close()
    out = run("info", str(path)).stdout
    assert f" {'N' * MAX_CELL}… (500 more characters)" in out and name not in out
    assert json.loads(run("info", str(path), "--json").stdout)["names"] == {name: 1}
