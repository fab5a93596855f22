"""Error messages of the filter compiler, rendered the way upstream renders parser errors.

A syntax error shows the expression with a caret under the offending position and what was
expected (docs/filter.md, the error example at the top)::

    ps.name =
    ╭─────────^
    |
    |
    ╰─────────────────── expected field, string, number, bool, ip, function

An optional hint (e.g. "did you mean ps.name?") follows on its own line.
"""

from __future__ import annotations

from kcap.errors import FilterError


class FilterSyntaxError(FilterError):
    """A filter that does not parse; ``position`` is a 0-based code-point offset."""

    def __init__(self, message: str, expression: str, position: int, expected: str) -> None:
        super().__init__(message)
        self.expression = expression
        self.position = position
        self.expected = expected


def render(
    expr: str, pos: int, expected: str, hint: str | None = None, *, verbatim: bool = False
) -> str:
    """The caret box; the last line is `` expected EXPECTED`` (or ``EXPECTED`` verbatim)."""
    lines = expr.split("\n")
    if pos >= len(expr):
        # Past the end: point one column after the last character of the last line.
        line_no = len(lines) - 1
        col = len(lines[-1]) + 1
    else:
        line_no = expr.count("\n", 0, pos)
        col = pos - (expr.rfind("\n", 0, pos) + 1)
    out: list[str] = []
    for i, line in enumerate(lines):
        out.append(line if i <= line_no else "|" + line)
        if i == line_no:
            # Upstream draws "╭", dashes, then "^" in column ``col``; a caret for column 0
            # cannot follow the corner, so it stands alone there.
            out.append("╭" + "─" * (col - 1) + "^" if col > 0 else "^")
            out.append("|")
    out.append("|")
    out.append("╰" + "─" * 19 + (" " if verbatim else " expected ") + expected)
    if hint:
        out.append(hint)
    return "\n".join(out)


def syntax_error(expr: str, pos: int, expected: str, hint: str | None = None) -> FilterSyntaxError:
    return FilterSyntaxError(render(expr, pos, expected, hint), expr, pos, expected)


def semantic_error(expr: str, pos: int, message: str) -> FilterSyntaxError:
    """A compile error that is not a parse error, drawn with the same caret box."""
    return FilterSyntaxError(render(expr, pos, message, verbatim=True), expr, pos, message)
