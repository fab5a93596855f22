"""Compile errors: caret diagrams, expectations, suggestions, and live-only rejections."""

from __future__ import annotations

import pytest

from kcap.errors import FilterError, KcapError
from kcap.filter import FilterSyntaxError, compile


def error_of(expr: str) -> FilterSyntaxError:
    with pytest.raises(FilterError) as info:
        compile(expr)
    assert isinstance(info.value, FilterSyntaxError)
    return info.value


def test_message_comes_first_then_the_caret_picture() -> None:
    err = error_of("ps.name =")
    lines = str(err).splitlines()
    assert lines == [
        "expected field, string, number, bool, ip, function: "
        "the expression ends where an operand is needed",
        "ps.name =",
        "         ^",
    ]
    assert err.position == 9
    assert err.summary == lines[0]
    assert err.picture == "\n".join(lines[1:])
    assert isinstance(err, KcapError)


def test_caret_points_at_the_offending_token() -> None:
    expr = "ps.name = 'cmd.exe' aand ps.cmdline contains 'ss'"
    err = error_of(expr)
    caret_line = str(err).splitlines()[2]
    assert caret_line.index("^") == expr.index("aand")
    assert err.expected.startswith("operator")


def test_multiline_expression_points_into_the_right_line() -> None:
    err = error_of("ps.name = 'a'\nand ps.pid = =")
    lines = str(err).splitlines()
    assert lines[1] == "ps.name = 'a'"
    assert lines[2] == "and ps.pid = ="
    assert lines[3].index("^") == len("and ps.pid = ")


def test_unknown_field_suggests_nearest_names() -> None:
    err = error_of("ps.nmae = 'x'")
    first = str(err).splitlines()[0]
    assert first.startswith("unknown field 'ps.nmae'")
    assert "ps.name" in first
    assert err.position == 0


def test_unknown_field_error_has_no_operand_kind_list() -> None:
    # Regression (issue 15): the parser's "expected field, string, ..." was shown as well.
    err = error_of("ps.nmae = 'x'")
    assert "expected field, string" not in str(err)
    assert "expected" not in err.summary


def test_indexed_family_is_suggested_for_a_bad_segment() -> None:
    err = error_of("ps.modules[kernel32.dll].sise = 1")
    assert "ps.modules[<FILE>]" in str(err)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("ps.name = 'a' ) or x", "has no matching '('"),
        ("ps.name = 'a', ps.pid = 1", "expected operator"),
        ("ps.name = 'cmd.exe' AND ps.name IN ('exe') ps.name", "expected operator"),
        ("ps.name = 'cmd.exe' AND (ps.name contains 'svc'", "expected ')'"),
        ('ps.name = "x"', "double quotes"),
        ("ps.name = 'C:\\Windows'", "must be doubled"),
        ("ps.name = 'abc", "not terminated"),
        ("net.dip = 172.17.0", "a valid IP address"),
        ("net.dip = 1.2.3.4.5", "a valid IP address"),
        ("ps.pid = - 1", "unexpected character '-'"),
        ("net.dip = -1.2.3.4", "only integers and decimals can be negative"),
        ("ps.pid = 0x10", "is not a number"),
        ("ps.name in ('a', ps.exe)", "lists hold literals only"),
        ("ps.name in ()", "empty parentheses"),
        ("ps.name not 'a'", "infix 'not' must be followed by an operator"),
        ("", "the expression is empty"),
        ("ps.name = 'a' #", "unexpected character"),
        ("sequence |ps.name = 'a'| |ps.name = 'b'|", "sequence rules"),
    ],
)
def test_syntax_errors(expr: str, message: str) -> None:
    assert message in str(error_of(expr))


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("'cmd.exe'", "expected at least one field or function"),
        ("ps.name", "ps.name is a string value, not a condition"),
        ("ps.name = 'a' and ps.exe", "ps.exe is a string value, not a condition"),
        ("ip_cidr(net.dip) = '24'", "ip_cidr function is undefined"),
        ("cidr_contains(net.dip)", "CIDR_CONTAINS function requires 2 argument(s) but 1"),
        ("cidr_contains(net.dip, 12)", "argument #2 (cidr) in function CIDR_CONTAINS should be"),
        ("concat('hello')", "CONCAT function requires 2 argument(s) but 1 argument(s) given"),
        ("replace('hello world', 'hello', 'hell', 'world') = 'x'", "old/new replacements mismatch"),
        ("indexof('hello', 'h', 'frst') = 1", "frst is not a valid index search order"),
        ("entropy(ps.name, 'renyi') > 1", "unsupported entropy algorithm: renyi"),
        ("regex(ps.name, '(unclosed')", "invalid regular expression"),
        ("cidr_contains(net.dip, '10.0.0.0/99')", "is not a valid CIDR network"),
        ("length(ps.name, ps.exe) = 1", "LENGTH function accepts at most 1 argument(s)"),
    ],
)
def test_semantic_errors(expr: str, message: str) -> None:
    assert message in str(error_of(expr))


@pytest.mark.parametrize(
    ("expr", "name"),
    [
        ("glob('C:\\\\*.exe') in ('x')", "glob"),
        ("is_minidump(file.path)", "is_minidump"),
        ("get_reg_value('HKLM\\\\x') = 1", "get_reg_value"),
        ("yara(ps.pid, 'rule x {}')", "yara"),
        ("symlink(file.path) = 'x'", "symlink"),
    ],
)
def test_live_only_functions_are_rejected_by_name(expr: str, name: str) -> None:
    msg = str(error_of(expr))
    assert f"function {name} needs the live Windows host" in msg


@pytest.mark.parametrize(
    "field",
    [
        "thread.callstack.summary",
        "image.is_dotnet",
        "file.is_driver_vulnerable",
        "pe.is_modified",
        "ps.child.pe.file.name",
        "thread.callstack[0].module",
        "ps.dtb",
    ],
)
def test_fields_needing_the_live_host_are_rejected_with_the_reason(field: str) -> None:
    msg = str(error_of(f"{field} = 'x'"))
    assert f"field {field} is not available when replaying a capture:" in msg


def test_compile_results_of_the_parser_tests() -> None:
    for expr in (
        "ps.name <> 'cmd.exe'",
        "net.dip = 172.17.0.9 and (net.dip not in ('172.15.9.2'))",
        "ps.name = 'cmd.exe' OR ((ps.name contains 'svc' AND ps.name != 'lsass') AND ps.ppid != 1)",
        "ps.name = 'cmd.exe' and not cidr_contains(net.sip, '172.14.0.0')",
        "base('C:\\\\Windows\\\\cmd.exe', false) = ps.name",
        "pe.is_exec",
        "length(pe.imphash) > 0",
        "not ps.name = 'x'",
    ):
        compile(expr)


def test_hostile_nesting_is_a_filter_error_not_a_crash() -> None:
    assert "nesting is limited" in str(error_of("(" * 5000 + "ps.pid = 1" + ")" * 5000))
    assert "nesting is limited" in str(error_of("ps.pid = 1 and " + "not " * 5000 + "ps.pid = 1"))
    assert "nesting is limited" in str(error_of("lower(" * 500 + "ps.name" + ")" * 500 + " = 'a'"))
    assert "chained comparisons" in str(error_of("ps.pid = 1" + " = true" * 500))


def test_very_long_flat_expressions_compile_and_run() -> None:
    from filter_events import EVENTS

    expr = " or ".join(f"ps.pid = {i}" for i in range(5000))
    assert compile(expr)(EVENTS["V"]())  # pid 1 is among them
    expr = " and ".join(f"ps.pid != {i}" for i in range(2, 5000))
    assert compile(expr)(EVENTS["V"]())


@pytest.mark.parametrize(
    ("expr", "why"),
    [
        ("kevt.pid = 'abc'", "kevt.pid is a number and 'abc' is text"),
        ("kevt.pid != '12'", "compare with a number: kevt.pid != 12"),
        ("kevt.time > '21:56:40'", "use kevt.time.h"),
        ("ps.name = 1", "quote the value: ps.name = '1'"),
        ("ps.is_wow64 = 'true'", "compare with true or false"),
        ("net.dip = '10.0.0.1'", "write the address unquoted"),
        ("'abc' = kevt.pid", "kevt.pid is a number"),
    ],
)
def test_comparison_never_true_by_its_kinds_is_a_compile_error(expr: str, why: str) -> None:
    # Regression (issue 15): these compiled and silently matched nothing.
    err = error_of(expr)
    assert "never true" in err.summary
    assert why in err.summary


def test_comparisons_of_compatible_kinds_still_compile() -> None:
    for expr in (
        "kevt.pid = 4",
        "kevt.pid in ('4', '8')",
        "kevt.time = '15:04:05'",
        "kevt.time.h > 21",
        "net.dip in ('10.0.0.1')",
        "ps.is_wow64 = false",
        "length(ps.name) > 3",
    ):
        compile(expr)
