"""Rule and macro files: discovery, schema checks (one problem per bad key), ids, versions."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rule_kit import MACROS, rule_text, write_rules

import kcap.rules
from kcap.errors import KcapError, RuleError
from kcap.rules.schema import RULE_KEYS

GOOD = "spawn_process and ps.name = 'cmd.exe'"
RID = "0b7f3c8e-1d2a-4e5f-9a6b-7c8d9e0f1a2b"


def problems_of(tmp_path: Path, text: str, name: str = "bad.yml") -> list[str]:
    d = write_rules(tmp_path)
    (d / name).write_text(text)
    with pytest.raises(RuleError) as info:
        kcap.rules.load([d])
    assert isinstance(info.value, KcapError)
    return info.value.problems


def test_loads_files_and_directories_recursively(tmp_path: Path) -> None:
    d = write_rules(tmp_path, GOOD)
    sub = d / "nested" / "deeper"
    sub.mkdir(parents=True)
    (sub / "other.yaml").write_text(rule_text("spawn_process and ps.name = 'a.exe'"))
    (d / "README.md").write_text("not a rule")
    ruleset = kcap.rules.load([d])
    assert len(ruleset.rules) == 2
    assert "shells" in ruleset.macros and "spawn_process" in ruleset.macros
    one = kcap.rules.load([d / "macros.yml", sub / "other.yaml"])
    assert len(one.rules) == 1


def test_schema_problem_names_file_rule_id_and_key(tmp_path: Path) -> None:
    text = f"""
name: Bad severity
id: {RID}
version: 1.0.0
condition: {GOOD}
min-engine-version: 3.0.0
severity: urgent
"""
    (problem,) = problems_of(tmp_path, text)
    assert "bad.yml" in problem and f"rule {RID}" in problem and ": severity:" in problem
    assert "'urgent' is not one of low, medium, high, critical" in problem


def test_every_bad_key_is_its_own_problem(tmp_path: Path) -> None:
    text = f"""
name: x
id: 0B7F3C8E-1D2A-4E5F-9A6B-7C8D9E0F1A2B
version: "1.0"
condition: {GOOD}
labels: {{weight: 5}}
tags: [ok, ""]
colour: blue
action: [{{name: kill, whitelist: [1.2.3.4]}}, {{name: reboot}}]
"""
    found = problems_of(tmp_path, text)
    wanted = [
        "colour: unknown key",
        "min-engine-version: is required",
        "id: '0B7F3C8E-1D2A-4E5F-9A6B-7C8D9E0F1A2B' is not a lowercase UUID",
        "name: must be at least 3 characters",
        "version: '1.0' is not a version",
        "labels.weight: must be text, not a number",
        "tags[1]: must be non-empty text",
        "action[0].whitelist: is allowed only for the isolate action",
        "action[1].name: 'reboot' is not one of kill, isolate",
    ]
    for w in wanted:
        assert any(w in p for p in found), (w, found)
    assert len(found) == len(wanted)


def test_yaml_syntax_error_says_line_and_column(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "name: [unclosed\nid: x\n")
    assert "bad.yml" in problem and "is not valid YAML (line" in problem


def test_a_rule_file_holds_a_mapping(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, "just text")
    assert "a rule file holds one rule" in problem


def test_condition_syntax_error_is_reported_with_the_rule(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, rule_text("spawn_process and ps.nme = 'x'", id=RID))
    assert f"rule {RID}" in problem and "unknown field 'ps.nme'" in problem


def test_unknown_event_names_and_old_names_are_errors(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path, rule_text("evt.name in ('CreateProces', 'LoadImage') or evt.category = 'image'")
    )
    assert any('"CreateProces" is not an event name' in p for p in found)
    assert any('"LoadImage" is called "LoadModule"' in p for p in found)
    assert any('category "image" is called "module"' in p for p in found)


def test_duplicate_ids_are_an_error_naming_both_files(tmp_path: Path) -> None:
    d = write_rules(tmp_path, (GOOD, {"id": RID, "name": "First"}))
    (d / "second.yml").write_text(rule_text(GOOD, id=RID, name="Second"))
    with pytest.raises(RuleError) as info:
        kcap.rules.load([d])
    (problem,) = info.value.problems
    assert '"Second" uses the id of a rule in' in problem and "rule0.yml" in problem


def test_disabled_rules_are_loaded_checked_but_not_compiled(tmp_path: Path) -> None:
    d = write_rules(tmp_path, ("this is not ( a condition", {"enabled": False, "name": "Off"}))
    ruleset = kcap.rules.load([d])
    (rule,) = ruleset.rules
    assert not rule.enabled and rule.condition is None
    assert ruleset.disabled == [rule] and ruleset.evaluable() == []
    assert any("[Off] rule is disabled" in w for w in ruleset.warnings)
    # ... but a disabled rule still takes part in the duplicate-id check
    (d / "dup.yml").write_text(rule_text(GOOD, id=rule.id))
    with pytest.raises(RuleError, match="uses the id"):
        kcap.rules.load([d])


def test_min_engine_version_above_ours_is_an_error(tmp_path: Path) -> None:
    d = write_rules(tmp_path, (GOOD, {"min_engine_version": "9.0.0"}))
    with pytest.raises(RuleError, match=r"needs engine version 9\.0\.0.*3\.1\.1"):
        kcap.rules.load([d])
    assert kcap.rules.ENGINE_VERSION == "3.1.1"
    ok = write_rules(tmp_path, (GOOD, {"min_engine_version": "3.1.1"}))
    assert len(kcap.rules.load([ok]).evaluable()) == 1


def test_go_templates_are_refused_with_a_reason(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path, rule_text("ps.name = '{{ .x }}' and spawn_process"))
    assert "Go template" in problem


def test_macro_file_problems(tmp_path: Path) -> None:
    d = write_rules(tmp_path, GOOD)
    (d / "more.yml").write_text(
        "- macro: has-dash\n  expr: ps.name = 'x'\n"
        "- macro: both\n  expr: ps.name = 'x'\n  list: [a]\n"
        "- macro: neither\n"
        "- macro: ok_list\n  list: [a, b]\n  colour: red\n"
    )
    with pytest.raises(RuleError) as info:
        kcap.rules.load([d])
    text = "\n".join(info.value.problems)
    assert "macro has-dash" in text and "cannot be used in a condition" in text
    assert "macro both" in text and "exactly one of expr" in text
    assert "macro neither" in text
    assert "macro ok_list: colour: unknown key" in text


def test_a_later_macro_replaces_an_earlier_one_with_a_warning(tmp_path: Path) -> None:
    d = write_rules(tmp_path, "spawn_process and ps.name in shells")
    (d / "zz_override.yml").write_text("- macro: shells\n  list: [zsh]\n")
    ruleset = kcap.rules.load([d])
    assert ruleset.macros["shells"].items == ("zsh",)
    assert any("macro shells replaces" in w for w in ruleset.warnings)


def test_missing_path_and_empty_sets(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="no such rule file or directory"):
        kcap.rules.load([tmp_path / "nope"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RuleError, match=r"no \.yml or \.yaml files"):
        kcap.rules.load([empty])
    only_macros = tmp_path / "m.yml"
    only_macros.write_text(MACROS)
    with pytest.raises(RuleError, match="no rules in"):
        kcap.rules.load([only_macros])


def test_all_problems_of_all_files_are_reported_together(tmp_path: Path) -> None:
    d = write_rules(tmp_path, GOOD)
    (d / "a.yml").write_text("name: [broken")
    (d / "b.yml").write_text(rule_text("spawn_process and", id=RID))
    with pytest.raises(RuleError) as info:
        kcap.rules.load([d])
    assert len(info.value.problems) == 2
    assert str(info.value) == "2 problems in the rule files"


_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_KEYS = st.sampled_from([*sorted(RULE_KEYS), "colour", ""])


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(doc=st.dictionaries(_KEYS, _VALUES | st.text(max_size=60), max_size=8))
def test_any_rule_document_loads_or_is_a_rule_error(tmp_path: Path, doc: dict) -> None:
    d = tmp_path / "fuzz"
    d.mkdir(exist_ok=True)
    (d / "r.yml").write_text(yaml.safe_dump(doc))
    try:
        kcap.rules.load([d])
    except RuleError as exc:
        assert exc.problems and all(isinstance(p, str) and p for p in exc.problems)
