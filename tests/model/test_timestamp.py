from hypothesis import given
from hypothesis import strategies as st

from kcap.model import Timestamp
from kcap.model.timestamp import ZERO_NS


def test_parses_fraction_and_offset():
    ts = Timestamp("2022-08-27T19:14:37.7160819+02:00")
    assert ts.offset == 7200
    assert ts.ns == 1661620477716081900
    assert ts.valid


def test_unparsable_text_reads_as_go_zero_time_but_keeps_text():
    ts = Timestamp("not a time")
    assert ts.ns == ZERO_NS
    assert not ts.valid
    assert ts.text == "not a time"


@given(
    st.integers(min_value=(-62135596800 + 86400) * 10**9, max_value=(253402300799 - 86400) * 10**9),
    st.integers(min_value=-23 * 60, max_value=23 * 60).map(lambda m: m * 60),
)
def test_format_then_parse_is_identity(ns, offset):
    ts = Timestamp.from_ns(ns, offset)
    again = Timestamp(ts.text)
    assert (again.ns, again.offset) == (ns, offset)


def test_malformed_texts_read_as_invalid():
    for text in [
        "2024-01-01T00:00:00",  # no zone
        "2024-01-01T00:00:00.Z",  # empty fraction
        "2024-01-01T00:00:00.1234567890Z",  # ten digits
        "2024-01-01T00:00:00+2:00",
        "2024-01-01T00:00:00+24:00",
        "2024-13-01T00:00:00Z",
        "2024-01-01 00:00:00Z",
        "2024-01-01T00:00:00.\u0661\u0662Z",  # non-ASCII (Arabic-Indic) digits
        "2024-01-01T00:00:00x5Z",
    ]:
        assert not Timestamp(text).valid, text


def test_offsets_and_fractions():
    assert Timestamp("2024-01-01T00:00:00.5-01:30").ns == (1704067200 + 5400) * 10**9 + 5 * 10**8
    assert Timestamp("2024-01-01T00:00:00,25Z").ns == 1704067200 * 10**9 + 25 * 10**7
    assert Timestamp("2024-01-01T00:00:00z").offset == 0
