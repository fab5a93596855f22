"""Sequence rules: partial matches kept per join key, bounded, timed by the events' own clock.

A *chain* is the list of events that matched steps 0..k-1 of a sequence for one join key. An
event that matches step k (and joins: its step's ``by`` value equals the chain's key, its
``$alias.field`` references hold on the chain's events) extends the chain; when the last step
is reached the sequence fires with the chain's events and every chain of that key is dropped,
so other keys' progress is kept (upstream keeps one state machine for all keys; docs/rules.md,
"Sequences").

Time is the events' own: step k may match only within ``maxspan`` of the event that matched
step k-1 (the boundary included); a chain older than that is dropped. Without ``maxspan`` a
chain lives 4 hours of event time, as upstream collects partials. State is bounded: at most
`MAX_CHAINS_PER_KEY` chains wait at each step for one key and `MAX_CHAINS` in all for a rule
(the oldest are dropped first and counted), and when a process terminates, the chains whose
next step must come from it (the join is on the process) are dropped.

Ordered sequences take their steps in order; an *unordered* one (its steps watch events that
upstream receives from different ETW sessions, which may arrive out of timestamp order) fires
when every step has a matching event for the key, in any order, each gap between their
timestamps within ``maxspan``.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from kcap.filter.condition import Condition, Step
from kcap.model.event import Event

#: Event time a chain of a sequence without maxspan is kept (upstream's partial lifetime).
DEFAULT_LIFETIME_NS = 4 * 3_600_000_000_000
MAX_CHAINS = 10_000
MAX_CHAINS_PER_KEY = 16

#: Join fields that name the process itself: its termination ends the chains keyed on it.
PROCESS_KEYS = frozenset({"ps.uuid", "ps.pid", "kevt.pid"})

#: Event types upstream receives from its "security telemetry" session (the others come from
#: the kernel logger); a sequence watching both kinds is unordered.
_SECURITY_TELEMETRY = frozenset(
    {
        "OpenProcess",
        "OpenThread",
        "SetThreadContext",
        "CreateSymbolicLinkObject",
        "QueryDns",
        "ReplyDns",
        "SubmitThreadpoolWork",
        "SubmitThreadpoolCallback",
        "SetThreadpoolTimer",
    }
)


def is_unordered(cond: Condition) -> bool:
    sources = set()
    for step in cond.steps:
        if step.kinds is None:
            continue
        for name in step.kinds.names:
            sources.add(name in _SECURITY_TELEMETRY)
    return len(sources) > 1


def _key_part(v: Any) -> Any:
    if isinstance(v, str):
        return v.casefold()
    if isinstance(v, list):
        return tuple(_key_part(x) for x in v)
    return v


def join_key(step: Step, ev: Event) -> tuple[Any, ...]:
    """The step's join value for an event (strings compare case-insensitively)."""
    return tuple(_key_part(get(ev)) for get in step.by)


@dataclass(eq=False, slots=True)
class Chain:
    events: tuple[Event, ...]
    key: tuple[Any, ...]
    last_ns: int
    alive: bool = True


@dataclass
class SequenceStats:
    chains: int = 0  # waiting now
    dropped_cap: int = 0  # dropped because a bound was reached
    expired: int = 0  # outlived maxspan
    ended_by_exit: int = 0  # their process terminated


@dataclass
class SequenceMatcher:
    """The run-time state of one sequence rule."""

    cond: Condition
    scope_values: dict[str, Any]
    unordered: bool = False
    stats: SequenceStats = field(default_factory=SequenceStats)

    def __post_init__(self) -> None:
        self.steps = self.cond.steps
        self.n = len(self.steps)
        self.span = self.cond.maxspan
        self.lifetime = self.span if self.span else DEFAULT_LIFETIME_NS
        # waiting[k][key]: chains that matched steps 0..k-1 and wait for step k (k >= 1).
        self.waiting: list[dict[tuple[Any, ...], list[Chain]]] = [{} for _ in range(self.n)]
        self.queue: deque[tuple[int, int, Chain]] = deque()  # (deadline, level, chain)
        self.by_pid: dict[int, list[tuple[int, Chain]]] = {}
        self._by_pid_entries = 0
        self.process_keyed = bool(self.steps[0].by_names) and all(
            set(s.by_names) <= PROCESS_KEYS for s in self.steps
        )
        self.aliases = [s.alias for s in self.steps]

    # ------------------------------------------------------------------ feeding

    def feed(self, ev: Event, applies: list[bool]) -> list[tuple[Event, ...]]:
        """Events of every chain ``ev`` completes (``applies[k]``: step k watches its kind)."""
        now = ev.timestamp.ns
        self._expire(now)
        if self.unordered:
            return self._feed_unordered(ev, now, applies)
        done: list[tuple[Event, ...]] = []
        # Latest step first, so an event extends existing chains before starting one, and
        # never extends a chain it started itself.
        for k in range(self.n - 1, -1, -1):
            if not applies[k]:
                continue
            step = self.steps[k]
            if k == 0:
                if step.reads:
                    self._bind(())
                if step.predicate(ev):
                    chain = Chain((ev,), join_key(step, ev), now)
                    if self.n == 1:
                        done.append(chain.events)
                    else:
                        self._park(1, chain)
                continue
            key = join_key(step, ev)
            bucket = self.waiting[k].get(key)
            if not bucket:
                continue
            if not step.reads and not step.predicate(ev):
                continue
            # Every chain the event can extend is extended (later steps' $alias references
            # may hold on any of them); the oldest completes first.
            for chain in list(bucket):
                if not self._can_extend(chain, ev, now):
                    continue
                if step.reads:
                    self._bind(chain.events)
                    if not step.predicate(ev):
                        continue
                extended = Chain((*chain.events, ev), key, now)
                if k == self.n - 1:
                    done.append(extended.events)
                    self._drop_key(key)
                    break
                self._park(k + 1, extended)
        return done

    def _can_extend(self, chain: Chain, ev: Event, now: int) -> bool:
        if not chain.alive or now < chain.last_ns:
            return False
        if self.span and now - chain.last_ns > self.span:
            return False
        return all(e is not ev and e.seq != ev.seq for e in chain.events)

    def _bind(self, events: tuple[Event, ...]) -> None:
        values = self.scope_values
        for i, alias in enumerate(self.aliases):
            if alias:
                values[alias] = events[i] if i < len(events) else None

    def _park(self, level: int, chain: Chain) -> None:
        bucket = self.waiting[level].setdefault(chain.key, [])
        if len(bucket) >= MAX_CHAINS_PER_KEY:
            self._kill(bucket.pop(0))
            self.stats.dropped_cap += 1
        bucket.append(chain)
        self.stats.chains += 1
        self.queue.append((chain.last_ns + self.lifetime, level, chain))
        if self.process_keyed:
            self.by_pid.setdefault(chain.events[-1].pid, []).append((level, chain))
            self._by_pid_entries += 1
        # Dropped chains leave entries behind in the deadline queue and the pid index; past
        # twice the live chains those are swept, so memory follows live state, not history.
        limit = 2 * self.stats.chains + 1024
        if len(self.queue) > limit:
            self.queue = deque(e for e in self.queue if e[2].alive)
        if self._by_pid_entries > limit:
            self.by_pid = {
                pid: live
                for pid, entries in self.by_pid.items()
                if (live := [e for e in entries if e[1].alive])
            }
            self._by_pid_entries = sum(map(len, self.by_pid.values()))
        while self.stats.chains > MAX_CHAINS and self.queue:
            _, lvl, oldest = self.queue.popleft()
            if oldest.alive:
                self._remove(lvl, oldest)
                self.stats.dropped_cap += 1

    # ------------------------------------------------------------------ forgetting

    def _kill(self, chain: Chain) -> None:
        if chain.alive:
            chain.alive = False
            # Entries of the queue and the pid index may outlive it a while: they must not
            # keep its events (and the process state those hold) alive.
            chain.events = ()
            self.stats.chains -= 1

    def _remove(self, level: int, chain: Chain) -> None:
        bucket = self.waiting[level].get(chain.key)
        if bucket is not None:
            try:
                bucket.remove(chain)
            except ValueError:
                pass
            if not bucket:
                del self.waiting[level][chain.key]
        self._kill(chain)

    def _drop_key(self, key: tuple[Any, ...]) -> None:
        for level in self.waiting:
            for chain in level.pop(key, ()):
                self._kill(chain)

    def _expire(self, now: int) -> None:
        queue = self.queue
        if self.unordered:
            self._expire_unordered(now)
            return
        while queue and queue[0][0] < now:
            _, level, chain = queue.popleft()
            if chain.alive:
                self._remove(level, chain)
                self.stats.expired += 1

    def process_ended(self, pid: int) -> None:
        """The process ``pid`` terminated: chains waiting for it to act can never complete."""
        entries = self.by_pid.pop(pid, [])
        self._by_pid_entries -= len(entries)
        for level, chain in entries:
            if chain.alive:
                self._remove(level, chain)
                self.stats.ended_by_exit += 1

    # ------------------------------------------------------------------ unordered

    def _feed_unordered(self, ev: Event, now: int, applies: list[bool]) -> list[tuple[Event, ...]]:
        done: list[tuple[Event, ...]] = []
        for k in range(self.n):
            if not applies[k]:
                continue
            step = self.steps[k]
            key = join_key(step, ev)
            slots = self.waiting[0].setdefault(key, [])
            if not slots:
                slots.extend(Chain((), key, now) for _ in range(self.n))
            if step.reads:
                self._bind(tuple(s.events[-1] if s.events else None for s in slots))  # type: ignore[misc]
            if not step.predicate(ev):
                if not any(s.events for s in slots):
                    del self.waiting[0][key]
                continue
            slot = slots[k]
            slot.events = (*slot.events[-(MAX_CHAINS_PER_KEY - 1) :], ev)
            slot.last_ns = now
            self.queue.append((now + self.lifetime, 0, slot))
            picked = self._pick_unordered(slots)
            if picked is not None:
                done.append(picked)
                del self.waiting[0][key]
                break
        return done

    def _expire_unordered(self, now: int) -> None:
        queue, keys = self.queue, self.waiting[0]
        while queue and queue[0][0] < now:
            _, _, slot = queue.popleft()
            horizon = now - self.lifetime
            slot.events = tuple(e for e in slot.events if e.timestamp.ns >= horizon)
            slots = keys.get(slot.key)
            if slots is not None and not any(s.events for s in slots):
                del keys[slot.key]
                self.stats.expired += 1
        while len(keys) > MAX_CHAINS:
            del keys[next(iter(keys))]
            self.stats.dropped_cap += 1

    def _pick_unordered(self, slots: list[Chain]) -> tuple[Event, ...] | None:
        """The latest event of every slot, if all are distinct and within maxspan of each other."""
        if not all(s.events for s in slots):
            return None
        chosen = [s.events[-1] for s in slots]
        if len({id(e) for e in chosen}) != len(chosen):
            return None
        ordered = sorted(chosen, key=lambda e: e.timestamp.ns)
        if self.span:
            for a, b in pairwise(ordered):
                if b.timestamp.ns - a.timestamp.ns > self.span:
                    return None
        return tuple(ordered)
