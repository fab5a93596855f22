"""Detection rules over captures and live streams: Fibratus rule files, macros and sequences.

    >>> import kcap, kcap.rules
    >>> rules = kcap.rules.load(["rules/"])          # files or directories of .yml files
    >>> for alert in kcap.detect("incident.kcap", rules):
    ...     print(alert.rule.name, [e.seq for e in alert.events], alert.text)

    >>> engine = rules.engine()                       # for events from anywhere
    >>> alerts = engine.feed(event)

See docs/rules.md for the rule language, what translating old captures means, which rules a
capture cannot evaluate and why, and the deliberate differences from upstream.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kcap.errors import RuleError
from kcap.filter.macros import Macro
from kcap.rules.alerts import ActionReport, Alert
from kcap.rules.engine import ActionRunner, Engine
from kcap.rules.loader import ENGINE_VERSION, discover, load_files
from kcap.rules.model import Rule, severity_rank
from kcap.rules.translate import ProcessLookup

__all__ = [
    "ENGINE_VERSION",
    "ActionReport",
    "Alert",
    "Engine",
    "Rule",
    "RuleError",
    "RuleSet",
    "detect",
    "load",
    "severity_rank",
]


@dataclass
class RuleSet:
    """Rules and macros loaded from files, compiled and checked."""

    rules: list[Rule]
    macros: dict[str, Macro]
    files: list[Path]
    warnings: list[str] = field(default_factory=list)

    @property
    def disabled(self) -> list[Rule]:
        return [r for r in self.rules if not r.enabled]

    def not_evaluable(self) -> list[Rule]:
        """Enabled rules that read what no capture holds (`Rule.needs` says what)."""
        return [r for r in self.rules if r.enabled and r.needs]

    def evaluable(self, use_defaults: bool = False) -> list[Rule]:
        """The rules an engine runs; with ``use_defaults``, also those reading fields no
        capture holds, which then see upstream's default values (``''``, 0, false)."""
        return [
            r
            for r in self.rules
            if r.enabled and r.condition is not None and (use_defaults or not r.needs)
        ]

    def engine(
        self,
        *,
        use_defaults: bool = False,
        processes: ProcessLookup | None = None,
        act: ActionRunner | None = None,
    ) -> Engine:
        """A fresh engine. ``processes(pid)`` finds process state (a reader's snapshotter);
        without it the engine keeps its own from the events fed. ``act`` is called with each
        action an alert asks for; without it actions are only reported."""
        return Engine(self.evaluable(use_defaults), processes=processes, act=act)

    def __len__(self) -> int:
        return len(self.rules)


def load(paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str]) -> RuleSet:
    """Load rule and macro files (or directories of them); raises `RuleError` listing every
    problem found (file, rule id, key, what is wrong)."""
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    files = discover(paths)
    rules, macros, warnings = load_files(files)
    if not rules:
        names = ", ".join(str(p) for p in files) or "the paths given"
        raise RuleError(f"no rules in {names} (only macros?)")
    return RuleSet(rules, macros, files, warnings)


#: Events between two calls of detect's ``progress`` callback.
PROGRESS_EVERY = 1 << 16


def detect(
    path: str | os.PathLike[str],
    ruleset: RuleSet,
    *,
    use_defaults: bool = False,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Alert]:
    """Replay a capture through the rules, yielding alerts as they fire.

    ``progress(n)`` is called every `PROGRESS_EVERY` events with the count so far."""
    from kcap.reader import open as open_capture

    with open_capture(path) as reader:
        _, processes = reader.recover_snapshotters()
        engine = ruleset.engine(use_defaults=use_defaults, processes=processes.find)
        feed = engine.feed
        for n, ev in enumerate(reader.read(), 1):
            alerts = feed(ev)
            if alerts:
                yield from alerts
            if progress is not None and not n % PROGRESS_EVERY:
                progress(n)
