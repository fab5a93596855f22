"""Lost records become lost events: what each lost record would have made, counted once."""

from __future__ import annotations

from kcap.sources.linux import probes as K
from kcap.sources.linux.loss import LossAccount
from kcap.sources.linux.mapper import Mapper
from kcap.sources.linux.taxonomy import Clock

ALL = frozenset(("process", "thread", "image", "file", "net", "handle"))


def account(kinds: frozenset[str] = ALL) -> LossAccount:
    m = Mapper(procs={}, clock=Clock(), host="h", kinds=kinds, sink=lambda ev: None)
    return LossAccount(m.yields())


def test_a_lost_exit_counts_the_events_of_its_syscall() -> None:
    loss = account()
    delta = loss.update({K.K_OPEN_RET: 3, K.K_CLOSE: 2}, {}, {})
    assert delta == {"CreateFile": 3, "CreateHandle": 3, "CloseFile": 2, "CloseHandle": 2}
    assert loss.total() == 10 and loss.records == 5


def test_a_lost_entry_counts_once_through_its_unpaired_exit() -> None:
    loss = account()
    # 5 openat entries lost; 4 of their exits came without an entry (the 5th exit was lost
    # too and is counted as a lost exit); openat and open share the exit kind
    delta = loss.update({K.K_OPENAT: 4, K.K_OPEN: 1, K.K_OPEN_RET: 1}, {K.K_OPEN_RET: 4}, {})
    assert delta == {"CreateFile": 5, "CreateHandle": 5}
    # exits without entries and no entry lost: syscalls that began before the capture
    assert account().update({}, {K.K_OPEN_RET: 7}, {}) == {}


def test_updates_return_what_is_new_and_skipped_records_count() -> None:
    loss = account()
    loss.update({K.K_CLOSE: 1}, {}, {})
    # skipped at the stop: entries are not counted (their exits, later, were skipped too)
    delta = loss.update({K.K_CLOSE: 1}, {}, {K.K_READ: 9, K.K_READ_RET: 2, K.K_CLOSE: 1})
    assert delta == {"ReadFile": 2, "CloseFile": 1, "CloseHandle": 1}
    assert loss.events["CloseFile"] == 2


def test_event_kinds_not_captured_are_not_counted() -> None:
    loss = account(frozenset(("process", "file")))
    assert loss.update({K.K_OPEN_RET: 2}, {}, {}) == {"CreateFile": 2}
