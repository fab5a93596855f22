"""The rule engine: events in, alerts out, one event at a time.

Rules are indexed by the event kinds they can match (`kcap.filter.condition.kinds_of`), so an
event costs one dictionary lookup for the rules that cannot match it; the candidate list of each
kind is worked out once and kept. Each candidate event is translated to the current upstream
view (`kcap.rules.translate`) once, then every candidate rule evaluates it; sequence rules keep
their partial matches in a `SequenceMatcher` each. A ``TerminateProcess`` first ends the
chains waiting for that process. Alerts of one event come in rule load order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kcap.filter.condition import Step
from kcap.model.event import Event
from kcap.rules.alerts import ActionReport, Alert, render_output
from kcap.rules.model import Rule
from kcap.rules.sequence import SequenceMatcher, is_unordered
from kcap.rules.translate import ProcessLookup, Translator, head_kind

#: Candidate lists remembered per event kind; a hostile capture can invent kinds without end.
_CACHE_LIMIT = 4096

ActionRunner = Callable[[ActionReport], None]


@dataclass
class _Entry:
    rule: Rule
    step: Step  # a plain rule's only step
    matcher: SequenceMatcher | None


@dataclass
class EngineStats:
    events: int = 0
    candidates: int = 0  # events some rule looked at
    alerts: dict[str, int] = field(default_factory=dict)  # rule id -> alerts


class Engine:
    """Evaluates a rule set on a stream of events; `feed` returns the alerts each one raises."""

    def __init__(
        self,
        rules: Iterable[Rule],
        *,
        processes: ProcessLookup | None = None,
        act: ActionRunner | None = None,
    ) -> None:
        self.rules = list(rules)
        self._snapshotter: Any = None
        if processes is None:
            # Fed by nobody else: keep process state here, from the events themselves.
            from kcap.state import ProcessSnapshotter

            self._snapshotter = ProcessSnapshotter()
            processes = self._snapshotter.find
        self._translate = Translator(processes)
        self._act = act
        self.stats = EngineStats(alerts={r.id: 0 for r in self.rules})
        self._entries: list[_Entry] = []
        self.matchers: dict[str, SequenceMatcher] = {}
        for rule in self.rules:
            cond = rule.condition
            assert cond is not None, "only compiled rules are evaluable"
            matcher = None
            if cond.sequence:
                matcher = SequenceMatcher(cond, cond.scope.values, is_unordered(cond))
                self.matchers[rule.id] = matcher
            self._entries.append(_Entry(rule, cond.steps[0], matcher))
        self._cache: dict[bytes, tuple[str, str, str, str, list[Any]]] = {}

    def _candidates(self, name: str, category: str) -> list[Any]:
        out: list[Any] = []
        for entry in self._entries:
            steps = entry.rule.condition.steps  # type: ignore[union-attr]
            applies = [
                s.kinds is None or name in s.kinds.names or category in s.kinds.categories
                for s in steps
            ]
            if any(applies):
                out.append((entry, applies))
        return out

    def feed(self, ev: Event) -> list[Alert]:
        """The alerts ``ev`` raises (usually none)."""
        self.stats.events += 1
        if self._snapshotter is not None:
            self._snapshotter.update(ev)
        # Keyed by type id, checked against the recorded name and category (events built in
        # code may give one id several names).
        known = self._cache.get(ev.type)
        if known is None or known[0] != ev.name or known[1] != ev.category:
            name, category = head_kind(ev)
            known = (ev.name, ev.category, name, category, self._candidates(name, category))
            if len(self._cache) < _CACHE_LIMIT:
                self._cache[ev.type] = known
        _, _, name, category, candidates = known
        if name == "TerminateProcess" and self.matchers:
            pid = ev.params.value("pid")
            if isinstance(pid, int):
                for matcher in self.matchers.values():
                    if matcher.process_keyed:
                        matcher.process_ended(pid)
        if not candidates:
            return []
        self.stats.candidates += 1
        tev = self._translate(ev, name, category)
        alerts: list[Alert] = []
        for entry, applies in candidates:
            matcher = entry.matcher
            if matcher is None:
                if entry.step.predicate(tev):
                    alerts.append(self._alert(entry.rule, [tev]))
                continue
            for events in matcher.feed(tev, applies):
                alerts.append(self._alert(entry.rule, list(events)))
        return alerts

    def _alert(self, rule: Rule, events: list[Event]) -> Alert:
        self.stats.alerts[rule.id] = self.stats.alerts.get(rule.id, 0) + 1
        text = render_output(rule.output, events) if rule.output else ""
        actions = []
        for spec in rule.actions:
            name = str(spec.get("name"))
            if name == "kill":
                report = ActionReport(name, pids=sorted({e.pid for e in events}))
            else:
                report = ActionReport(name, whitelist=[str(a) for a in spec.get("whitelist", [])])
            if self._act is not None:
                self._act(report)
            actions.append(report)
        return Alert(rule, events, text, actions)

    def pending(self) -> int:
        """Partial sequence matches waiting now (all rules)."""
        total = 0
        for m in self.matchers.values():
            if m.unordered:
                total += len(m.waiting[0])
            else:
                total += m.stats.chains
        return total
