# cython: annotation_typing=False
"""State rules and how a snapshotter finds the rule for a kind of event.

A *rule* is one state transition, written once (docs/state.md, "Rules"). Most rules need only
a few parameter values of their event: they declare the parameter names they read and take
``(seq, pid, values)``, the event's sequence number and header pid (for warnings and owners) and
the values of those names in order. The replay loop hands them the values straight from an
undecoded event's bytes where it can, so most events are never built or decoded just to update
state. A rule that needs the whole event (a process creation reads its embedded process) has no
names and takes the event.

The rule for a raw type id (17 or 18 bytes, as stored) is found through the catalogue's
canonical name, never the recorded name: writers of 2020-2023 recorded rundowns as ``N/A``, an
empty name or raw bytes. The answer, "none" included, is cached per id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kcap.model import Event, lookup

Handler = Callable[[Event], None]


class Rule:
    """A state transition: ``apply(seq, pid, values)`` for the values of ``names``, or, when
    ``names`` is None, ``apply(event)``."""

    __slots__ = ("apply", "names")

    def __init__(self, names: tuple[str, ...] | None, apply: Callable[..., None]) -> None:
        self.names = names
        self.apply = apply

    def __repr__(self) -> str:
        return f"Rule({self.names!r}, {self.apply!r})"


def apply_to(rule: Rule, event: Event) -> None:
    """Apply ``rule`` to a (built) event."""
    names = rule.names
    if names is None:
        rule.apply(event)
    else:
        rule.apply(event.seq, event.pid, event.values(names))


#: Ids the catalogue does not know are cached only while the cache is smaller than this: a
#: damaged capture can hold a different garbage id in every event, and the cache must not grow
#: with the capture. Known ids are bounded by the catalogue (a few hundred, in two widths).
MAX_CACHED = 4096


class RuleCache(dict[bytes, Rule | None]):
    """Raw type id -> rule chosen by canonical event name (None: the type changes nothing).

    A dict whose misses are resolved through the catalogue, so that ``cache[type_id]`` costs
    one C-level lookup once an id has been seen.
    """

    __slots__ = ("_rules",)

    def __init__(self, rules: Mapping[str, Rule]) -> None:
        super().__init__()
        self._rules = dict(rules)

    def __missing__(self, type_id: Any) -> Rule | None:
        et = lookup(bytes(type_id)) if isinstance(type_id, bytes | bytearray) else None
        found = None if et is None else self._rules.get(et.name)
        if isinstance(type_id, bytes) and (et is not None or len(self) < MAX_CACHED):
            self[type_id] = found
        return found


class EventHandlers(dict[bytes, Handler | None]):
    """Raw type id -> a function applying the kind's rule to a built event (None: nothing to
    do): the event-level form of a `RuleCache`, for callers that drive a snapshotter by hand."""

    __slots__ = ("_rules",)

    def __init__(self, rules: RuleCache) -> None:
        super().__init__()
        self._rules = rules

    def __missing__(self, type_id: Any) -> Handler | None:
        rule = self._rules[type_id]
        handler = None if rule is None else _event_handler(rule)
        if isinstance(type_id, bytes) and (rule is not None or len(self) < MAX_CACHED):
            self[type_id] = handler
        return handler


def _event_handler(rule: Rule) -> Handler:
    def handle(event: Event) -> None:
        apply_to(rule, event)

    return handle
