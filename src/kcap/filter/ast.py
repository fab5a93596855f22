"""Syntax tree of a filter expression (produced by the parser, consumed by the compiler)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Node:
    pos: int


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A string, integer, decimal, bool, IP address or CIDR network literal."""

    value: Any
    kind: str  # 'str' 'int' 'float' 'bool' 'ip' 'cidr'
    text: str


@dataclass(frozen=True, slots=True)
class ListLiteral(Node):
    items: tuple[Literal, ...]


@dataclass(frozen=True, slots=True)
class FieldRef(Node):
    name: str  # canonical spelling (``evt.`` is normalised to ``kevt.``)
    spelled: str  # as typed


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str  # lower-cased
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not(Node):
    operand: Node


@dataclass(frozen=True, slots=True)
class Logical(Node):
    op: str  # 'and' | 'or'
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Compare(Node):
    op: str  # '=', '!=', '~=', '<', ..., 'in', 'icontains', ...
    left: Node
    right: Node
    negated: bool = False  # infix form ``a not in (...)``


@dataclass(frozen=True, slots=True)
class BoundRef(Node):
    """``$name.path`` in a rule: a sequence alias's field or a ``foreach`` item's attribute;
    ``path`` is empty for a bare ``$name`` (the item itself)."""

    var: str  # without the "$"
    path: str
    spelled: str
