"""Recursive-descent parser with standard precedence.

Grammar (lowest to highest precedence)::

    filter     = expr EOF                         (* trailing text is an error *)
    expr       = and_expr { "or" and_expr }
    and_expr   = not_expr { "and" not_expr }
    not_expr   = "not" not_expr | rel_expr
    rel_expr   = set_expr { ["not"] REL_OP set_expr }     REL_OP: = != <> ~= < <= > >=
    set_expr   = operand { ["not"] SET_OP operand }       SET_OP: in iin contains ... intersects
    operand    = "(" list ")" | "(" expr ")" | call | field | literal
    list       = literal { "," literal }
    call       = IDENT "(" [ expr { "," expr } ] ")"      (* no space before "(" *)

Upstream differs on purpose-worthy points (docs/filter.md lists them): there, a prefix ``not``
after ``and``/``or`` swallows the whole rest of the expression, a leading ``not`` is a syntax error,
text after ``)`` / ``,`` at top level is ignored and non-literal list items silently drop the
items before them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NoReturn

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
from kcap.filter.diagnostics import FilterSyntaxError, semantic_error, syntax_error
from kcap.filter.lexer import Lexer, Tok, Token
from kcap.filter.macros import MAX_EXPANSIONS, MAX_MACRO_DEPTH, Macro, operator_precedence

#: Deepest nesting of parentheses, calls and prefix ``not`` accepted (keeps the recursive parser,
#: compiler and evaluator far from Python's recursion limit on hostile input).
MAX_DEPTH = 100

REL_OPS = frozenset({"=", "!=", "~=", "<", "<=", ">", ">="})
OPERAND = "field, string, number, bool, ip, function"
AFTER_OPERAND = "operator, 'and', 'or', ')' or end of expression"

_LITERAL_KINDS = {
    Tok.STRING: "str",
    Tok.INTEGER: "int",
    Tok.DECIMAL: "float",
    Tok.IP: "ip",
    Tok.CIDR: "cidr",
    Tok.TRUE: "bool",
    Tok.FALSE: "bool",
}
_LIST_ITEM_TOKENS = frozenset({Tok.STRING, Tok.INTEGER, Tok.DECIMAL, Tok.IP, Tok.CIDR})


class Parser:
    """Parses one expression. ``resolve_field`` maps a spelling to its canonical field name
    (or None); ``unknown_field_hint`` explains an identifier that is not a field."""

    def __init__(
        self,
        expr: str,
        resolve_field: Callable[[str], str | None],
        unknown_field_hint: Callable[[str], str],
        *,
        rules: bool = False,
        macros: Mapping[str, Macro] | None = None,
        expanding: tuple[str, ...] = (),
        warnings: list[str] | None = None,
        expansions: list[int] | None = None,
    ) -> None:
        lexer = Lexer(expr, rules=rules)
        self.src = lexer.src
        self.toks = lexer.tokens()
        self.i = 0
        self.depth = 0
        self.resolve_field = resolve_field
        self.unknown_field_hint = unknown_field_hint
        #: Rule conditions: ``$bound`` references, macros, sequence syntax.
        self.rules = rules
        self.macros: Mapping[str, Macro] = macros or {}
        #: Names of the macros being expanded around this parser (cycle detection).
        self.expanding = expanding
        #: Where upstream would read the condition differently (shared with nested parsers).
        self.warnings: list[str] = warnings if warnings is not None else []
        #: Macro uses expanded so far for this condition (one counter shared by nested parsers).
        self.expansions = expansions if expansions is not None else [0]

    # ------------------------------------------------------------------ helpers

    @property
    def tok(self) -> Token:
        return self.toks[self.i]

    def _peek(self, k: int = 1) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def _next(self) -> Token:
        t = self.toks[self.i]
        if t.kind is not Tok.EOF:
            self.i += 1
        return t

    def _fail(self, tok: Token, expected: str, hint: str | None = None) -> NoReturn:
        raise syntax_error(self.src, tok.pos, expected, hint)

    def _expect(self, kind: Tok, expected: str) -> Token:
        if self.tok.kind is not kind:
            self._fail(self.tok, expected)
        return self._next()

    # ------------------------------------------------------------------ grammar

    def parse(self) -> Node:
        if self.tok.kind is Tok.EOF:
            self._fail(self.tok, OPERAND, "the expression is empty")
        node = self._or()
        if self.tok.kind is not Tok.EOF:
            hint = None
            if self.tok.kind is Tok.RPAREN:
                hint = "this ')' has no matching '('"
            self._fail(self.tok, AFTER_OPERAND, hint)
        return node

    def _or(self) -> Node:
        first = self._and()
        operands = [first]
        while self.tok.kind is Tok.OR:
            self._next()
            operands.append(self._and())
        return first if len(operands) == 1 else Logical(first.pos, "or", tuple(operands))

    def _and(self) -> Node:
        first = self._not()
        operands = [first]
        while self.tok.kind is Tok.AND:
            self._next()
            operands.append(self._not())
        return first if len(operands) == 1 else Logical(first.pos, "and", tuple(operands))

    def _enter(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self._fail(tok, "a shallower expression", f"nesting is limited to {MAX_DEPTH} levels")

    def _not(self) -> Node:
        if self.tok.kind is Tok.NOT:
            t = self._next()
            self._enter(t)
            node = Not(t.pos, self._not())
            self.depth -= 1
            return node
        return self._rel()

    def _infix_op(self, ops_wanted: Callable[[str], bool]) -> tuple[str, bool] | None:
        """The next (operator, negated) pair if it belongs to this precedence level."""
        t = self.tok
        if t.kind is Tok.OP and ops_wanted(t.text):
            self._next()
            return t.text, False
        if t.kind is Tok.NOT:
            nxt = self._peek()
            if nxt.kind is Tok.OP and ops_wanted(nxt.text):
                self._next()
                self._next()
                return nxt.text, True
            if nxt.kind is not Tok.OP:
                self._fail(nxt, "operator", "an infix 'not' must be followed by an operator")
        return None

    def _rel(self) -> Node:
        left = self._set()
        chained = 0
        while (found := self._infix_op(lambda op: op in REL_OPS)) is not None:
            op, neg = found
            right = self._set()
            left = Compare(left.pos, op, left, right, neg)
            chained += 1
            if chained > MAX_DEPTH:
                self._fail(self.tok, "'and' or 'or'", "too many chained comparisons")
        return left

    def _set(self) -> Node:
        left = self._operand()
        chained = 0
        while (found := self._infix_op(lambda op: op not in REL_OPS)) is not None:
            op, neg = found
            right = self._operand()
            left = Compare(left.pos, op, left, right, neg)
            chained += 1
            if chained > MAX_DEPTH:
                self._fail(self.tok, "'and' or 'or'", "too many chained comparisons")
        return left

    def _operand(self) -> Node:
        t = self.tok
        kind = t.kind
        if kind is Tok.LPAREN:
            return self._paren()
        if kind in _LITERAL_KINDS:
            self._next()
            return Literal(
                t.pos, t.value if kind is not Tok.STRING else t.text, _LITERAL_KINDS[kind], t.text
            )
        if kind is Tok.IDENT:
            if t.adjacent_paren:
                return self._call()
            if t.text.startswith("$"):
                self._next()
                var, _, path = t.text[1:].partition(".")
                return BoundRef(t.pos, var, path, t.text)
            canonical = self.resolve_field(t.text)
            if canonical is None and t.text in self.macros:
                return self._macro(t)
            if canonical is None:
                raise semantic_error(self.src, t.pos, self.unknown_field_hint(t.text))
            self._next()
            return FieldRef(t.pos, canonical, t.text)
        if kind is Tok.NOT:
            return self._not()
        hint = None
        if kind is Tok.EOF:
            hint = "the expression ends where an operand is needed"
        self._fail(t, OPERAND, hint)
        raise AssertionError  # unreachable

    def _macro(self, t: Token) -> Node:
        """Splice the macro named by ``t`` (see kcap.filter.macros)."""
        self._next()
        macro = self.macros[t.text]
        if macro.items is not None:
            return ListLiteral(t.pos, tuple(Literal(t.pos, v, "str", v) for v in macro.items))
        if t.text in self.expanding:
            cycle = " -> ".join((*self.expanding[self.expanding.index(t.text) :], t.text))
            raise semantic_error(self.src, t.pos, f"macro {t.text} uses itself: {cycle}")
        self.expansions[0] += 1
        if self.expansions[0] > MAX_EXPANSIONS:
            raise semantic_error(
                self.src,
                t.pos,
                f"the condition expands more than {MAX_EXPANSIONS} macro uses; "
                "a macro library that uses macros repeatedly grows it without end",
            )
        if len(self.expanding) >= MAX_MACRO_DEPTH:
            raise semantic_error(
                self.src, t.pos, f"macros nest more than {MAX_MACRO_DEPTH} levels deep"
            )
        body = macro.expr or ""
        inner = Parser(
            body,
            self.resolve_field,
            self.unknown_field_hint,
            rules=True,
            macros=self.macros,
            expanding=(*self.expanding, t.text),
            warnings=self.warnings,
            expansions=self.expansions,
        )
        try:
            node = inner.parse()
        except FilterSyntaxError as exc:
            where = f" ({macro.source})" if macro.source else ""
            raise FilterSyntaxError(
                f'in macro "{t.text}"{where}: {exc.summary}', exc.expression, exc.position, ""
            ) from None
        self._warn_reassociation(t.text, inner, node)
        return node

    def _warn_reassociation(self, name: str, inner: Parser, node: Node) -> None:
        """Warn where upstream's parser would reach into the spliced macro (macros.py)."""
        if not isinstance(node, Logical | Compare) or inner.wrapped_in_parens():
            return
        own = operator_precedence(node.op)
        nxt = self.tok
        if nxt.kind is Tok.NOT and self._peek().kind is Tok.OP:
            nxt = self._peek()
        if nxt.kind in (Tok.AND, Tok.OR, Tok.OP) and operator_precedence(nxt.text) > own:
            self.warnings.append(
                f"macro {name} ends in a looser operator ({node.op}) than the '{nxt.text}' "
                f"after it: kcap keeps the macro together, upstream Fibratus re-associates it "
                f"(the rule means something else there); write ({name}) or parenthesise the "
                "macro's body"
            )

    def wrapped_in_parens(self) -> bool:
        """True when the whole expression is one parenthesised group."""
        toks = self.toks
        if len(toks) < 3 or toks[0].kind is not Tok.LPAREN:
            return False
        depth = 0
        for k, tok in enumerate(toks[:-1]):  # the last token is EOF
            if tok.kind is Tok.LPAREN:
                depth += 1
            elif tok.kind is Tok.RPAREN:
                depth -= 1
                if depth == 0:
                    return k == len(toks) - 2
        return False

    def _paren(self) -> Node:
        open_tok = self._next()
        self._enter(open_tok)
        node = self._paren_body(open_tok)
        self.depth -= 1
        return node

    def _paren_body(self, open_tok: Token) -> Node:
        t, after = self.tok, self._peek()
        if t.kind in _LIST_ITEM_TOKENS and after.kind in (Tok.COMMA, Tok.RPAREN):
            items: list[Literal] = []
            while True:
                it = self.tok
                if it.kind not in _LIST_ITEM_TOKENS:
                    self._fail(it, "a list item: string, number or ip", "lists hold literals only")
                self._next()
                items.append(
                    Literal(
                        it.pos,
                        it.value if it.kind is not Tok.STRING else it.text,
                        _LITERAL_KINDS[it.kind],
                        it.text,
                    )
                )
                if self.tok.kind is Tok.COMMA:
                    self._next()
                    continue
                self._expect(Tok.RPAREN, "')'")
                return ListLiteral(open_tok.pos, tuple(items))
        if t.kind is Tok.RPAREN:
            self._fail(t, OPERAND, "empty parentheses")
        inner = self._or()
        if self.tok.kind is not Tok.RPAREN:
            expected = "')'" if self.tok.kind is Tok.EOF else "operator, 'and', 'or', ')'"
            self._fail(self.tok, expected)
        self._next()
        return inner

    def _call(self) -> Node:
        name_tok = self.tok
        self._enter(name_tok)
        node = self._call_body()
        self.depth -= 1
        return node

    def _call_body(self) -> Node:
        name_tok = self._next()
        self._next()  # "("
        args: list[Node] = []
        if self.tok.kind is Tok.RPAREN:
            self._next()
            return Call(name_tok.pos, name_tok.text.lower(), ())
        while True:
            args.append(self._or())
            if self.tok.kind is Tok.COMMA:
                self._next()
                continue
            if self.tok.kind is not Tok.RPAREN:
                self._fail(self.tok, "')' or ','")
            self._next()
            return Call(name_tok.pos, name_tok.text.lower(), tuple(args))


def parse(
    expr: str,
    resolve_field: Callable[[str], str | None],
    unknown_field_hint: Callable[[str], str],
) -> tuple[str, Node]:
    """Parse ``expr``; returns the normalised source text and the tree."""
    p = Parser(expr, resolve_field, unknown_field_hint)
    return p.src, p.parse()
