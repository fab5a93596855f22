"""Rule-only parts of the compiler: ``$alias.field``, ``foreach`` and typed defaults.

* ``$e1.file.path`` in a sequence step reads ``file.path`` of the event that an earlier step
  named ``e1`` (``|...| as e1``). The rule engine puts the events of the chain being tried in
  `Scope.values` before it evaluates the step; an alias with no event there is *missing*.
* ``foreach(ITERABLE, $v, PREDICATE[, captured fields])`` is true when PREDICATE holds for one
  item of ITERABLE (``ps._ancestors``, ``ps._modules``, ``ps._threads``, ``ps.pe._sections``,
  or a list-of-strings field, whose items are the strings); ``$v.segment`` reads an item's
  attribute, a bare ``$v`` the item itself (docs/rules.md, "Language").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kcap.filter import fields as F
from kcap.filter.ast import BoundRef, Call, FieldRef, Node
from kcap.filter.model_attrs import SEGMENTS, TYPED_DEFAULTS
from kcap.model.event import Event

if TYPE_CHECKING:
    from kcap.filter.compiler import Compiled, Compiler

#: Variable names foreach may not use (upstream reserves them for namespaces).
RESERVED_VARS = frozenset(
    [
        "ps",
        "pe",
        "file",
        "image",
        "module",
        "dll",
        "thread",
        "threadpool",
        "registry",
        "net",
        "mem",
        "handle",
        "dns",
        "evt",
    ]
)


@dataclass
class Scope:
    """Values bound while a rule's step is evaluated: alias -> event, foreach var -> item."""

    aliases: frozenset[str] = frozenset()
    values: dict[str, Any] = field(default_factory=dict)
    #: foreach variables in scope: name -> segment table of their iterable.
    items: dict[str, dict[str, tuple[str, Callable[[Any], Any]]] | None] = field(
        default_factory=dict
    )
    #: Aliases a compiled step refers to.
    used_aliases: set[str] = field(default_factory=set)


def with_default(getter: Callable[[Event], Any], kind: str) -> Callable[[Event], Any]:
    """The getter, with the kind's default in place of *missing* (docs/rules.md)."""
    if kind not in TYPED_DEFAULTS:
        return getter
    default = TYPED_DEFAULTS[kind]
    if isinstance(default, list):

        def get_list(ev: Event) -> Any:
            v = getter(ev)
            return [] if v is None else v

        return get_list

    def get(ev: Event) -> Any:
        v = getter(ev)
        return default if v is None else v

    return get


def compile_bound(c: Compiler, node: BoundRef) -> Compiled:
    from kcap.filter.compiler import Compiled

    scope = c.scope
    if not c.dialect.bound_refs or scope is None:
        c.fail(node, f"{node.spelled}: bound references exist only in rule conditions")
    values = scope.values
    var = node.var
    c.has_field_or_call = True
    if var in scope.items:
        segs = scope.items[var]
        if not node.path:
            return Compiled(lambda ev: values.get(var), "any", cost=1, header_only=False)
        if segs is None:
            c.fail(node, f"${var} is a string: it has no attribute {node.path!r}")
        seg = segs.get(node.path)
        if seg is None:
            allowed = ", ".join(sorted(segs))
            c.fail(
                node,
                f'unrecognized property "{node.path}" accessing bound variable ${var}. '
                f"Allowed properties [{allowed}]",
            )
        kind, get = seg

        def item_attr(ev: Event) -> Any:
            item = values.get(var)
            return None if item is None else get(item)

        return Compiled(item_attr, kind, cost=1, header_only=False)
    if var not in scope.aliases:
        c.fail(node, f"{node.spelled} bound field references an invalid '${var}' event alias")
    name = F.resolve(node.path) if node.path else None
    if name is None:
        c.fail(node, f"{node.spelled}: expected a field after ${var}.")
    spec = c.field_spec(name)
    getter = c.field_getter(FieldRef(node.pos, name, node.path), spec)
    scope.used_aliases.add(var)

    def alias_field(ev: Event) -> Any:
        bound = values.get(var)
        return None if bound is None else getter(bound)

    out = Compiled(alias_field, spec.kind, cost=2, header_only=False)
    out.fields.add(name)
    return out


def compile_foreach(c: Compiler, node: Call) -> Compiled:
    from kcap.filter.compiler import Compiled

    scope = c.scope
    if not c.dialect.bound_refs or scope is None:
        c.fail(node, "foreach exists only in rule conditions")
    args = node.args
    if len(args) < 3:
        c.fail(node, "FOREACH requires an iterable, a $variable and a predicate")
    iterable, var_node, pred_node = args[0], args[1], args[2]
    if not isinstance(iterable, FieldRef):
        c.fail(iterable, "the first argument of foreach must be a field")
    if not isinstance(var_node, BoundRef) or var_node.path:
        c.fail(var_node, "the second argument of foreach must be a $variable")
    var = var_node.var
    if var in RESERVED_VARS:
        c.fail(var_node, f'"${var}" is a reserved bound variable name')
    for captured in args[3:]:
        if not isinstance(captured, FieldRef):
            c.fail(captured, "captured foreach arguments must be fields")
    items = c.compile(iterable)
    if items.kind == "items":
        segs = SEGMENTS.get(iterable.name)
        if segs is None:
            c.fail(iterable, f"{iterable.spelled} cannot be iterated")
    elif items.kind == "strs":
        segs = None
    else:
        c.fail(iterable, f"{iterable.spelled} is not a list: foreach needs one")
    scope.items[var] = segs
    try:
        pred = c.condition(pred_node).fn
    finally:
        del scope.items[var]
    get_items = items.fn
    values = scope.values

    def foreach(ev: Event) -> bool | None:
        seq = get_items(ev)
        if not seq:
            return None
        saved = values.get(var)
        try:
            for item in seq:
                values[var] = item
                if pred(ev) is True:
                    return True
        finally:
            values[var] = saved
        return None  # upstream's "nothing": false under and/or, true under not

    out = Compiled(foreach, "bool", cost=items.cost + 2, header_only=False)
    out.merge(items)
    return out


def is_bound(node: Node) -> bool:
    return isinstance(node, BoundRef)
