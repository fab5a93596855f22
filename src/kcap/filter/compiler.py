"""Compiles a syntax tree into nested Python closures, once.

Each node becomes a ``Callable[[Event], value]``; nothing walks the tree per event and no user
text is ever passed to ``eval``. Comparisons against literals get specialised closures for the
common shapes (string equality, case-insensitive containment, membership in a literal list,
numeric comparison). ``and``/``or`` operands are reordered by cost — header-only predicates
first, then process-state ones, then those that decode parameters, then function calls and
pattern operators — which is sound because every predicate is pure and the two-valued
``and``/``or`` (a missing side counts as false) is commutative.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

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
from kcap.filter.bound import Scope, compile_bound, compile_foreach, with_default
from kcap.filter.diagnostics import semantic_error
from kcap.filter.dialect import REPLAY, Dialect
from kcap.filter.fastpaths import specialise
from kcap.filter.fields_head import HEAD_OVERRIDES, need_of
from kcap.filter.functions import FUNCTIONS, INDEX_ORDERS, LIVE_ONLY
from kcap.filter.limits import MAX_GROWTH, growth
from kcap.filter.model_attrs import TYPED_DEFAULTS
from kcap.filter.ops import FALSE_WHEN_UNSUPPORTED, LitList
from kcap.filter.regex import PatternError, compile_regex
from kcap.filter.spec import COSTS, FieldSpec
from kcap.filter.typecheck import never_true
from kcap.model.event import Event

Fn = Callable[[Event], Any]

#: Namespaces upstream renamed (the old spellings still work there, with a warning).
_DEPRECATED = {"kevt.": "evt.", "image.": "module."}
_EXPENSIVE_OPS = frozenset({"matches", "imatches", "fuzzy", "ifuzzy", "fuzzynorm", "ifuzzynorm"})
_LITERAL_KIND_WORDS = {
    "str": "string",
    "int": "number",
    "float": "decimal",
    "bool": "bool",
    "ip": "ip",
    "cidr": "cidr",
    "list": "slice",
}


@dataclass(slots=True)
class Compiled:
    fn: Fn
    kind: str
    cost: int = 0
    const: bool = False
    value: Any = None
    fields: set[str] = field(default_factory=set)
    params: set[str] = field(default_factory=set)
    header_only: bool = True
    strict: bool = False  # fn returns only True or False (never missing or another value)
    growth: float = 1.0  # bound of result length / input length (string functions, limits.py)

    def merge(self, *others: Compiled) -> None:
        for o in others:
            self.fields |= o.fields
            self.params |= o.params
            self.header_only = self.header_only and o.header_only


class Compiler:
    def __init__(self, expr: str, dialect: Dialect = REPLAY, scope: Scope | None = None) -> None:
        self.expr = expr
        self.dialect = dialect
        #: Bound values of rule conditions ($alias.field, foreach variables).
        self.scope = scope
        self.has_field_or_call = False
        #: Names of the functions the expression calls.
        self.calls: set[str] = set()
        #: Why some comparisons can never be true (the rules dialect warns instead of failing).
        self.warnings: list[str] = []
        #: Fields the expression uses that no capture holds: name -> what they need.
        self.needs: dict[str, str] = {}

    def fail(self, node: Node, message: str) -> NoReturn:
        raise semantic_error(self.expr, node.pos, message)

    # ------------------------------------------------------------------ dispatch

    def compile(self, node: Node) -> Compiled:
        if isinstance(node, Literal):
            v = node.value
            return Compiled(_const(v), node.kind, const=True, value=v)
        if isinstance(node, ListLiteral):
            lit = LitList((i.value for i in node.items), (_item_text(i) for i in node.items))
            return Compiled(_const(lit), "list", const=True, value=lit)
        if isinstance(node, FieldRef):
            return self._field(node)
        if isinstance(node, Call):
            return self._call(node)
        if isinstance(node, Not):
            return self._not(node)
        if isinstance(node, Logical):
            return self._logical(node)
        if isinstance(node, Compare):
            return self._compare(node)
        if isinstance(node, BoundRef):
            return compile_bound(self, node)
        raise AssertionError(f"unknown node {node!r}")

    def condition(self, node: Node) -> Compiled:
        """Compile a node used as a condition (operand of and/or/not, or the whole filter)."""
        c = self.compile(node)
        if c.kind not in ("bool", "any"):
            what = f"{node.spelled}" if isinstance(node, FieldRef) else "this operand"
            self.fail(
                node,
                f"{what} is a {_kind_word(c.kind)} value, not a condition; compare it "
                "with an operator (e.g. ps.name = 'cmd.exe')",
            )
        return c

    # ------------------------------------------------------------------ leaves

    def field_spec(self, name: str) -> FieldSpec:
        """The field's spec; rule conditions read renamed fields with their current meaning."""
        if self.dialect.head_names and name in HEAD_OVERRIDES:
            return HEAD_OVERRIDES[name]
        return F.spec_of(name)

    def field_getter(self, node: FieldRef, spec: FieldSpec) -> Fn:
        """The accessor of a field as this dialect reads it (see kcap.filter.dialect)."""
        if spec.getter is None:
            if self.dialect.unavailable != "need":
                self.fail(
                    node,
                    f"field {node.spelled} is not available when replaying a capture: "
                    f"{spec.unavailable}",
                )
            self.needs.setdefault(node.spelled, need_of(spec.name, spec.unavailable))
            default = TYPED_DEFAULTS.get(spec.kind)
            return lambda ev: [] if isinstance(default, list) else default
        if self.dialect.typed_defaults:
            return with_default(spec.getter, spec.kind)
        return spec.getter

    def _field(self, node: FieldRef) -> Compiled:
        spec = self.field_spec(node.name)
        getter = self.field_getter(node, spec)
        if self.dialect.head_names and node.spelled.startswith(tuple(_DEPRECATED)):
            current = (
                _DEPRECATED[node.spelled.split(".", 1)[0] + "."] + node.spelled.split(".", 1)[1]
            )
            note = f"{node.spelled} is deprecated upstream; write {current}"
            if note not in self.warnings:
                self.warnings.append(note)
        self.has_field_or_call = True
        return Compiled(
            getter,
            spec.kind,
            cost=COSTS[spec.cost],
            fields={node.name},
            params=set(spec.params),
            header_only=spec.cost == "header",
        )

    def _call(self, node: Call) -> Compiled:
        name = node.name
        upper = name.upper()
        if name == "foreach":
            self.calls.add(name)
            return compile_foreach(self, node)
        if name in LIVE_ONLY:
            self.fail(node, f"function {name} needs the live Windows host: {LIVE_ONLY[name]}")
        fn = FUNCTIONS.get(name)
        if fn is None:
            near = difflib.get_close_matches(name, list(FUNCTIONS), n=3, cutoff=0.5)
            known = "|".join(sorted(f.upper() for f in FUNCTIONS))
            hint = f" Did you mean {', '.join(n.upper() for n in near)}?" if near else ""
            self.fail(node, f"{name} function is undefined.{hint} Known functions: {known}")
        n = len(node.args)
        if n < fn.min_args:
            self.fail(
                node,
                f"{upper} function requires {fn.min_args} argument(s) but {n} argument(s) given",
            )
        if n > fn.max_args:
            self.fail(
                node,
                f"{upper} function accepts at most {fn.max_args} argument(s) but "
                f"{n} argument(s) given",
            )
        self._validate_call(node)
        self.has_field_or_call = True
        self.calls.add(name)
        args = [self.compile(a) for a in node.args]
        for i, (arg_node, arg) in enumerate(zip(node.args, args, strict=True)):
            allowed = (
                fn.literal_kinds[min(i, len(fn.literal_kinds) - 1)] if fn.literal_kinds else None
            )
            if arg.const and allowed is not None and arg.kind not in allowed:
                words = "|".join(sorted(_LITERAL_KIND_WORDS.get(k, k) for k in allowed))
                keyword = fn.arg_names[min(i, len(fn.arg_names) - 1)]
                self.fail(
                    arg_node,
                    f"argument #{i + 1} ({keyword}) in function {upper} should be one of: {words}",
                )
        if name == "regex":
            for i in range(1, len(args)):
                patt = args[i].value
                try:
                    compiled = compile_regex(patt)
                except PatternError as exc:
                    self.fail(node.args[i], f"invalid regular expression {patt!r}: {exc}")
                args[i] = Compiled(_const(compiled), "str", const=True, value=compiled)
        bound = growth(name, args)
        if bound > MAX_GROWTH:
            self.fail(
                node,
                f"{upper} could build text up to {bound:,.0f} times longer than its input; "
                f"string functions may lengthen their input at most {MAX_GROWTH:,.0f} times",
            )
        impl = fn.impl
        arg_fns = [a.fn for a in args]
        call: Fn
        if len(arg_fns) == 1:
            (a0,) = arg_fns

            def call(ev: Event) -> Any:
                return impl(ev, a0(ev))
        elif len(arg_fns) == 2:
            a0, a1 = arg_fns

            def call(ev: Event) -> Any:
                return impl(ev, a0(ev), a1(ev))
        else:

            def call(ev: Event) -> Any:
                return impl(ev, *[a(ev) for a in arg_fns])

        out = Compiled(call, fn.kind, cost=max((a.cost for a in args), default=0) + 1, growth=bound)
        out.merge(*args)
        return out

    def _validate_call(self, node: Call) -> None:
        args = node.args
        if node.name == "replace" and (len(args) - 1) % 2 != 0:
            self.fail(node, "old/new replacements mismatch")
        if node.name == "indexof" and len(args) == 3:
            order = args[2]
            if (
                isinstance(order, Literal)
                and order.kind == "str"
                and order.value not in INDEX_ORDERS
            ):
                self.fail(
                    order,
                    f"{order.value} is not a valid index search order. Available "
                    "options are: first,any,last,lastany",
                )
        if node.name == "entropy" and len(args) == 2:
            algo = args[1]
            if isinstance(algo, Literal) and algo.kind == "str" and algo.value != "shannon":
                self.fail(
                    algo,
                    f"unsupported entropy algorithm: {algo.value}. Available algorithms: shannon",
                )
        if node.name == "regex":
            for a in args[1:]:
                if not (isinstance(a, Literal) and a.kind == "str"):
                    self.fail(a, "regex patterns must be string literals")
        if node.name == "cidr_contains":
            for a in args[1:]:
                if isinstance(a, Literal) and a.kind == "str":
                    try:
                        ipaddress.ip_network(a.value, strict=False)
                    except ValueError:
                        self.fail(a, f"{a.value!r} is not a valid CIDR network")

    # ------------------------------------------------------------------ logic

    def _not(self, node: Not) -> Compiled:
        inner = self.condition(node.operand)
        f = inner.fn
        neg: Fn
        if self.dialect.typed_defaults:
            # Rules: a negation is true whenever its operand is not true (a function that
            # yields nothing included), as upstream's current evaluator has it.
            def neg(ev: Event) -> bool:
                return f(ev) is not True
        else:

            def neg(ev: Event) -> bool | None:
                v = f(ev)
                return (not v) if isinstance(v, bool) else None

        out = Compiled(neg, "bool", cost=inner.cost)
        out.merge(inner)
        return out

    def _logical(self, node: Logical) -> Compiled:
        parts = [self.condition(op) for op in node.operands]
        # Cheapest first; sorted() is stable so equal costs keep the written order.
        parts = sorted(parts, key=lambda c: c.cost)
        fns = [p.fn for p in parts]
        fn = _chain_and(fns) if node.op == "and" else _chain_or(fns)
        out = Compiled(fn, "bool", cost=max(p.cost for p in parts), strict=True)
        out.merge(*parts)
        return out

    # ------------------------------------------------------------------ comparisons

    def _compare(self, node: Compare) -> Compiled:
        left = self.compile(node.left)
        right = self.compile(node.right)
        op = node.op
        self._check_kinds(node, left, right)
        fn = specialise(op, left, right)
        if node.negated and self.dialect.typed_defaults:
            inner_true = fn

            def fn(ev: Event) -> bool | None:
                return inner_true(ev) is not True
        elif node.negated:
            inner = fn

            def fn(ev: Event) -> bool | None:
                v = inner(ev)
                return None if v is None else not v

        cost = max(left.cost, right.cost) + (1 if op in _EXPENSIVE_OPS else 0)
        # These operators give False, never missing, on unsupported or missing operands.
        strict = op in FALSE_WHEN_UNSUPPORTED and not node.negated
        out = Compiled(fn, "bool", cost=cost, strict=strict)
        out.merge(left, right)
        return out

    def _check_kinds(self, node: Compare, left: Compiled, right: Compiled) -> None:
        """Reject (or, for rules, warn about) a comparison its kinds make always false."""
        if left.const == right.const:
            return
        subject_node, subject, lit = (
            (node.left, left, right) if right.const else (node.right, right, left)
        )
        name = subject_node.spelled if isinstance(subject_node, FieldRef) else "this value"
        why = never_true(node.op, name, subject.kind, lit.kind, lit.value)
        if why is None:
            return
        if self.dialect.impossible == "warn":
            self.warnings.append(why)
            return
        self.fail(node, why)


def _const(value: Any) -> Fn:
    return lambda ev: value


def _chain_and(fns: list[Fn]) -> Fn:
    if len(fns) == 2:
        a, b = fns
        return lambda ev: a(ev) is True and b(ev) is True
    if len(fns) == 3:
        a, b, c = fns
        return lambda ev: a(ev) is True and b(ev) is True and c(ev) is True
    chain = tuple(fns)

    def all_true(ev: Event) -> bool:
        for f in chain:  # noqa: SIM110 - a plain loop is faster than all()/any() here
            if f(ev) is not True:
                return False
        return True

    return all_true


def _chain_or(fns: list[Fn]) -> Fn:
    if len(fns) == 2:
        a, b = fns
        return lambda ev: a(ev) is True or b(ev) is True
    if len(fns) == 3:
        a, b, c = fns
        return lambda ev: a(ev) is True or b(ev) is True or c(ev) is True
    chain = tuple(fns)

    def any_true(ev: Event) -> bool:
        for f in chain:  # noqa: SIM110 - a plain loop is faster than all()/any() here
            if f(ev) is True:
                return True
        return False

    return any_true


def _item_text(item: Literal) -> str:
    return item.value if item.kind == "str" else item.text


def _kind_word(kind: str) -> str:
    return {
        "str": "string",
        "int": "number",
        "float": "decimal",
        "ip": "IP address",
        "strs": "list",
        "ints": "list",
        "list": "list",
        "time": "time",
        "cidr": "network",
    }.get(kind, kind)
