"""Checks of the event names and categories a condition compares with.

Upstream refuses a rule that compares ``evt.name`` with a name no event has (a typo would
otherwise make a rule that never fires). The known names are the catalogue's, as current
upstream calls them, plus the few current names older captures spell otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

from kcap.filter.condition import Condition
from kcap.model.catalogue import catalogue
from kcap.rules.translate import CATEGORY_RENAMES, EVENT_RENAMES

#: Event types of current upstream that no capture kcap reads carries (rules on them never fire).
CURRENT_ONLY = frozenset({"CreateSymbolicLinkObject"})
CATEGORIES = frozenset(
    {
        "registry",
        "file",
        "net",
        "process",
        "thread",
        "module",
        "handle",
        "mem",
        "driver",
        "other",
        "unknown",
        "object",
        "threadpool",
    }
)
_OLD_NAMES = {old: new for old, new in EVENT_RENAMES.items()}


@cache
def known_names() -> frozenset[str]:
    names = {et.name for et in catalogue().values() if et.name}
    names -= set(_OLD_NAMES)
    names |= set(EVENT_RENAMES.values()) | CURRENT_ONLY
    return frozenset(names)


def check_kind_names(cond: Condition) -> Iterator[str]:
    names = known_names()
    for value, _pos in cond.names:
        if value in names:
            continue
        if value in _OLD_NAMES:
            yield f'"{value}" is called "{_OLD_NAMES[value]}" in the rule language'
        else:
            yield f'"{value}" is not an event name (evt.name)'
    for value, _pos in cond.categories:
        if value in CATEGORIES:
            continue
        if value in CATEGORY_RENAMES:
            yield f'category "{value}" is called "{CATEGORY_RENAMES[value]}" in the rule language'
        else:
            yield f'"{value}" is not an event category (evt.category)'
