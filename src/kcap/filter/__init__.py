"""The filter language: Fibratus-compatible expressions compiled to fast predicates.

    >>> from kcap.filter import compile
    >>> f = compile("kevt.name = 'CreateFile' and file.name icontains 'user32'")
    >>> f(event)            # True / False
    >>> f.header_only       # False: file.name needs the event parameters

See docs/filter.md for the language and the deliberate differences from upstream.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kcap.errors import FilterError
from kcap.filter import fields as _fields
from kcap.filter.compiler import Compiler
from kcap.filter.diagnostics import FilterSyntaxError, semantic_error
from kcap.filter.parser import parse
from kcap.model.event import Event

__all__ = ["Filter", "FilterError", "FilterSyntaxError", "compile"]


@dataclass(frozen=True, slots=True)
class _Info:
    fields: frozenset[str]
    params: frozenset[str]
    namespaces: frozenset[str]
    header_only: bool
    functions: frozenset[str]


#: Fields whose value is a function of an event's type id, name, category and description.
KIND_FIELDS = frozenset({"kevt.name", "kevt.category", "kevt.desc"})


class Filter:
    """A compiled filter: call it on an event (with ``ev.ps`` attached) to get True/False.

    ``header_only`` is True when the filter reads only header fields (name, category, pid, tid,
    cpu, seq, host, timestamp...), so it never decodes the rest of a lazily read event.
    ``fields``, ``namespaces`` and ``params`` (the event parameter names it may read) let a
    reader decide what to decode.
    """

    __slots__ = ("_info", "_pred", "expression", "predicate")

    def __init__(
        self, expression: str, pred: Callable[[Event], Any], strict: bool, info: _Info
    ) -> None:
        self.expression = expression
        self._pred = pred
        self._info = info
        #: The bare compiled predicate, returning exactly True or False: what a hot loop
        #: (the reader) calls to save the indirection of `__call__`.
        self.predicate: Callable[[Event], bool] = pred if strict else self.__call__

    def __call__(self, event: Event) -> bool:
        return self._pred(event) is True

    def matches(self, event: Event) -> bool:
        return self(event)

    @property
    def header_only(self) -> bool:
        return self._info.header_only

    @property
    def kind_only(self) -> bool:
        """True when the verdict depends only on the kind of event: its type id, name,
        category and description (no other field, no function). A reader can then decide
        once per kind instead of once per event."""
        info = self._info
        return bool(info.fields) and info.fields <= KIND_FIELDS and not info.functions

    @property
    def fields(self) -> frozenset[str]:
        return self._info.fields

    @property
    def params(self) -> frozenset[str]:
        return self._info.params

    @property
    def namespaces(self) -> frozenset[str]:
        return self._info.namespaces

    def __repr__(self) -> str:
        return f"Filter({self.expression!r})"


def compile(expression: str | Filter) -> Filter:
    """Compile a filter expression; raises `FilterError` with a caret diagram when it is bad."""
    if isinstance(expression, Filter):
        return expression
    if not isinstance(expression, str):
        raise FilterError(f"a filter must be a string, not {type(expression).__name__}")
    src, tree = parse(expression, _fields.resolve, _fields.unknown_field_hint)
    compiler = Compiler(src)
    compiled = compiler.compile(tree)
    if not compiler.has_field_or_call:
        raise semantic_error(
            src, tree.pos, "expected at least one field or function, but the expression is constant"
        )
    if compiled.kind not in ("bool", "any"):
        compiled = compiler.condition(tree)  # raises with the explanation
    namespaces = frozenset(_fields.spec_of(f).namespace for f in compiled.fields)
    info = _Info(
        frozenset(compiled.fields),
        frozenset(compiled.params),
        namespaces,
        compiled.header_only,
        frozenset(compiler.calls),
    )
    return Filter(src, compiled.fn, compiled.strict, info)
