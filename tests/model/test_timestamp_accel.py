"""The accelerator's timestamp parser agrees with the Python one wherever it decides.

It decides only canonical RFC 3339 text (and says None otherwise); whatever it decides must be
exactly what model/timestamp.py's parser gives, which holds the rules.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kcap.format import accel
from kcap.model.timestamp import _parse

pytestmark = pytest.mark.skipif(
    not accel.ACCELERATED, reason="the C accelerator is not in use (not built, or KCAP_PURE_PYTHON)"
)


def fast(text: str) -> tuple[int, int] | None:
    got: tuple[int, int] | None = accel.speedups.parse_time(text)
    return got


@pytest.mark.parametrize(
    "text",
    [
        "2022-08-15T21:56:28.3433744Z",
        "2024-02-29T23:59:59.999999999+02:00",
        "1970-01-01T00:00:00Z",
        "2000-03-01t00:00:00,5-11:30",
        "2023-12-31T23:59:60Z",  # a leap second, as Python accepts it
        "1999-06-15T12:00:00.1z",
    ],
)
def test_canonical_text_is_decided_here_and_agrees(text: str) -> None:
    assert fast(text) is not None
    assert fast(text) == _parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "0001-01-01T00:00:00Z",  # Go's zero time: beyond 64-bit nanoseconds, left to Python
        "2023-02-29T00:00:00Z",  # not a leap year
        "2023-13-01T00:00:00Z",
        "2023-01-01T24:00:00Z",
        "2023-01-01T00:00:00",
        "2023-01-01T00:00:00.Z",
        "2023-01-01T00:00:00.1234567890Z",
        "2023-01-01T00:00:00+24:00",
        "2023-01-01 00:00:00Z",
        " 2023-01-01T00:00:00Z",
        "2023-01-01T00:00:00Zé",
    ],
)
def test_anything_else_is_left_to_python(text: str) -> None:
    assert fast(text) is None


_DIGIT_OR_NOT = st.sampled_from("0123456789012345678901234567890123456789 +-_xTZz:.,")


@given(
    st.datetimes(datetime(1600, 1, 1), datetime(2300, 12, 31)),
    st.integers(0, 9),
    st.sampled_from(["Z", "z", "+00:00", "-05:30", "+14:00", "+23:59", "-24:00", "+1:00"]),
    st.lists(st.tuples(st.integers(0, 29), _DIGIT_OR_NOT), max_size=2),
)
def test_agrees_with_python_on_any_text_near_the_canonical_form(
    when, digits: int, zone: str, edits: list[tuple[int, str]]
) -> None:
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if len(text) != 19:
        text = f"{when.year:04d}" + text[text.index("-") :]
    if digits:
        text += "." + f"{when.microsecond:06d}{when.microsecond % 997:03d}"[:digits]
    text += zone
    chars = list(text)
    for at, ch in edits:  # damage it a little
        if at < len(chars):
            chars[at] = ch
    text = "".join(chars)
    got = fast(text)
    if got is not None:
        assert got == _parse(text), text
