"""The shared scenario capture: upstream rules, every expected alert and no other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import fixture_path

import kcap
import kcap.rules


@pytest.fixture(scope="module")
def material() -> tuple[Path, Path, Path, Path]:
    base = fixture_path("rules")
    return (
        base / "scenarios.kcap",
        base / "rules",
        base / "expected-alerts.jsonl",
        base / "scenarios.jsonl",
    )


@pytest.fixture(scope="module")
def alerts(material: tuple[Path, Path, Path, Path]) -> list[kcap.rules.Alert]:
    capture, rules, _, _ = material
    ruleset = kcap.rules.load([rules])
    return list(kcap.detect(capture, ruleset))


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_every_upstream_rule_of_the_fixtures_loads_and_is_evaluable(material: tuple) -> None:
    ruleset = kcap.rules.load([material[1]])
    assert len(ruleset.rules) == 8
    assert ruleset.not_evaluable() == []
    assert len(ruleset.evaluable()) == 8
    assert all(not r.warnings for r in ruleset.rules)


def test_every_expected_alert_is_raised(alerts: list, material: tuple) -> None:
    got = {(a.rule.id, tuple(sorted(e.seq for e in a.events))) for a in alerts}
    for exp in _lines(material[2]):
        assert (exp["rule_id"], tuple(sorted(exp["seq"]))) in got, exp["scenario"]


def test_no_alert_beyond_the_expected_ones(alerts: list, material: tuple) -> None:
    expected = [(e["rule_id"], sorted(e["seq"])) for e in _lines(material[2])]
    got = [(a.rule.id, sorted(e.seq for e in a.events)) for a in alerts]
    assert sorted(got) == sorted(expected)


def test_no_near_miss_scenario_contributes_to_any_alert(alerts: list, material: tuple) -> None:
    alerted = {e.seq for a in alerts for e in a.events}
    near = [s for s in _lines(material[3]) if s["kind"].startswith("near-miss")]
    assert len(near) == 15
    for scenario in near:
        assert not alerted & set(scenario["events"]), scenario["scenario"]


def test_sequence_alerts_carry_one_event_per_step_in_step_order(
    alerts: list, material: tuple
) -> None:
    by_key = {(a.rule.id, tuple(e.seq for e in a.events)): a for a in alerts}
    for exp in _lines(material[2]):
        if "steps" not in exp:
            continue
        alert = by_key[(exp["rule_id"], tuple(exp["seq"]))]
        assert [e.name for e in alert.events] == [s["event"] for s in exp["steps"]]


def test_create_process_alert_is_attributed_to_the_created_process(alerts: list) -> None:
    spawned = [a for a in alerts if a.rule.name == "Process spawned from unusual directory"]
    (alert,) = spawned
    (ev,) = alert.events
    assert ev.ps is not None and ev.ps.name == "rundll32.exe"
    assert ev.ps.parent is not None and ev.ps.parent.name == "cmd.exe"
    assert alert.text.strip() == (
        "Process rundll32.exe spawned from suspicious directory C:\\Users\\Public\\rundll32.exe"
    )
    assert [a.name for a in alert.actions] == ["kill"]
    assert alert.actions[0].pids == [ev.pid] and not alert.actions[0].executed


def test_output_templates_render_on_the_alert_events(alerts: list) -> None:
    texts = {a.rule.name: a.text.strip() for a in alerts}
    assert texts["Clear Eventlog"] == (
        "Windows Eventlog store C:\\Windows\\System32\\winevt\\Logs\\Security.evtx was cleared"
    )
    # "$2.net.dip" is not a token in upstream's syntax either: it stays as written.
    assert texts["Potential NTLM hash leak via MS Photos"].endswith("at address $2.net.dip")
