"""SID rendering (kcap-format.md §8.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from state_events import sid_bytes

from kcap.state import sid_to_text

USER = sid_bytes(5, 21, 3541430928, 2051711210, 1391384369, 1001)
USER_TEXT = "S-1-5-21-3541430928-2051711210-1391384369-1001"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (sid_bytes(5, 18), "S-1-5-18"),
        (sid_bytes(1, 0), "S-1-1-0"),  # Everyone
        (sid_bytes(5), "S-1-5"),  # no sub-authorities
        (USER, USER_TEXT),
        (sid_bytes(16, 12288), "S-1-16-12288"),  # high integrity level
        (sid_bytes(0x0102_0304_0506, 7), "S-1-0x010203040506-7"),  # authority beyond 32 bits
    ],
)
def test_raw_sid(raw, text):
    assert sid_to_text(raw) == text


def test_wbem_sid_skips_the_64_bit_token_block():
    token = bytes.fromhex("e0ffab1234000000") + bytes(8)  # pointer, attributes, padding
    assert sid_to_text(token + USER, wbem=True) == USER_TEXT


def test_wbem_sid_from_a_32_bit_machine():
    token = bytes.fromhex("e0ffab12") + bytes(4)
    assert sid_to_text(token + sid_bytes(5, 18), wbem=True) == "S-1-5-18"


def test_raw_sid_passed_as_wbem_still_renders():
    assert sid_to_text(sid_bytes(5, 18), wbem=True) == "S-1-5-18"


def test_account_text_is_returned_unchanged():
    assert sid_to_text("NT AUTHORITY\\SYSTEM") == "NT AUTHORITY\\SYSTEM"
    assert sid_to_text("NT AUTHORITY\\SYSTEM", wbem=True) == "NT AUTHORITY\\SYSTEM"


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x01",
        sid_bytes(5, 18)[:-1],  # truncated sub-authority
        b"\x02\x01" + bytes(10),  # revision 2 does not exist
        b"\x01\x10" + bytes(6) + bytes(64),  # 16 sub-authorities: more than Windows allows
        bytes(16),  # an empty token block only
    ],
)
def test_garbage_renders_as_empty_text(raw):
    assert sid_to_text(raw) == ""
    assert sid_to_text(raw, wbem=True) == ""


@pytest.mark.parametrize("value", [None, 5, 1.5, ["S-1-5-18"]])
def test_non_sid_values_render_as_empty_text(value):
    assert sid_to_text(value) == ""


@given(st.binary(max_size=200), st.booleans())
def test_never_raises(raw, wbem):
    text = sid_to_text(raw, wbem=wbem)
    assert text == "" or text.startswith("S-1-")


@given(
    st.integers(0, (1 << 32) - 1),
    st.lists(st.integers(0, (1 << 32) - 1), max_size=15),
    # a 64-bit token block or none; the 8-byte (32-bit) block is ambiguous with some SIDs
    st.sampled_from([b"", bytes(16)]),
)
def test_valid_sids_render_every_component(authority, subs, token):
    text = sid_to_text(token + sid_bytes(authority, *subs), wbem=bool(token))
    assert text.split("-") == ["S", "1", str(authority), *map(str, subs)]
