"""Macros of rule conditions: named expressions and named lists, spliced in at parse time.

An identifier that is neither a field nor a call is looked up in the macro table: an
expression macro's text is parsed on its own (its errors point into the macro's text) and its
tree takes the identifier's place as one operand; a list macro becomes a list literal
(docs/rules.md, "Macros").

Upstream splices an expression macro as a bare binary node that a tighter operator after it
can reach into (`m_or and ps.pid = 1` with ``m_or = a or b`` reads as ``a or (b and ps.pid =
1)``). kcap keeps a macro together, as its author meant, and warns where upstream would read
the condition differently, so a rule whose meaning depends on it can be fixed.
"""

from __future__ import annotations

from dataclasses import dataclass

#: How deeply macros may use macros (upstream's library nests four levels).
MAX_MACRO_DEPTH = 32
#: Macro uses one condition may expand in all (macros using a macro twice, nested, would
#: otherwise grow a condition exponentially); upstream's largest rule expands about 20.
MAX_EXPANSIONS = 2000


@dataclass(frozen=True, slots=True)
class Macro:
    name: str
    expr: str | None = None
    items: tuple[str, ...] | None = None
    #: Where it was defined ("macros.yml"), for messages.
    source: str = ""


#: Binding strength of the operators at HEAD (used to tell when upstream re-associates).
PRECEDENCE = {"or": 1, "and": 2}
COMPARISON_PRECEDENCE = 4
WORD_OPERATOR_PRECEDENCE = 5


def operator_precedence(op: str) -> int:
    if op in PRECEDENCE:
        return PRECEDENCE[op]
    if op in ("=", "!=", "~=", "<", "<=", ">", ">="):
        return COMPARISON_PRECEDENCE
    return WORD_OPERATOR_PRECEDENCE
