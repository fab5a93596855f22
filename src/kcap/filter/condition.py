"""Rule conditions: a plain expression or a sequence of steps, parsed and compiled once.

    sequence [maxspan DURATION] [by FIELD, ...]
      |expression| [by FIELD, ... | as ALIAS]
      |expression| ...

Each step compiles with the one filter compiler in the rules dialect (`kcap.filter.dialect`);
what the rule engine needs besides a predicate is worked out here from the tree: the event
kinds a step can match (for indexing), its join fields, its alias and the aliases it reads,
the event names and categories it compares with (for validation), its warnings and needs.
The run-time semantics of sequences live in `kcap.rules.sequence` (docs/rules.md).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kcap.filter import fields as F
from kcap.filter.ast import (
    BoundRef,
    Call,
    Compare,
    FieldRef,
    ListLiteral,
    Literal,
    Logical,
    Node,
    Not,
)
from kcap.filter.bound import Scope
from kcap.filter.compiler import Compiler
from kcap.filter.diagnostics import semantic_error
from kcap.filter.dialect import RULES
from kcap.filter.lexer import Tok
from kcap.filter.macros import Macro
from kcap.filter.parser import Parser
from kcap.model.event import Event

#: Longest maxspan upstream accepts, and the most steps a sequence may have.
MAX_SPAN_NS = 4 * 3_600_000_000_000
MAX_STEPS = 5

_NAME_FIELD = "kevt.name"
_CATEGORY_FIELD = "kevt.category"
_POSITIVE_OPS = frozenset({"=", "in", "iin", "~="})


@dataclass(frozen=True, slots=True)
class Kinds:
    """Event names and categories a predicate can match (None where it means "any")."""

    names: frozenset[str] = frozenset()
    categories: frozenset[str] = frozenset()

    def __or__(self, other: Kinds) -> Kinds:
        return Kinds(self.names | other.names, self.categories | other.categories)

    def size(self) -> int:
        return len(self.names) + len(self.categories)


@dataclass(frozen=True, slots=True)
class StepSyntax:
    node: Node
    by: tuple[FieldRef, ...]
    alias: str | None
    pos: int
    text: str


@dataclass
class Step:
    predicate: Callable[[Event], bool]
    #: What the step can match; None: any event.
    kinds: Kinds | None
    by: tuple[Callable[[Event], Any], ...]
    by_names: tuple[str, ...]
    alias: str | None
    #: Aliases of other steps this step reads (``$e1.file.path``).
    reads: frozenset[str]
    text: str


@dataclass
class Condition:
    text: str
    sequence: bool
    steps: list[Step]
    maxspan: int | None  # nanoseconds; None: no deadline
    scope: Scope
    warnings: list[str] = field(default_factory=list)
    needs: dict[str, str] = field(default_factory=dict)
    #: (literal, position) pairs compared with evt.name / evt.category anywhere.
    names: list[tuple[str, int]] = field(default_factory=list)
    categories: list[tuple[str, int]] = field(default_factory=list)
    fields: set[str] = field(default_factory=set)

    @property
    def kinds(self) -> Kinds | None:
        """Union of the steps' kinds (None: the rule may match any event)."""
        out = Kinds()
        for step in self.steps:
            if step.kinds is None:
                return None
            out = out | step.kinds
        return out


class _ConditionParser(Parser):
    def parse_condition(self) -> tuple[int | None, tuple[FieldRef, ...], list[StepSyntax]] | None:
        """None for a plain expression (parse it with `parse`); else the sequence's parts."""
        t = self.tok
        if t.kind is not Tok.KEYWORD or t.text != "sequence":
            return None
        self._next()
        maxspan: int | None = None
        global_by: tuple[FieldRef, ...] = ()
        while self.tok.kind is Tok.KEYWORD and self.tok.text in ("maxspan", "by"):
            kw = self._next()
            if kw.text == "maxspan":
                if self.tok.kind is not Tok.DURATION:
                    self._fail(self.tok, "duration", "maxspan needs a duration such as 2m")
                d = self._next()
                assert isinstance(d.value, int)
                if d.value > MAX_SPAN_NS:
                    self._fail(d, "a span of at most 4h", f"maximum span {d.text} exceeds 4h")
                maxspan = d.value
            else:
                global_by = self._by_fields()
        steps: list[StepSyntax] = []
        while self.tok.kind is Tok.PIPE:
            open_pipe = self._next()
            node = self._or()
            close = self._expect(Tok.PIPE, "'|'")
            text = self.src[open_pipe.end : close.pos].strip()
            by: tuple[FieldRef, ...] = ()
            alias = None
            if self.tok.kind is Tok.KEYWORD and self.tok.text == "by":
                self._next()
                by = self._by_fields()
            elif self.tok.kind is Tok.KEYWORD and self.tok.text == "as":
                self._next()
                name = self._expect(Tok.IDENT, "identifier")
                alias = name.text
            steps.append(StepSyntax(node, by, alias, open_pipe.pos, text))
        if self.tok.kind is not Tok.EOF:
            self._fail(self.tok, "'|'", "a sequence is a list of |expression| steps")
        return maxspan, global_by, steps

    def _by_fields(self) -> tuple[FieldRef, ...]:
        out: list[FieldRef] = []
        while True:
            t = self.tok
            name = F.resolve(t.text) if t.kind is Tok.IDENT else None
            if name is None:
                self._fail(t, "field", "by must be followed by one or more fields")
            self._next()
            out.append(FieldRef(t.pos, name, t.text))
            if self.tok.kind is not Tok.COMMA:
                return tuple(out)
            self._next()


def compile_condition(text: str, macros: Mapping[str, Macro] | None = None) -> Condition:
    """Parse and compile a rule condition; raises `FilterError` (with a caret) when bad."""
    parser = _ConditionParser(
        text, F.resolve, F.unknown_field_hint, rules=True, macros=macros or {}
    )
    src = parser.src
    parts = parser.parse_condition()
    if parts is None:
        node = parser.parse()
        syntax = [StepSyntax(node, (), None, 0, src)]
        maxspan, sequence = None, False
        global_by: tuple[FieldRef, ...] = ()
    else:
        maxspan, global_by, syntax = parts
        sequence = True
        _check_sequence(src, global_by, syntax)
    aliases = frozenset(s.alias for s in syntax if s.alias)
    scope = Scope(aliases=aliases)
    cond = Condition(src, sequence, [], maxspan, scope, warnings=list(parser.warnings))
    for st in syntax:
        compiler = Compiler(src, RULES, scope)
        scope.used_aliases = set()
        compiled = compiler.condition(st.node)
        if not compiler.has_field_or_call:
            raise semantic_error(src, st.node.pos, "this condition is constant")
        by_refs = global_by or st.by
        by_getters = tuple(compiler.field_getter(r, compiler.field_spec(r.name)) for r in by_refs)
        predicate = compiled.fn
        if not compiled.strict:
            inner = predicate

            def predicate(ev: Event, _f: Callable[[Event], Any] = inner) -> bool:
                return _f(ev) is True

        cond.steps.append(
            Step(
                predicate,
                kinds_of(st.node),
                by_getters,
                tuple(r.name for r in by_refs),
                st.alias,
                frozenset(scope.used_aliases),
                st.text,
            )
        )
        cond.warnings.extend(w for w in compiler.warnings if w not in cond.warnings)
        for k, v in compiler.needs.items():
            cond.needs.setdefault(k, v)
        cond.fields |= compiled.fields
        _collect_kind_literals(st.node, cond)
    return cond


def _check_sequence(src: str, global_by: tuple[FieldRef, ...], steps: list[StepSyntax]) -> None:
    if not steps:
        raise semantic_error(src, len(src), "a sequence needs at least one |expression| step")
    if len(steps) > MAX_STEPS:
        raise semantic_error(src, steps[MAX_STEPS].pos, f"a sequence has at most {MAX_STEPS} steps")
    with_by = [s for s in steps if s.by]
    if with_by and global_by:
        raise semantic_error(
            src, with_by[0].pos, "a sequence mixes a global 'by' with per-step 'by'"
        )
    if with_by and len(with_by) != len(steps):
        missing = next(s for s in steps if not s.by)
        raise semantic_error(
            src, missing.pos, "all steps need a 'by' when one has it (or use a global 'by')"
        )
    arity = {len(s.by) for s in with_by}
    if len(arity) > 1:
        raise semantic_error(src, with_by[0].pos, "every step must join on as many fields")


def kinds_of(node: Node) -> Kinds | None:
    """The event names/categories ``node`` can be true for; None when any event may match.

    Sound by construction: an ``and`` is true only where each operand is, so any operand's
    kinds bound it (the smallest is taken); an ``or`` needs the union; a negation, or a
    comparison of anything else, could match any kind.
    """
    if isinstance(node, Compare) and not node.negated and node.op in _POSITIVE_OPS:
        field_node, other = node.left, node.right
        if not isinstance(field_node, FieldRef):
            field_node, other = other, field_node
        if isinstance(field_node, FieldRef) and field_node.name in (_NAME_FIELD, _CATEGORY_FIELD):
            values = _literal_strings(other)
            if values is None:
                return None
            if field_node.name == _NAME_FIELD:
                return Kinds(names=frozenset(values))
            return Kinds(categories=frozenset(values))
        return None
    if isinstance(node, Logical):
        parts = [kinds_of(op) for op in node.operands]
        if node.op == "and":
            known = [p for p in parts if p is not None]
            return min(known, key=Kinds.size) if known else None
        out = Kinds()
        for p in parts:
            if p is None:
                return None
            out = out | p
        return out
    return None


def _literal_strings(node: Node) -> list[str] | None:
    if isinstance(node, Literal) and node.kind == "str":
        return [node.value]
    if isinstance(node, ListLiteral):
        return [i.value for i in node.items if i.kind == "str"]
    return None


def _collect_kind_literals(node: Node, cond: Condition) -> None:
    """Every string compared with evt.name / evt.category, with its position."""
    stack = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Compare):
            for a, b in ((n.left, n.right), (n.right, n.left)):
                if isinstance(a, FieldRef) and a.name in (_NAME_FIELD, _CATEGORY_FIELD):
                    target = cond.names if a.name == _NAME_FIELD else cond.categories
                    lits = b.items if isinstance(b, ListLiteral) else (b,)
                    for lit in lits:
                        if isinstance(lit, Literal) and lit.kind == "str":
                            target.append((lit.value, lit.pos))
            stack.extend((n.left, n.right))
        elif isinstance(n, Logical):
            stack.extend(n.operands)
        elif isinstance(n, Not):
            stack.append(n.operand)
        elif isinstance(n, Call):
            stack.extend(n.args)
        elif isinstance(n, BoundRef | FieldRef | Literal | ListLiteral):
            continue
