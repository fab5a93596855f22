"""Regression tests of the filter findings of the fuzzing campaign (issue 16, "Filters").

Filters are untrusted text (rule files and filaments feed them too): no expression may hang,
exhaust memory, or escape `kcap.filter.compile` as anything but a `FilterError`.
"""

from __future__ import annotations

import time

import pytest
from filter_events import EVENTS

from kcap.errors import FilterError
from kcap.filter import compile
from kcap.filter.lexer import MAX_EXPRESSION
from kcap.filter.limits import MAX_BUILT
from kcap.model import Event, Param, Process
from kcap.model.params import ParamType as T


def _file_event(path: str, cmdline: str = "") -> Event:
    return Event(
        name="CreateFile",
        category="file",
        params=[Param("file_path", T.UNICODE, path)],
        ps=Process(pid=7, name="x.exe", cmdline=cmdline),
    )


def _finishes_quickly(expr: str, ev: Event) -> bool:
    flt = compile(expr)
    start = time.perf_counter()
    verdict = flt(ev)
    # Generous: the backtracking engine took minutes; RE2 and the glob matcher take microseconds.
    assert time.perf_counter() - start < 2.0
    return verdict


def test_regex_nested_star_pattern_does_not_hang() -> None:
    ev = _file_event("C:\\" + "a" * 50_000)
    assert _finishes_quickly(r"regex(file.name, '(.*.*)*Q')", ev) is False


def test_regex_word_space_pattern_does_not_hang() -> None:
    ev = _file_event("C:\\x.exe", cmdline="word " * 20_000 + "!")
    assert _finishes_quickly(r"regex(ps.cmdline, '(\\w+\\s?)+$Q')", ev) is False


def test_regex_uses_re2_syntax_and_still_matches() -> None:
    ev = _file_event("C:\\Windows\\System32\\cmd.exe", cmdline="cmd /c whoami")
    assert compile(r"regex(ps.cmdline, '^cmd\\s+/c\\s+\\w+$')")(ev)
    assert compile(r"regex(file.path, '(?i)system32')")(ev)
    # Back-references are not RE2 (nor Go) syntax: a clear compile error, not a crash.
    with pytest.raises(FilterError, match="invalid regular expression"):
        compile(r"regex(ps.cmdline, '(a)\\1')")


def test_matches_with_many_stars_does_not_hang() -> None:
    ev = _file_event("C:\\" + "a" * 100_000)
    expr = "file.path matches '" + "*a" * 40 + "*b'"
    assert _finishes_quickly(expr, ev) is False
    assert _finishes_quickly("file.path imatches '" + "*A" * 40 + "*'", ev) is True


def test_nested_replace_eight_levels_is_a_filter_error() -> None:
    expr = "ps.name"
    for _ in range(8):
        expr = f"replace({expr}, '', 'xxxxxxxxxx')"
    with pytest.raises(FilterError, match="times longer than its input"):
        compile(expr + " = 'a'")


def test_nested_replace_fifteen_levels_is_a_filter_error() -> None:
    expr = "ps.name"
    for _ in range(15):
        expr = f"replace({expr}, '', 'xxxxxxxxxx')"
    with pytest.raises(FilterError, match="REPLACE could build text"):
        compile(expr + " = 'a'")


def test_replace_never_builds_more_than_the_run_time_bound() -> None:
    # Accepted at compile time (factor 11 per level), but a long input would still pass the
    # bound: the result is then missing, and nothing of that size is allocated.
    flt = compile("length(replace(replace(file.path, '', 'xxxxxxxxxx'), '', 'x')) > 0")
    assert flt(_file_event("C:\\short")) is True
    long_path = "p" * (MAX_BUILT // 8)
    assert flt(_file_event(long_path)) is False


@pytest.mark.parametrize(
    "expr",
    [
        "ps.pid = " + "1" * 5000,
        "ps.pid in (1, 2, " + "9" * 5000 + ")",
        "substr(ps.name, " + "1" * 5000 + ", 2) = 'a'",
        "substr(ps.name, 0, " + "1" * 5000 + ") = 'a'",
        "ps.ancestor[" + "1" * 5000 + "].name = 'a'",
        "ps.pid = -" + "1" * 5000,
    ],
)
def test_integer_literal_over_int_string_limit_is_a_filter_error(expr: str) -> None:
    with pytest.raises(FilterError):
        compile(expr)


def test_integer_literal_error_says_why() -> None:
    with pytest.raises(FilterError, match="5000 digits"):
        compile("ps.pid = " + "1" * 5000)


def test_megabyte_expression_is_refused_quickly() -> None:
    expr = " or ".join(f"ps.name = 'n{i}'" for i in range(250_000))  # about 3.7 MB
    start = time.perf_counter()
    with pytest.raises(FilterError, match=f"at most {MAX_EXPRESSION:,}"):
        compile(expr)
    assert time.perf_counter() - start < 1.0


def test_expression_just_under_the_cap_still_compiles() -> None:
    items = ", ".join(f"'n{i}'" for i in range(9000))
    expr = f"ps.name in ({items})"
    assert len(expr) < MAX_EXPRESSION
    assert compile(expr)(EVENTS["V"]()) is False
