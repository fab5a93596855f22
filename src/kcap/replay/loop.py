"""The replay loop: what `Reader.read` does with each record, written once.

Per record, in file order (docs/engine.md, "The replay loop"): find the kind's plan (`Info`),
apply its state rules, drop a state-only event unless asked for, attach the process state, apply
the filter, hand the event over. Cython compiles this module where a compiler exists
(``loop.pxd`` types its locals); the same source runs as plain Python otherwise.

The source yields batches (lists) of three kinds of item:

* an `Event` (decoded or lazy);
* a `FormatError`: a section that did not decode, reported and skipped;
* a tuple ``(info, seq, pid, values)``: a record the byte kernel did not build because nobody
  receives it; only its state rule runs, on the values the kernel read from its bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

try:
    import cython
except ImportError:  # plain Python without Cython installed
    from kcap import cython_shim as cython

from kcap.errors import FormatError
from kcap.model.event import Event
from kcap.model.process import Process
from kcap.state.dispatch import Rule

#: Verdicts of a kind-only filter are remembered for at most this many kinds.
MAX_VERDICTS = 4096


class Info:
    """What replay does with the events of one type id.

    ``rules``: its state rules, `kcap.state.Rule` (empty when state is not tracked);
    ``state_only``: its events only feed state; ``carries``: its events carry a process body,
    which is decoded before state and attachment use it.
    """

    __slots__ = ("carries", "rules", "state_only")

    def __init__(self, rules: tuple[Rule, ...], state_only: bool, carries: bool) -> None:
        self.rules = rules
        self.state_only = state_only
        self.carries = carries

    def __repr__(self) -> str:
        return f"Info(rules={self.rules!r}, state_only={self.state_only}, carries={self.carries})"


class Setup(NamedTuple):
    """Everything one replay works with; made by the reader when iteration starts."""

    source: Iterable[Sequence[Any]]
    infos: dict[bytes, Info]
    info_of: Callable[[bytes], Info]
    procs: dict[int, Process]
    filter: Callable[[Event], bool] | None
    verdicts: dict[tuple[Any, ...], bool] | None  # a kind-only filter's verdicts, else None
    report: Callable[[FormatError], None]
    track: bool
    include_state: bool
    lazy: bool
    on_end: Callable[[tuple[int, int, int, int]], None]


def replay(prepare: Callable[[], Setup]) -> Iterator[Event]:
    """Replay the records ``prepare()`` sets up, once iteration starts.

    A `FormatError` raised by a state rule, by decoding or by the filter goes to ``report`` and
    the event is dropped. ``on_end`` gets the counts (records read, events emitted, state-only
    records, dropped by the filter) once, when the loop ends, fails or is dropped unfinished.
    """
    setup = prepare()
    infos: dict = setup.infos
    info_of = setup.info_of
    procs: dict = setup.procs
    flt = setup.filter
    verdicts = setup.verdicts
    report = setup.report
    track = setup.track
    include_state = setup.include_state
    lazy = setup.lazy
    info: Info
    rule: Rule
    read: cython.Py_ssize_t = 0
    emitted: cython.Py_ssize_t = 0
    state_only: cython.Py_ssize_t = 0
    dropped: cython.Py_ssize_t = 0
    try:
        for batch in setup.source:
            for item in batch:
                if type(item) is tuple:
                    # a record nobody receives: only its state changes
                    info, seq, pid, values = item
                    read += 1
                    if info.state_only:
                        state_only += 1
                    else:
                        dropped += 1
                    try:
                        for rule in info.rules:
                            rule.apply(seq, pid, values)
                    except FormatError as exc:
                        report(exc)
                    continue
                if type(item) is not Event:
                    report(item)
                    continue
                ev: Event = item
                read += 1
                info = infos.get(ev.type)  # type: ignore[assignment]  # None: not seen yet
                if info is None:
                    info = info_of(ev.type)
                try:
                    if info.carries:  # its process body is decoded for state and attachment
                        ev.decode()
                    for rule in info.rules:
                        names = rule.names
                        if names is None:
                            ev.decode()
                            rule.apply(ev)
                        else:
                            rule.apply(ev.seq, ev.pid, ev.values(names))
                except FormatError as exc:
                    report(exc)
                    continue
                if info.state_only:
                    state_only += 1
                    if not include_state:
                        continue
                embedded = ev.own_process()
                if embedded is not None or not track:
                    ev.ps = embedded
                else:
                    ev.ps = procs.get(ev.pid)
                # State-only events, when included, are kept whatever the filter says: a copy
                # of a capture needs them to rebuild its state (docs/state.md).
                if flt is not None and not info.state_only:
                    try:
                        if verdicts is None:
                            keep = flt(ev)
                        else:  # a filter of the kind only: asked once per kind
                            kind = (ev.type, ev.name, ev.category, ev.description)
                            keep = verdicts.get(kind)  # type: ignore[assignment]  # None: unasked
                            if keep is None:
                                keep = bool(flt(ev))
                                if len(verdicts) >= MAX_VERDICTS:
                                    verdicts.clear()
                                verdicts[kind] = keep
                        if not keep:
                            dropped += 1
                            continue
                        if not lazy:
                            ev.decode()
                    except FormatError as exc:
                        report(exc)
                        continue
                emitted += 1
                yield ev
    finally:
        setup.on_end((read, emitted, state_only, dropped))
