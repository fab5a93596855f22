"""The engine: translation of capture events, needs, indexing by event kind, alerts, actions."""

from __future__ import annotations

from pathlib import Path

from rule_kit import event, feed_all, load, lookup, proc

import kcap.rules
from kcap.model import Param
from kcap.model.params import ParamType as T
from kcap.rules.alerts import render_output
from kcap.rules.translate import Translator


def test_load_image_is_read_as_load_module() -> None:
    t = Translator(lookup)
    ev = event("LoadImage", pid=4, file_path="C:\\a.dll")
    out = t(ev, "LoadModule", "module")
    assert (out.name, out.category) == ("LoadModule", "module")
    assert out.params is ev.params and out.seq == ev.seq
    assert (ev.name, ev.category) == ("LoadImage", "image")  # the original is untouched


def test_create_process_is_attributed_to_the_created_process() -> None:
    creator = proc(700, "explorer.exe")
    child = proc(701, "cmd.exe", parent=creator)
    ev = event("CreateProcess", pid=700, ps=creator, typed=(Param("pid", T.PID, 701),))
    out = Translator(lookup)(ev, "CreateProcess", "process")
    assert out.pid == 701 and out.ps is child and out.ps.parent is creator
    plain = event("CreateFile", pid=700, ps=creator, file_path="C:\\x")
    assert Translator(lookup)(plain, "CreateFile", "file") is plain


def test_rules_needing_what_captures_lack_are_reported_not_guessed(tmp_path: Path) -> None:
    ruleset = load(
        tmp_path,
        ("load_module and module.signature.exists = false", {"name": "Unsigned load"}),
        ("evt.name = 'CreateFile' and thread.callstack.summary imatches '*x*'", {"name": "Stack"}),
        ("spawn_process and ps.token.integrity_level = 'HIGH'", {"name": "Token"}),
        ("spawn_process and ps.name = 'ok.exe'", {"name": "Fine"}),
    )
    needs = {r.name: sorted(set(r.needs.values())) for r in ruleset.not_evaluable()}
    assert needs == {
        "Unsigned load": ["signature verification"],
        "Stack": ["call stacks"],
        "Token": ["process token information"],
    }
    assert [r.name for r in ruleset.evaluable()] == ["Fine"]
    load_ev = event("LoadImage", pid=5, file_path="C:\\a.dll")
    assert feed_all(ruleset.engine(processes=lookup), [load_ev]) == []
    # Upstream's behaviour on request: the missing signature reads as false, so it fires.
    fired = feed_all(ruleset.engine(use_defaults=True, processes=lookup), [load_ev])
    assert [a.rule.name for a in fired] == ["Unsigned load"]


def test_rules_cost_nothing_on_events_of_other_kinds(tmp_path: Path) -> None:
    ruleset = load(tmp_path, "set_value and registry.path imatches '*\\\\Run\\\\*'")
    (rule,) = ruleset.rules
    calls = 0
    step = rule.condition.steps[0]  # type: ignore[union-attr]
    inner = step.predicate

    def counting(ev: object) -> bool:
        nonlocal calls
        calls += 1
        return inner(ev)  # type: ignore[arg-type]

    step.predicate = counting
    engine = ruleset.engine(processes=lookup)
    others = [event("CreateFile", i, file_path="C:\\x") for i in range(50)]
    reg = event("RegSetValue", 60, key_path="HKCU\\Software\\Run\\x", status="0")
    feed_all(engine, [*others, reg])
    assert calls == 1
    assert engine.stats.events == 51 and engine.stats.candidates == 1


def test_alert_text_and_json_form(tmp_path: Path) -> None:
    cond = "spawn_process and ps.name = 'cmd.exe'"
    out = "Shell %ps.name (%ps.exe) from %ps.parent.name. Cmdline %ps.cmdline; 100%20 %nope.x"
    ruleset = load(tmp_path, (cond, {"output": out, "severity": "high", "labels": {"a": "b"}}))
    parent = proc(800, "winword.exe")
    proc(801, "cmd.exe", parent=parent, cmdline="cmd /c whoami")
    ev = event("CreateProcess", pid=800, ps=parent, typed=(Param("pid", T.PID, 801),))
    (alert,) = ruleset.engine(processes=lookup).feed(ev)
    assert alert.text == (
        "Shell cmd.exe (C:\\Windows\\System32\\cmd.exe) from winword.exe. Cmdline cmd /c whoami;"
        " 100%20 %nope.x"
    )
    doc = alert.as_dict()
    assert doc["severity"] == "high" and doc["labels"] == {"a": "b"} and doc["seq"] == [ev.seq]
    assert doc["events"][0]["process"]["name"] == "cmd.exe"
    assert doc["events"][0]["pid"] == 801


def test_output_tokens_select_events_and_show_missing_values(tmp_path: Path) -> None:
    a = event("CreateFile", 0, pid=1, file_path="C:\\one")
    b = event("CreateFile", 1, pid=2, file_path="C:\\two")
    assert render_output("%1.file.path then %2.file.path, %3.file.path", [a, b]) == (
        "C:\\one then C:\\two, %3.file.path"
    )
    assert render_output("parent %ps.parent.name", [a]) == "parent N/A"


def test_actions_are_reported_and_run_only_through_the_runner(tmp_path: Path) -> None:
    cond = ("spawn_process and ps.name = 'bad.exe'", {"action": [{"name": "kill"}]})
    ruleset = load(tmp_path, cond)
    bad = proc(901, "bad.exe", parent=proc(900, "x.exe"))
    ev = event("CreateProcess", pid=900, ps=bad.parent, typed=(Param("pid", T.PID, 901),))
    (alert,) = ruleset.engine(processes=lookup).feed(ev)
    (act,) = alert.actions
    assert (act.name, act.pids, act.executed) == ("kill", [901], False)
    seen: list[kcap.rules.ActionReport] = []
    ruleset.engine(processes=lookup, act=seen.append).feed(ev)
    assert [a.pids for a in seen] == [[901]]


def test_engine_without_a_process_lookup_keeps_its_own_state(tmp_path: Path) -> None:
    ruleset = load(tmp_path, "spawn_process and ps.name = 'child.exe' and ps.parent.name = 'p.exe'")
    engine = ruleset.engine()
    from kcap.model import Process

    rundown = event(
        "ProcessRundown",
        pid=30,
        typed=(Param("pid", T.PID, 30), Param("ppid", T.PID, 1), Param("name", T.UNICODE, "p.exe")),
    )
    rundown.process = Process(pid=30, ppid=1, name="p.exe")
    create = event(
        "CreateProcess",
        1,
        pid=30,
        ps=rundown.process,
        typed=(
            Param("pid", T.PID, 31),
            Param("ppid", T.PID, 30),
            Param("name", T.UNICODE, "child.exe"),
            Param("sid", T.UNICODE, ""),
            Param("session_id", T.UINT32, 1),
            Param("flags", T.UINT32, 0),
        ),
    )
    create.process = rundown.process
    alerts = feed_all(engine, [rundown, create])
    assert [a.events[0].ps.name for a in alerts] == ["child.exe"]  # type: ignore[union-attr]
