"""Tokenizer of the filter language.

Positions are 0-based code-point offsets into the expression (after ``\\r\\n``/``\\r`` are read as
``\\n``), which is what error carets point at. Identifiers may contain ``.``, ``[``, ``]`` and ``$``
so that indexed fields such as ``pe.sections[.debug$S].entropy`` are one token; whether an
identifier is a field or a function name is decided by the parser.
"""

from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from typing import NoReturn

from kcap.errors import FilterError
from kcap.filter.diagnostics import syntax_error


class Tok(enum.Enum):
    EOF = "end of input"
    IDENT = "identifier"
    STRING = "string"
    INTEGER = "integer"
    DECIMAL = "decimal"
    IP = "ip"
    CIDR = "cidr"
    TRUE = "true"
    FALSE = "false"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    AND = "and"
    OR = "or"
    NOT = "not"
    OP = "operator"  # every comparison / set operator; the spelling is in Token.text
    # Only in rule conditions (``Lexer(..., rules=True)``):
    PIPE = "|"
    KEYWORD = "keyword"  # sequence maxspan by as
    DURATION = "duration"  # value: nanoseconds


#: Word operators, matched case-insensitively. ``intersects``/``iintersects`` come from later
#: upstream releases (docs/filter.md, "Differences from upstream"); accepting them is an extension.
WORD_OPERATORS = frozenset(
    {
        "in",
        "iin",
        "contains",
        "icontains",
        "startswith",
        "istartswith",
        "endswith",
        "iendswith",
        "matches",
        "imatches",
        "fuzzy",
        "ifuzzy",
        "fuzzynorm",
        "ifuzzynorm",
        "intersects",
        "iintersects",
    }
)
SYMBOL_OPERATORS = ("<>", "!=", "~=", "<=", ">=", "=", "<", ">")

#: Words of the upstream rule language that a single-event filter cannot use.
RULE_WORDS = frozenset({"sequence", "maxspan", "by", "as"})

_IDENT_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
#: Units of a duration (``2m``, ``1m30s``, ``500ms``), in nanoseconds.
DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 604_800_000_000_000,
}
_IDENT_CONT = _IDENT_START | frozenset("0123456789.[]$")
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
_IPV6_CHARS = _HEX | frozenset(":.")
_STRING_ESCAPES = {"n": "\n", "\\": "\\", "'": "'", '"': '"', "t": "\t"}
_OPERAND = "field, string, number, bool, ip, function"

#: Longest expression accepted, in characters: far above any real filter or rule condition
#: (upstream's longest rule is about 5,000), and small enough to compile in well under a
#: second. Hostile megabyte-long input is refused before any work is done.
MAX_EXPRESSION = 100_000
#: Digits an integer literal may have: every event field fits in 64 bits (20 digits); the
#: bound also keeps Python's own int-from-text limit (4,300 digits) out of reach.
MAX_INT_DIGITS = 20


@dataclass(frozen=True, slots=True)
class Token:
    kind: Tok
    text: str  # operator spelling (lower-cased), identifier text, decoded string contents
    pos: int
    value: object = None  # int / float / ip address / network for literals
    end: int = 0
    adjacent_paren: bool = False  # an IDENT immediately followed by "(" (a function call)


def normalize_newlines(expr: str) -> str:
    return expr.replace("\r\n", "\n").replace("\r", "\n")


class Lexer:
    """Turns an expression into tokens; raises `FilterError` at the first malformed one."""

    def __init__(self, expr: str, *, rules: bool = False) -> None:
        self.rules = rules
        if len(expr) > MAX_EXPRESSION:
            raise FilterError(
                f"the expression is {len(expr):,} characters long; at most "
                f"{MAX_EXPRESSION:,} are accepted (split it, or use list macros in rules)"
            )
        self.src = normalize_newlines(expr)
        self.n = len(self.src)

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        i = 0
        src, n = self.src, self.n
        while True:
            while i < n and src[i] in " \t\n":
                i += 1
            if i >= n:
                out.append(Token(Tok.EOF, "", n, end=n))
                return out
            tok = self._one(i)
            out.append(tok)
            i = tok.end

    # ------------------------------------------------------------------ one token

    def _one(self, i: int) -> Token:
        src, n = self.src, self.n
        c = src[i]
        if c == "(":
            return Token(Tok.LPAREN, "(", i, end=i + 1)
        if c == ")":
            return Token(Tok.RPAREN, ")", i, end=i + 1)
        if c == ",":
            return Token(Tok.COMMA, ",", i, end=i + 1)
        if self.rules and c == "|":
            return Token(Tok.PIPE, "|", i, end=i + 1)
        if self.rules and c == "$" and i + 1 < n and src[i + 1] in _IDENT_START:
            return self._word(i)
        if c == "'":
            return self._string(i)
        if c == '"':
            self._fail(i, _OPERAND, "double quotes do not make a string; use single quotes")
        for op in SYMBOL_OPERATORS:
            if src.startswith(op, i):
                return Token(Tok.OP, "!=" if op == "<>" else op, i, end=i + len(op))
        if c in _DIGITS or (c == "." and i + 1 < n and src[i + 1] in _DIGITS):
            return self._number(i)
        if c == ":" and src.startswith("::", i):
            return self._ipv6(i)
        if c in _IDENT_START:
            return self._word(i)
        if c == "-" and i + 1 < n and (src[i + 1] in _DIGITS or src[i + 1] == "."):
            return self._negative(i)
        self._fail(i, _OPERAND, f"unexpected character {c!r}")

    def _fail(self, pos: int, expected: str, hint: str | None = None) -> NoReturn:
        raise syntax_error(self.src, pos, expected, hint)

    def _string(self, i: int) -> Token:
        src, n = self.src, self.n
        j = i + 1
        buf: list[str] = []
        while True:
            if j >= n:
                self._fail(i, "a closing quote", "the string starting here is not terminated")
            ch = src[j]
            if ch == "'":
                return Token(Tok.STRING, "".join(buf), i, end=j + 1)
            if ch == "\n":
                self._fail(j, "a closing quote", "a string cannot span lines (write \\n)")
            if ch == "\\":
                if j + 1 >= n:
                    self._fail(i, "a closing quote", "the string starting here is not terminated")
                esc = src[j + 1]
                if esc not in _STRING_ESCAPES:
                    self._fail(
                        j + 1,
                        "a valid escape: \\\\ \\' \\\" \\n \\t",
                        "backslashes in strings must be doubled ('C:\\\\Windows')",
                    )
                buf.append(_STRING_ESCAPES[esc])
                j += 2
                continue
            buf.append(ch)
            j += 1

    def _number(self, i: int) -> Token:
        src, n = self.src, self.n
        j = i
        while j < n and (src[j] in _DIGITS or src[j] == "."):
            j += 1
        text = src[i:j]
        # An IPv6 address can start with digits ("2001:db8::1").
        if (j < n and src[j] == ":") or (j < n and src[j] in _HEX and self._looks_ipv6(i)):
            return self._ipv6(i)
        if self.rules and j < n and src[j].isalpha() and "." not in text:
            return self._duration(i)
        if j < n and (src[j].isalpha() or src[j] == "_"):
            k = j
            while k < n and src[k] in _IDENT_CONT:
                k += 1
            self._fail(i, _OPERAND, f"{src[i:k]!r} is not a number (durations exist only in rules)")
        dots = text.count(".")
        if dots == 0:
            return self._cidr_or(Token(Tok.INTEGER, text, i, self._integer(i, text), end=j))
        if dots == 1:
            if text == ".":
                self._fail(i, _OPERAND)
            return Token(Tok.DECIMAL, text, i, float(text), end=j)
        try:
            if dots != 3:
                raise ValueError
            addr = ipaddress.IPv4Address(text)
        except ValueError:
            self._fail(i, "a valid IP address")
        return self._cidr_or(Token(Tok.IP, text, i, addr, end=j))

    def _duration(self, i: int) -> Token:
        """``1h30m``: runs of digits each followed by a unit, added up (rules only)."""
        src, n = self.src, self.n
        j, total = i, 0
        while j < n and src[j] in _DIGITS:
            k = j
            while k < n and src[k] in _DIGITS:
                k += 1
            u = k
            while u < n and src[u].isalpha():
                u += 1
            unit = src[k:u]
            if unit not in DURATION_UNITS:
                self._fail(
                    i,
                    "a duration such as 2m, 1m30s or 500ms",
                    f"{unit!r} is not a unit (ns, us, ms, s, m, h, d, w)",
                )
            total += self._integer(j, src[j:k]) * DURATION_UNITS[unit]
            j = u
        return Token(Tok.DURATION, src[i:j], i, total, end=j)

    def _integer(self, i: int, digits: str) -> int:
        if len(digits.lstrip("0")) > MAX_INT_DIGITS:
            self._fail(
                i,
                "a number of at most 20 digits",
                f"this integer has {len(digits)} digits; no event value is wider than 64 bits",
            )
        return int(digits)

    def _negative(self, i: int) -> Token:
        """``-12`` / ``-0.5``: there is no subtraction, so a minus sign only starts a number."""
        tok = self._number(i + 1)
        if tok.kind not in (Tok.INTEGER, Tok.DECIMAL):
            self._fail(i, _OPERAND, "only integers and decimals can be negative")
        value = -tok.value  # type: ignore[operator]
        return Token(tok.kind, "-" + tok.text, i, value, end=tok.end)

    def _looks_ipv6(self, i: int) -> bool:
        j = i
        while j < self.n and self.src[j] in _IPV6_CHARS:
            j += 1
        return self.src.count(":", i, j) >= 2

    def _ipv6(self, i: int) -> Token:
        src, n = self.src, self.n
        j = i
        while j < n and src[j] in _IPV6_CHARS:
            j += 1
        text = src[i:j]
        try:
            addr = ipaddress.IPv6Address(text)
        except ValueError:
            self._fail(i, "a valid IP address")
        return self._cidr_or(Token(Tok.IP, text, i, addr, end=j))

    def _cidr_or(self, tok: Token) -> Token:
        """An IP literal directly followed by ``/bits`` is a CIDR network literal."""
        src, n, j = self.src, self.n, tok.end
        if tok.kind is not Tok.IP or j >= n or src[j] != "/":
            return tok
        k = j + 1
        while k < n and src[k] in _DIGITS:
            k += 1
        text = src[tok.pos : k]
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            self._fail(tok.pos, "a valid CIDR network such as 10.0.0.0/8")
        return Token(Tok.CIDR, text, tok.pos, net, end=k)

    def _word(self, i: int) -> Token:
        src, n = self.src, self.n
        j = i + 1
        while j < n and src[j] in _IDENT_CONT:
            j += 1
        text = src[i:j]
        # "fe80::1" / "abcd:ef01::" : hexadecimal IPv6 starting with a letter.
        if j < n and src[j] == ":" and all(ch in _HEX for ch in text) and self._looks_ipv6(i):
            return self._ipv6(i)
        low = text.lower()
        if low == "and":
            return Token(Tok.AND, low, i, end=j)
        if low == "or":
            return Token(Tok.OR, low, i, end=j)
        if low == "not":
            return Token(Tok.NOT, low, i, end=j)
        if low == "true":
            return Token(Tok.TRUE, low, i, True, end=j)
        if low == "false":
            return Token(Tok.FALSE, low, i, False, end=j)
        if low in WORD_OPERATORS:
            return Token(Tok.OP, low, i, end=j)
        if low in RULE_WORDS and self.rules:
            return Token(Tok.KEYWORD, low, i, end=j)
        if low in RULE_WORDS:
            self._fail(
                i,
                _OPERAND,
                f"'{low}' belongs to sequence rules, which never match a single replayed event",
            )
        return Token(Tok.IDENT, text, i, end=j, adjacent_paren=j < n and src[j] == "(")
