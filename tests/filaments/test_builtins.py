"""The builtins: argument rules, configuration only in on_init, cells, alerts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kcap.filaments.alerts import severity_of, tags_of

from .helpers import lines, replay


@pytest.fixture(scope="module", params=["kevent", "event"])
def rules_output(request: pytest.FixtureRequest) -> tuple[list[str], list[str]]:
    """What builtin_rules prints, written for either API generation (the builtins are the
    same in both)."""
    from tests.conftest import fixture_path

    result = replay(fixture_path("fibratus", "cap1.kcap"), f"builtin_rules,{request.param}")
    assert result.exit_code == 0, result.stderr
    return lines(result.stdout), lines(result.stderr)


@pytest.mark.parametrize(
    "line",
    [
        "interval float -> TypeError interval(): the argument must be an integer (whole seconds), "
        "not float",
        "interval keyword -> TypeError interval() got some positional-only arguments passed as "
        "keyword arguments: 'seconds'",
        "interval bool -> None",
        "columns tuple -> TypeError columns(): the argument must be a list of column names, not "
        "tuple",
        "sort_by int -> TypeError sort_by(): the argument must be a column name (str), not int",
        "max_rows str -> TypeError max_rows(): the argument must be an integer, not str",
        "find_process -> None",
        "find_handles -> None",
        "render_table arg -> TypeError render_table() takes 0 positional arguments but 1 was given",
        "interval late -> None",
        "add_row tuple -> TypeError add_row(): the argument must be a list of cells, not tuple",
        "add_row short -> ValueError add_row(): the row has 1 cell(s) but the table has 3 "
        "column(s)",
        "add_row -> 3",
        "emit_alert keyword title -> TypeError emit_alert() got some positional-only arguments "
        "passed as keyword arguments: 'title, text'",
        "emit_alert tags -> TypeError emit_alert(): tags must be a list of strings, not str",
        "emit_alert -> None",
    ],
)
def test_argument_rules(rules_output: tuple[list[str], list[str]], line: str) -> None:
    assert line in rules_output[0]


def test_cells_and_title_in_the_rendered_table(rules_output: tuple[list[str], list[str]]) -> None:
    out = rules_output[0]
    top = out.index("┌─────────────────────────────────────┐")
    assert out[top : top + 10] == [
        "┌─────────────────────────────────────┐",
        "│ 100% of it                          │",  # shown literally
        "├─────────────────────┬───────┬───────┤",
        "│ NAME                │       │ VALUE │",  # a non-str column name is empty
        "├─────────────────────┼───────┼───────┤",
        "│ str                 │ 1     │ x     │",
        "│ <nil>               │ -7    │ 2.5   │",
        "│ <nil>               │ <nil> │ ::1   │",
        "│ 2024-01-02 03:04:05 │ <nil> │ <nil> │",
        "└─────────────────────┴───────┴───────┘",
    ]


def test_configuration_outside_on_init_is_ignored_with_one_warning(
    rules_output: tuple[list[str], list[str]],
) -> None:
    err = rules_output[1]
    assert (
        err.count(
            "kcap: warning: filament builtin_rules: interval() has an effect only inside on_init; "
            "the call from on_interval was ignored"
        )
        == 1
    )
    assert sum("kfilter() has an effect only inside on_init" in line for line in err) == 1


def test_the_last_filter_set_in_on_init_wins(live2022: Path, tmp_path: Path) -> None:
    script = tmp_path / "last_filter.py"
    script.write_text(
        "def on_init():\n"
        "    kfilter(\"kevt.name = 'CreateFile'\")\n"
        "    set_filter(\"kevt.name = 'Connect'\")\n"
        "def on_next_kevent(kevent):\n"
        "    print(kevent['name'])\n"
    )
    result = replay(live2022, str(script))
    assert lines(result.stdout) == ["Connect"] * 5


def test_alerts_are_shown_and_written_as_json_lines(cap1: Path, tmp_path: Path) -> None:
    out = tmp_path / "alerts.jsonl"
    result = replay(cap1, "builtin_rules", "--alerts", str(out))
    assert "kcap: alert: builtin_rules: high: Title: 42 [a, , ]" in lines(result.stderr)
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    assert alerts == [
        {
            "filament": "builtin_rules",
            "title": "Title",
            "text": "42",
            "severity": "high",
            "tags": ["a", "", ""],
            "hook": "on_stop",
            "seq": None,
            "timestamp": None,
        },
        {
            "filament": "builtin_rules",
            "title": "T",
            "text": "x",
            "severity": "low",
            "tags": [],
            "hook": "on_stop",
            "seq": None,
            "timestamp": None,
        },
    ]


@pytest.mark.parametrize(
    ("given", "severity"),
    [
        (None, "low"),
        ("normal", "low"),
        ("NORMAL", "low"),
        ("Medium", "medium"),
        ("HIGH", "high"),
        ("critical", "critical"),
        ("mEdium", "low"),
        ("urgent", "low"),
        (3, "low"),
    ],
)
def test_severity_words(given: object, severity: str) -> None:
    assert severity_of(given) == severity


def test_tags() -> None:
    assert tags_of(None) == []
    assert tags_of(["a", ["b"], 3]) == ["a", "", ""]
    with pytest.raises(TypeError):
        tags_of(("a",))
