"""The interval clocks: ticks at whole intervals of capture time from the first record."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kcap.filaments.clock import MAX_CATCH_UP, CaptureClock, WallClock
from kcap.model.timestamp import ZERO_NS

S = 1_000_000_000
T0 = 1_660_600_588 * S + 343_374_400  # 2022-08-15T21:56:28.3433744Z


def ticks(clock: CaptureClock, offsets_ms: list[int]) -> list[int]:
    return [clock.advance(T0 + ms * 1_000_000) for ms in offsets_ms]


def test_ticks_fall_at_whole_intervals_from_the_first_record() -> None:
    c = CaptureClock(1)
    # first record starts the clock; a tick is due at +1 s, +2 s, ...
    assert ticks(c, [0, 999, 1000, 1001, 1999, 3500]) == [0, 0, 1, 0, 0, 2]
    assert c.start == T0


def test_the_clock_follows_the_highest_time_seen() -> None:
    c = CaptureClock(2)
    # back by seconds, then forward again: no tick is run twice
    assert ticks(c, [0, 2500, 100, 1800, 2600, 3999, 4000]) == [0, 1, 0, 0, 0, 0, 1]
    assert c.time == T0 + 4000 * 1_000_000


def test_zero_and_unparsable_times_do_not_move_it() -> None:
    c = CaptureClock(1)
    assert c.advance(ZERO_NS) == 0
    assert c.start is None
    assert c.advance(T0) == 0
    assert c.advance(ZERO_NS) == 0
    assert c.advance(T0 + S) == 1


def test_a_huge_jump_runs_one_tick_and_counts_the_rest() -> None:
    c = CaptureClock(1)
    c.advance(T0)
    assert c.advance(T0 + (MAX_CATCH_UP + 10) * S) == 1
    assert c.skipped == MAX_CATCH_UP + 9
    assert c.advance(T0 + (MAX_CATCH_UP + 11) * S) == 1  # phase kept


@given(st.lists(st.integers(min_value=0, max_value=50_000), min_size=1, max_size=200))
def test_tick_count_is_whole_intervals_up_to_the_highest_time(offsets_ms: list[int]) -> None:
    c = CaptureClock(3)
    assert sum(ticks(c, offsets_ms)) == (max(offsets_ms) - offsets_ms[0]) // 3000


def test_wall_clock_drops_missed_ticks() -> None:
    now = [0]
    c = WallClock(2, now=lambda: now[0])
    assert c.due() == 0
    now[0] = 2 * S
    assert c.due() == 1
    assert c.due() == 0
    now[0] = 11 * S  # four periods late: one tick, the rest dropped
    assert c.due() == 1
    assert c.skipped == 3
    now[0] = 12 * S
    assert c.due() == 1
