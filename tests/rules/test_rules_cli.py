"""`kcap detect`: alerts as they fire, the summary, formats, severities, exit statuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from rule_kit import rule_text, write_rules
from tests.conftest import fixture_path

from kcap.cli.main import cli


@pytest.fixture(scope="module")
def fixture() -> tuple[Path, Path]:
    base = fixture_path("rules")
    return base / "scenarios.kcap", base / "rules"


def run(*args: str) -> object:
    return CliRunner().invoke(cli, ["detect", *args])


def test_text_output_lists_alerts_then_the_summary(fixture: tuple[Path, Path]) -> None:
    capture, rules = fixture
    result = run(str(capture), "--rules", str(rules))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    out = result.stdout  # type: ignore[attr-defined]
    assert out.index("[medium] Clear Eventlog") < out.index("Rules: 8 loaded, 8 evaluable")
    assert "#1 seq 493" in out and "#2 seq 494" in out
    assert "action kill pids 12160: not executed (reported only)" in out
    assert out.rstrip().endswith("Alerts: 10")


def test_jsonl_is_one_alert_per_line_and_the_summary_goes_to_stderr(
    fixture: tuple[Path, Path],
) -> None:
    capture, rules = fixture
    result = run(str(capture), "--rules", str(rules), "--format", "jsonl")
    lines = [json.loads(x) for x in result.stdout.splitlines()]  # type: ignore[attr-defined]
    assert len(lines) == 10
    assert {"rule_id", "rule_name", "severity", "seq", "events", "capture"} <= set(lines[0])
    assert "Alerts: 10" in result.stderr  # type: ignore[attr-defined]


def test_json_document_holds_alerts_and_summary(fixture: tuple[Path, Path]) -> None:
    capture, rules = fixture
    doc = json.loads(run(str(capture), "--rules", str(rules), "--format", "json").stdout)  # type: ignore[attr-defined]
    assert len(doc["alerts"]) == 10
    assert doc["summary"]["rules_loaded"] == 8 and doc["summary"]["alerts_total"] == 10


def test_min_severity_hides_lower_alerts_but_counts_them(fixture: tuple[Path, Path]) -> None:
    capture, rules = fixture
    result = run(str(capture), "--rules", str(rules), "--min-severity", "high", "--format", "jsonl")
    lines = [json.loads(x) for x in result.stdout.splitlines()]  # type: ignore[attr-defined]
    assert lines and {x["severity"] for x in lines} == {"high"}
    assert "below --min-severity not shown" in result.stderr  # type: ignore[attr-defined]


def test_fail_on_sets_the_exit_status(fixture: tuple[Path, Path]) -> None:
    capture, rules = fixture
    assert run(str(capture), "--rules", str(rules), "--fail-on", "high").exit_code == 1  # type: ignore[attr-defined]
    assert run(str(capture), "--rules", str(rules), "--fail-on", "critical").exit_code == 0  # type: ignore[attr-defined]


def test_bad_rule_files_exit_2_with_every_problem_on_its_own_line(
    tmp_path: Path, fixture: tuple[Path, Path]
) -> None:
    d = write_rules(tmp_path, "spawn_process and ps.nme = 'x'")
    (d / "two.yml").write_text(rule_text("spawn_process", severity="urgent"))
    result = run(str(fixture[0]), "--rules", str(d))
    assert result.exit_code == 2  # type: ignore[attr-defined]
    errors = [x for x in result.stderr.splitlines() if x.startswith("kcap: error:")]  # type: ignore[attr-defined]
    assert len(errors) == 2
    assert any("rule0.yml" in e and "unknown field 'ps.nme'" in e for e in errors)
    assert any("two.yml" in e and "severity" in e for e in errors)


def test_not_evaluable_rules_are_listed_with_what_they_need(
    tmp_path: Path, fixture: tuple[Path, Path]
) -> None:
    d = write_rules(
        tmp_path, ("load_module and module.signature.exists = false", {"name": "Unsigned"})
    )
    result = run(str(fixture[0]), "--rules", str(d))
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert (
        "not evaluable on this capture: Unsigned: needs signature verification" in result.stdout  # type: ignore[attr-defined]
    )
    assert "0 evaluable, 1 not evaluable" in result.stdout  # type: ignore[attr-defined]


def test_unreadable_capture_is_one_error_line(tmp_path: Path) -> None:
    d = write_rules(tmp_path, "spawn_process")
    bad = tmp_path / "bad.kcap"
    bad.write_bytes(b"not a capture at all")
    result = run(str(bad), "--rules", str(d))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    (line,) = result.stderr.strip().splitlines()[-1:]  # type: ignore[attr-defined]
    assert line.startswith("kcap: error:") and "bad.kcap" in line


def test_help_has_examples_and_exit_statuses() -> None:
    result = run("--help")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert "Examples:" in result.stdout and "Exit status:" in result.stdout  # type: ignore[attr-defined]
    assert "--fail-on" in result.stdout and "--use-defaults" in result.stdout  # type: ignore[attr-defined]
