"""Sequences: joins per key, aliases, maxspan on event time, unordered steps, bounded state."""

from __future__ import annotations

from pathlib import Path

import pytest
from rule_kit import event, feed_all, load, lookup, proc, seqs

from kcap.errors import FilterError, RuleError
from kcap.filter.condition import compile_condition
from kcap.model import Param, Process
from kcap.model.params import ParamType as T
from kcap.rules import sequence as S

CREATED = Param("create_disposition", T.ENUM, 2)
DUMP = (
    "sequence maxspan 2m by ps.uuid "
    "|spawn_process and ps.name = 'tool.exe'| "
    "|create_file and file.extension = '.dmp'|"
)


def spawn(t: float, child: Process, parent_pid: int = 1) -> object:
    """A capture's CreateProcess: header pid and ps are the creator's, ``pid`` the child's."""
    return event(
        "CreateProcess",
        t,
        pid=parent_pid,
        ps=child.parent,
        typed=(Param("pid", T.PID, child.pid), Param("ppid", T.PID, parent_pid)),
    )


def dump(t: float, p: Process, path: str = "C:\\x.dmp") -> object:
    return event("CreateFile", t, pid=p.pid, ps=p, file_path=path, typed=(CREATED,))


def engine_for(tmp_path: Path, *conds: str) -> object:
    return load(tmp_path, *conds).engine(processes=lookup)


def test_interleaved_keys_each_complete_their_own_chain(tmp_path: Path) -> None:
    a, b = proc(10, "tool.exe", uuid=1), proc(20, "tool.exe", uuid=2)
    events = [spawn(0, a), spawn(1, b), dump(2, b), dump(3, a)]
    alerts = feed_all(engine_for(tmp_path, DUMP), events)  # type: ignore[arg-type]
    # Upstream keeps one state for all keys: its first match clears a's chain as well.
    assert seqs(alerts) == [[events[1].seq, events[2].seq], [events[0].seq, events[3].seq]]


def test_a_step_of_another_key_does_not_join(tmp_path: Path) -> None:
    a, other = proc(10, "tool.exe", uuid=1), proc(30, "x.exe", uuid=3)
    assert feed_all(engine_for(tmp_path, DUMP), [spawn(0, a), dump(1, other)]) == []  # type: ignore[arg-type]


def test_maxspan_is_measured_on_event_timestamps_boundary_included(tmp_path: Path) -> None:
    a = proc(10, "tool.exe", uuid=1)
    on_time = feed_all(engine_for(tmp_path, DUMP), [spawn(0, a), dump(120, a)])  # type: ignore[arg-type]
    late = feed_all(engine_for(tmp_path, DUMP), [spawn(0, a), dump(120.001, a)])  # type: ignore[arg-type]
    assert len(on_time) == 1 and late == []


def test_maxspan_bounds_each_gap_between_steps(tmp_path: Path) -> None:
    cond = "sequence maxspan 1m by ps.uuid |spawn_process| |create_file| |evt.name = 'RegSetValue'|"
    a = proc(10, "a.exe", uuid=1)
    reg = event("RegSetValue", 100, pid=10, ps=a, key_path="HKCU\\x")
    alerts = feed_all(engine_for(tmp_path, cond), [spawn(0, a), dump(50, a), reg])  # type: ignore[arg-type]
    assert len(alerts) == 1 and len(alerts[0].events) == 3


def test_steps_in_the_wrong_order_do_not_match(tmp_path: Path) -> None:
    a = proc(10, "tool.exe", uuid=1)
    assert feed_all(engine_for(tmp_path, DUMP), [dump(0, a), spawn(1, a)]) == []  # type: ignore[arg-type]


def test_per_step_by_joins_different_fields(tmp_path: Path) -> None:
    cond = (
        "sequence maxspan 1m "
        "|spawn_process and ps.name = 'winword.exe'| by ps.uuid "
        "|spawn_process and ps.name = 'cmd.exe'| by ps.parent.uuid"
    )
    word = proc(10, "winword.exe", uuid=111)
    cmd = proc(11, "cmd.exe", parent=word, uuid=222)
    other_cmd = proc(12, "cmd.exe", parent=proc(9, "explorer.exe", uuid=999), uuid=333)
    events = [spawn(0, word), spawn(1, other_cmd), spawn(2, cmd)]
    alerts = feed_all(engine_for(tmp_path, cond), events)  # type: ignore[arg-type]
    assert seqs(alerts) == [[events[0].seq, events[2].seq]]


def test_multi_field_join_compares_text_case_insensitively(tmp_path: Path) -> None:
    cond = (
        "sequence maxspan 1m by ps.name, file.name "
        "|create_file and file.extension ~= '.tmp'| |create_file and file.extension ~= '.tmp'|"
    )
    p1 = Process(pid=1, name="Tool.EXE")
    p2 = Process(pid=2, name="tool.exe")
    e1 = event("CreateFile", 0, pid=1, ps=p1, file_path="C:\\A.TMP", typed=(CREATED,))
    e2 = event("CreateFile", 1, pid=2, ps=p2, file_path="D:\\a.tmp", typed=(CREATED,))
    assert len(feed_all(engine_for(tmp_path, cond), [e1, e2])) == 1  # type: ignore[arg-type]


def test_aliases_try_every_earlier_partial_not_just_the_same_position(tmp_path: Path) -> None:
    cond = (
        "sequence maxspan 1m "
        "|create_file and file.extension = '.dll'| as dropped "
        "|spawn_process| as started "
        "|load_module and module.path ~= $dropped.file.path and ps.name = $started.ps.name|"
    )
    p = Process(pid=5, name="host.exe")
    d1 = event("CreateFile", 0, pid=5, ps=p, file_path="C:\\a.dll", typed=(CREATED,))
    d2 = event("CreateFile", 1, pid=5, ps=p, file_path="C:\\b.dll", typed=(CREATED,))
    s1 = spawn(2, proc(6, "host.exe"))
    load_b = event("LoadImage", 3, pid=5, ps=p, file_path="C:\\B.DLL")
    alerts = feed_all(engine_for(tmp_path, cond), [d1, d2, s1, load_b])  # type: ignore[arg-type]
    assert seqs(alerts) == [[d2.seq, s1.seq, load_b.seq]]


def test_unordered_sequence_matches_events_that_arrive_out_of_order(tmp_path: Path) -> None:
    # OpenProcess (security telemetry) and CreateFile (kernel logger) make it unordered.
    cond = (
        "sequence maxspan 2m by ps.uuid "
        "|evt.name = 'OpenProcess' and evt.arg[name] = 'lsass.exe'| "
        "|create_file and file.extension = '.dmp'|"
    )
    ruleset = load(tmp_path, cond)
    assert S.is_unordered(ruleset.rules[0].condition)  # type: ignore[arg-type]
    p = proc(10, "dumper.exe", uuid=5)
    late_open = event(
        "OpenProcess", 3, pid=10, ps=p, typed=(Param("name", T.UNICODE, "lsass.exe"),)
    )
    alerts = feed_all(ruleset.engine(processes=lookup), [dump(1, p), late_open])
    assert len(alerts) == 1
    assert [e.name for e in alerts[0].events] == ["CreateFile", "OpenProcess"]  # time order


def test_one_step_sequences_fire_on_each_match(tmp_path: Path) -> None:
    a = proc(10, "tool.exe", uuid=1)
    cond = "sequence maxspan 1m |spawn_process and ps.name = 'tool.exe'|"
    assert len(feed_all(engine_for(tmp_path, cond), [spawn(0, a), spawn(5, a)])) == 2  # type: ignore[arg-type]


def test_one_event_never_fills_two_steps(tmp_path: Path) -> None:
    cond = "sequence maxspan 1m by ps.uuid |create_file| |create_file|"
    a = proc(10, "a.exe", uuid=1)
    e1, e2 = dump(0, a), dump(0, a)  # equal timestamps are fine (upstream rejects them)
    engine = engine_for(tmp_path, cond)
    assert feed_all(engine, [e1]) == []  # type: ignore[arg-type]
    assert seqs(feed_all(engine, [e2])) == [[e1.seq, e2.seq]]  # type: ignore[arg-type]


def test_termination_of_the_joined_process_ends_its_chains(tmp_path: Path) -> None:
    a = proc(10, "tool.exe", uuid=1)
    ruleset = load(tmp_path, DUMP)
    engine = ruleset.engine(processes=lookup)
    feed_all(engine, [spawn(0, a)])
    assert engine.pending() == 1
    end = event("TerminateProcess", 1, pid=10, typed=(Param("pid", T.PID, 10),))
    feed_all(engine, [end])
    assert engine.pending() == 0
    assert feed_all(engine, [dump(2, a)]) == []
    assert engine.matchers[ruleset.rules[0].id].stats.ended_by_exit == 1


def test_state_is_bounded_per_key_and_per_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(S, "MAX_CHAINS", 50)
    ruleset = load(tmp_path, DUMP)
    engine = ruleset.engine(processes=lookup)
    one = proc(10, "tool.exe", uuid=1)
    feed_all(engine, [spawn(i * 0.001, one) for i in range(100)])
    assert engine.pending() == S.MAX_CHAINS_PER_KEY
    feed_all(
        engine, [spawn(1 + i * 0.001, proc(100 + i, "tool.exe", uuid=1000 + i)) for i in range(200)]
    )
    assert engine.pending() == 50
    matcher = engine.matchers[ruleset.rules[0].id]
    stats = matcher.stats
    assert stats.dropped_cap == (100 - S.MAX_CHAINS_PER_KEY) + (S.MAX_CHAINS_PER_KEY + 200 - 50)
    # What the deadline queue still lists of dropped chains holds no event (nor the process
    # state an event pins), and the queue itself stays near the live chains.
    assert all(not c.events for _, _, c in matcher.queue if not c.alive)
    assert len(matcher.queue) <= 2 * 50 + 1024


def test_chains_older_than_maxspan_are_forgotten(tmp_path: Path) -> None:
    ruleset = load(tmp_path, DUMP)
    engine = ruleset.engine(processes=lookup)
    feed_all(engine, [spawn(i, proc(100 + i, "tool.exe", uuid=i)) for i in range(100)])
    assert engine.pending() == 100
    feed_all(engine, [event("RegOpenKey", 1000, key_path="HKLM")])
    # The next event of any kind a rule watches sweeps what is past its deadline.
    feed_all(engine, [dump(1000, proc(1, "x.exe", uuid=-1))])
    assert engine.pending() == 0


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("sequence maxspan 5h |spawn_process| |create_file|", "at most 4h"),
        ("sequence maxspan 2x |spawn_process| |create_file|", "'x' is not a unit"),
        ("sequence maxspan 2m |spawn_process| by ps.uuid |create_file|", "all steps need a 'by'"),
        (
            "sequence by ps.uuid |spawn_process| by ps.uuid |create_file| by ps.uuid",
            "mixes a global 'by'",
        ),
        ("sequence " + "|spawn_process| " * 6, "at most 5 steps"),
        ("sequence |spawn_process| |create_file", "expected '|'"),
        ("sequence |spawn_process| as a by ps.uuid |create_file|", "a sequence is a list"),
        ("sequence", "at least one |expression| step"),
    ],
)
def test_sequence_syntax_errors(condition: str, message: str) -> None:
    from rule_kit import MACROS  # noqa: F401  (the macros are only names here)

    macros = {
        "spawn_process": __import__("kcap.filter.macros", fromlist=["Macro"]).Macro(
            "spawn_process", "evt.name = 'CreateProcess'"
        ),
        "create_file": __import__("kcap.filter.macros", fromlist=["Macro"]).Macro(
            "create_file", "evt.name = 'CreateFile'"
        ),
    }
    with pytest.raises(FilterError, match=message.replace("|", "\\|")):
        compile_condition(condition, macros)


def test_a_sequence_error_in_a_rule_file_names_the_rule(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="at most 4h"):
        load(tmp_path, "sequence maxspan 5h |spawn_process| |create_file|")
