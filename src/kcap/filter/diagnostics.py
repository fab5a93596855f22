"""Error messages of the filter compiler: what is wrong first, then where.

Every compile error is a `FilterSyntaxError` whose text is one summary line followed by the
expression with a caret under the offending position::

    expected field, string, number, bool, ip, function: the expression ends where an operand ...
    ps.name =
             ^

``summary`` and ``picture`` are also available separately (the CLI puts the summary on its
``kcap: error:`` line and indents the picture below it). An unknown field says only that (with
the nearest names), never the list of operand kinds a parser could have taken there.
"""

from __future__ import annotations

from kcap.errors import FilterError


class FilterSyntaxError(FilterError):
    """A filter that does not compile; ``position`` is a 0-based code-point offset."""

    def __init__(self, summary: str, expression: str, position: int, expected: str) -> None:
        self.summary = summary
        self.picture = caret_picture(expression, position)
        super().__init__(f"{summary}\n{self.picture}")
        self.expression = expression
        self.position = position
        self.expected = expected


def caret_picture(expr: str, pos: int) -> str:
    """The expression's lines with a caret line under the one holding ``pos``."""
    lines = expr.split("\n")
    if pos >= len(expr):
        # Past the end: point one column after the last character of the last line.
        line_no = len(lines) - 1
        col = len(lines[-1])
    else:
        line_no = expr.count("\n", 0, pos)
        col = pos - (expr.rfind("\n", 0, pos) + 1)
    out: list[str] = []
    for i, line in enumerate(lines):
        out.append(line)
        if i == line_no:
            # Tabs stay tabs so the caret lines up under them in a terminal.
            pad = "".join(ch if ch == "\t" else " " for ch in line[:col])
            out.append(pad + "^")
    return "\n".join(out)


def syntax_error(expr: str, pos: int, expected: str, hint: str | None = None) -> FilterSyntaxError:
    summary = f"expected {expected}" + (f": {hint}" if hint else "")
    return FilterSyntaxError(summary, expr, pos, expected)


def semantic_error(expr: str, pos: int, message: str) -> FilterSyntaxError:
    """A compile error whose message says everything (no list of expected tokens)."""
    return FilterSyntaxError(message, expr, pos, message)
