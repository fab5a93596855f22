"""The two readings of the one filter language: replay filters and detection rules.

Replay filters follow the language as upstream's replay knows it (docs/filter.md): a field an
event lacks is *missing*, and a comparison that can never be true is an error. Rule conditions
follow the language upstream's current rule engine implements (docs/rules.md, "Language"):

* a field an event lacks takes its type's default (``''``, 0, false, an empty list), so
  ``ps.parent.name != 'explorer.exe'`` is true for a process without a known parent;
* a negation is true whenever its operand is not true;
* ``registry.value`` is the value *name* and ``registry.data`` the data;
* ``$alias.field`` (sequence aliases) and ``foreach`` variables may be used;
* a field no capture holds compiles to its default and is reported as a *need*, so the rule
  engine can say "not evaluable on this capture: needs X" instead of guessing;
* a comparison that can never be true is a warning, since upstream accepts it.

The same parser, compiler, fields and operators serve both; a `Dialect` only switches these.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    typed_defaults: bool
    #: "error": a comparison that is never true is a compile error; "warn": a warning.
    impossible: str
    #: "error": a field no capture holds is a compile error; "need": it compiles to its default
    #: and is recorded in `Compiler.needs`.
    unavailable: str
    #: Current upstream meanings of names whose meaning changed (``registry.value``).
    head_names: bool
    #: ``$alias.field`` and ``foreach`` variables are allowed.
    bound_refs: bool


REPLAY = Dialect("replay", False, "error", "error", False, False)
RULES = Dialect("rules", True, "warn", "need", True, True)
