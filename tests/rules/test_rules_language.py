"""The rule language (current upstream): macros, typed defaults, negation, foreach, functions,
current field names, warnings; compiled by the one filter compiler in its rules dialect."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rule_kit import event, feed_all, load, proc

import kcap.rules
from kcap.errors import FilterError
from kcap.filter import compile as compile_filter
from kcap.filter.condition import compile_condition
from kcap.filter.macros import Macro
from kcap.model import Module, Param, Process
from kcap.model.params import ParamType as T

M = {
    "m_or": Macro("m_or", "ps.name = 'a' or ps.name = 'b'"),
    "m_or_paren": Macro("m_or_paren", "(ps.name = 'a' or ps.name = 'b')"),
    "is_a": Macro("is_a", "ps.name = 'a'"),
    "names": Macro("names", items=("a", "b")),
    "loop1": Macro("loop1", "loop2 and ps.pid = 1"),
    "loop2": Macro("loop2", "loop1"),
    "bad": Macro("bad", "ps.name ="),
    "packaged": Macro("packaged", "ps.is_packaged"),
}


def matches(condition: str, ev: object, macros: dict[str, Macro] = M) -> bool:
    cond = compile_condition(condition, macros)
    (step,) = cond.steps
    return step.predicate(ev)  # type: ignore[arg-type]


def ps_event(name: str, pid: int = 1, **kw: object) -> object:
    return event("CreateFile", pid=pid, ps=Process(pid=pid, name=name, **kw), file_path="C:\\x")


def test_list_and_expression_macros() -> None:
    assert matches("ps.name in names", ps_event("a"))
    assert matches("ps.name iin (names)", ps_event("B"))
    assert not matches("ps.name in names", ps_event("c"))
    assert matches("is_a and ps.pid = 1", ps_event("a"))
    assert matches("not is_a", ps_event("c"))


def test_spliced_macro_keeps_its_grouping_and_warns_where_upstream_differs() -> None:
    # Upstream reads "m_or and ps.pid = 1" as "a or (b and pid = 1)"; kcap keeps m_or whole.
    cond = compile_condition("m_or and ps.pid = 1", M)
    assert not cond.steps[0].predicate(ps_event("a", pid=2))  # upstream would match this
    assert any("macro m_or" in w and "re-associates" in w for w in cond.warnings)
    assert not compile_condition("ps.pid = 1 and m_or", M).warnings
    assert not compile_condition("m_or_paren and ps.pid = 1", M).warnings
    assert not compile_condition("(m_or) and ps.pid = 1", M).warnings


def test_macro_cycles_and_errors_are_filter_errors() -> None:
    with pytest.raises(FilterError, match="macro loop1 uses itself: loop1 -> loop2 -> loop1"):
        compile_condition("loop1", M)
    with pytest.raises(FilterError, match='in macro "bad"'):
        compile_condition("bad and ps.pid = 1", M)


def test_typed_defaults_make_negative_comparisons_true_on_missing_fields() -> None:
    orphan = ps_event("x.exe")  # no parent, no cwd
    assert matches("ps.parent.name != 'explorer.exe'", orphan)
    assert matches("ps.parent.name not in ('explorer.exe')", orphan)
    assert matches("ps.cwd = ''", orphan)
    # A replay filter keeps upstream replay's "missing" reading:
    assert not compile_filter("ps.parent.name != 'explorer.exe'")(orphan)


def test_negation_of_groups_and_bare_booleans() -> None:
    ev = ps_event("regsvr32.exe", args=["/s", "x.dll"], is_packaged=False)
    cond = "ps.name = 'regsvr32.exe' and not (ps.args imatches ('*x.dll')) and not (ps.pid = 9)"
    assert not matches(cond, ev)  # the first negated group is false: the whole is false
    assert matches("ps.name = 'regsvr32.exe' and not ps.is_packaged", ev)  # upstream: false
    assert matches("not packaged", ev)
    assert matches("not cidr_contains(net.dip, '10.0.0.0/8')", ev)  # nothing -> true


def test_foreach_over_ancestors_modules_and_lists() -> None:
    root = Process(pid=1, name="services.exe")
    parent = Process(pid=2, name="svchost.exe", parent=root)
    me = Process(
        pid=3,
        name="x.exe",
        parent=parent,
        args=["-k", "netsvcs"],
        modules=[Module(path="C:\\Windows\\System32\\ntdll.dll", size=5)],
    )
    ev = event("CreateFile", pid=3, ps=me, file_path="C:\\x")
    assert matches("foreach(ps._ancestors, $a, $a.name = 'services.exe')", ev)
    assert not matches("foreach(ps._ancestors, $a, $a.name = 'winlogon.exe')", ev)
    assert matches("not foreach(ps._ancestors, $a, $a.name = 'winlogon.exe')", ev)
    assert matches("foreach(ps._modules, $m, $m.name ~= 'NTDLL.dll' and $m.size = 5)", ev)
    assert matches("foreach(ps.args, $s, $s = 'netsvcs')", ev)
    with pytest.raises(FilterError, match='unrecognized property "nme"'):
        compile_condition("foreach(ps._ancestors, $a, $a.nme = 'x')")
    with pytest.raises(FilterError, match="reserved bound variable"):
        compile_condition("foreach(ps._ancestors, $ps, $ps.name = 'x')")


def test_intersects_count_substr_and_functions_on_lists() -> None:
    ev = ps_event("svchost.exe", args=["-k", "netsvcs", "-p"])
    assert matches("ps.args intersects ('-k', 'netsvcs')", ev)
    assert not matches("ps.args intersects ('-k', 'RPCSS')", ev)
    assert matches("ps.args iintersects ('-K', 'NETSVCS')", ev)
    assert matches("count(ps.args, '-*') = 2", ev)
    assert matches("substr(ps.name, 3) = 'host.exe'", ev)
    assert matches("substr(ps.name, 0, 3) = 'svc'", ev)


def test_evt_arg_keeps_numbers_and_renders_status() -> None:
    ev = event(
        "OpenThread",
        pid=10,
        ps=Process(pid=10, name="a"),
        exe="C:\\n.exe",
        typed=(Param("pid", T.PID, 22), Param("status", T.STATUS, 0)),
    )
    assert matches("evt.arg[pid] = 22 and evt.pid != evt.arg[pid]", ev)
    assert matches("evt.arg[status] = 'Success'", ev)
    assert matches("evt.arg[exe] = 'C:\\\\n.exe'", ev)


def test_current_field_names(tmp_path: Path) -> None:
    ruleset = load(
        tmp_path,
        "load_module and module.name = 'evil.dll' and dll.path.stem = 'C:\\\\t\\\\evil'",
        "set_value and registry.value = 'Run1' and registry.data = '1'",
        "spawn_process and ps.ancestor[0] = 'explorer.exe' and ps.ancestor[1] = ''",
    )
    engine = ruleset.engine(processes=lambda pid: None)
    load_ev = event("LoadImage", pid=5, file_path="C:\\t\\evil.dll")
    reg = event(
        "RegSetValue",
        pid=5,
        key_path="HKCU\\Software\\Run\\Run1",
        typed=(Param("value", T.UINT32, 1),),
    )
    explorer = proc(50, "explorer.exe")
    child = proc(51, "a.exe", parent=explorer)
    spawn = event("CreateProcess", pid=51, ps=child, ppid=50, typed=(Param("pid", T.PID, 51),))
    alerts = feed_all(engine, [load_ev, reg, spawn])
    assert [a.rule.condition_text.split()[0] for a in alerts] == [
        "load_module",
        "set_value",
        "spawn_process",
    ]
    assert alerts[0].events[0].name == "LoadModule" and alerts[0].events[0].category == "module"


def test_never_true_comparisons_warn_in_rules_instead_of_failing() -> None:
    cond = compile_condition("evt.name = 'CreateFile' and evt.pid = 'abc'")
    assert any("never true" in w for w in cond.warnings)


def test_bound_references_outside_rules_are_rejected() -> None:
    with pytest.raises(FilterError):
        compile_filter("$e1.ps.name = 'x'")
    with pytest.raises(FilterError, match="invalid '\\$e9' event alias"):
        compile_condition("sequence |evt.name = 'CreateFile'| |$e9.file.path = file.path|")


def test_rules_without_kind_condition_run_on_every_event(tmp_path: Path) -> None:
    ruleset = load(tmp_path, "ps.name = 'odd.exe'")
    (rule,) = ruleset.rules
    assert any("evaluated on every event" in w for w in rule.warnings)
    engine = ruleset.engine(processes=lambda pid: None)
    ev = event("RegOpenKey", pid=3, ps=Process(pid=3, name="odd.exe"), key_path="HKLM")
    assert len(engine.feed(ev)) == 1


def test_severity_ranks() -> None:
    assert [kcap.rules.severity_rank(s) for s in ("low", "medium", "high", "critical")] == [
        0,
        1,
        2,
        3,
    ]
    assert kcap.rules.severity_rank("Normal") == 0


def test_deprecated_names_still_work_on_translated_events_with_a_warning(tmp_path: Path) -> None:
    ruleset = load(tmp_path, "kevt.name = 'LoadModule' and image.name = 'evil.dll'")
    (rule,) = ruleset.rules
    assert "kevt.name is deprecated upstream; write evt.name" in rule.warnings
    assert "image.name is deprecated upstream; write module.name" in rule.warnings
    ev = event("LoadImage", pid=5, file_path="C:\\t\\evil.dll")
    assert len(ruleset.engine(processes=lambda pid: None).feed(ev)) == 1


def test_macros_that_double_at_every_level_are_refused_quickly() -> None:
    import time

    macros = {"m0": Macro("m0", "ps.name = 'a'")}
    for i in range(1, 30):
        macros[f"m{i}"] = Macro(f"m{i}", f"m{i - 1} and m{i - 1}")
    start = time.perf_counter()
    with pytest.raises(FilterError, match="expands more than"):
        compile_condition("m29", macros)
    assert time.perf_counter() - start < 5


def test_deeply_nested_yaml_is_a_rule_problem(tmp_path: Path) -> None:
    from rule_kit import write_rules

    d = write_rules(tmp_path, "spawn_process")
    (d / "deep.yml").write_text("a: " + "[" * 5000 + "]" * 5000)
    with pytest.raises(kcap.rules.RuleError, match="nests lists or mappings too deeply"):
        kcap.rules.load([d])


_WORDS = [
    "sequence",
    "maxspan",
    "1m",
    "5h",
    "2x",
    "by",
    "as",
    "e1",
    "|",
    "(",
    ")",
    ",",
    "and",
    "or",
    "not",
    "=",
    "!=",
    "in",
    "imatches",
    "intersects",
    "ps.name",
    "ps.uuid",
    "file.path",
    "evt.name",
    "'CreateFile'",
    "'x*'",
    "1",
    "$e1.file.path",
    "$e1",
    "$m.name",
    "is_a",
    "names",
    "m_or",
    "loop1",
    "foreach(",
    "ps._modules",
    "$m",
    "count(",
    "substr(",
    "evt.arg[pid]",
    "ps.ancestor[0]",
    "registry.value",
    "thread.callstack.summary",
    "10.0.0.0/8",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=14))
def test_any_condition_compiles_or_is_a_filter_error(words: list[str]) -> None:
    text = " ".join(words).replace("( ", "(")
    try:
        cond = compile_condition(text, M)
    except FilterError:
        return
    for step in cond.steps:
        step.predicate(ps_event("a"))  # evaluating never raises either
