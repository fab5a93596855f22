"""Tables: upstream's verified layout byte for byte, alignment, wrapping, sort, paging, title."""

from __future__ import annotations

import datetime
import ipaddress

import pytest

from kcap.filaments.table import NIL, Table, to_cell

# The layout examples of upstream's table library with upstream's settings, as verified by
# running it (the spec's sample tables).
LAYOUT = """\
┌────────────────────────┬──────┐
│ KEY                    │ #OPS │
├────────────────────────┼──────┤
│ HKLM\\SOFTWARE\\Bbbbbbbb │   12 │
│ HKCU\\X                 │    7 │
└────────────────────────┴──────┘"""

PAGING = """\
┌─────┬──────┐
│ KEY │ #OPS │
├─────┼──────┤
│ k5  │    5 │
│ k4  │    4 │
└─────┴──────┘

┌─────┬──────┐
│ KEY │ #OPS │
├─────┼──────┤
│ k3  │    3 │
│ k2  │    2 │
└─────┴──────┘

┌─────┬──────┐
│ KEY │ #OPS │
├─────┼──────┤
│ k1  │    1 │
└─────┴──────┘"""

TITLE = """\
┌───────────────────────┐
│ Top sources           │
├───────────────┬───────┤
│ SOURCE        │ COUNT │
├───────────────┼───────┤
│ 10.0.2.15:443 │     3 │
└───────────────┴───────┘"""


def table(header: list[str] | None, *rows: list[object]) -> Table:
    t = Table()
    if header is not None:
        t.add_header(header)
    for r in rows:
        t.add_row([to_cell(c) for c in r])
    return t


def test_layout_matches_upstream() -> None:
    t = table(["Key", "#Ops"], ["HKLM\\SOFTWARE\\Bbbbbbbb", 12], ["HKCU\\X", 7])
    assert t.render() == LAYOUT


def test_paging_sorted_descending_matches_upstream() -> None:
    t = table(["Key", "#Ops"], *([f"k{n}", n] for n in (3, 1, 5, 2, 4)))
    t.sort_by = "#Ops"
    t.page_size = 2
    assert t.render() == PAGING


def test_title_matches_upstream() -> None:
    t = table(["Source", "Count"], ["10.0.2.15:443", 3])
    t.title = "Top sources"
    assert t.render() == TITLE


def test_title_pages_keep_the_joined_top_border() -> None:
    # Later pages have no title of their own, but their top border is the one that joins
    # the title box (upstream's library draws it so).
    t = table(["A", "N"], ["x", 1], ["y", 2])
    t.title = "T"
    t.page_size = 1
    lines = t.render().split("\n")
    assert lines.count("│ T     │") == 1
    tops = [line for line in lines if line.startswith(("┌", "├")) and "┬" in line]
    assert tops == ["├───┬───┤", "├───┬───┤"]
    assert lines[lines.index("└───┴───┘") + 1] == ""


def test_title_is_wrapped_at_the_table_width_and_shown_literally() -> None:
    t = table(["K", "V"], ["ab", "cd"])
    t.title = "50% done here"  # upstream mangles % through printf; kcap shows it as is
    out = t.render().split("\n")
    # inner width: 2 + 2 + 3 = 7 cells; "50% don" / "e here" (each wrapped line trimmed)
    assert out[:4] == ["┌─────────┐", "│ 50% don │", "│ e here  │", "├────┬────┤"]


def test_numeric_column_is_right_aligned_header_included() -> None:
    t = table(["Name", "N"], ["a", 1234], ["b", 5])
    assert t.render().split("\n")[1:5] == [
        "│ NAME │    N │",
        "├──────┼──────┤",
        "│ a    │ 1234 │",
        "│ b    │    5 │",
    ]


def test_strings_that_look_like_numbers_and_nil_cells_are_left_aligned() -> None:
    t = table(["A", "B"], ["1", 10], ["22", None])
    assert t.render().split("\n")[3:5] == ["│ 1  │ 10    │", f"│ 22 │ {NIL} │"]


def test_header_only_and_empty() -> None:
    assert table(["Key"]).render() == "┌─────┐\n│ KEY │\n├─────┤\n└─────┘"
    assert table(None).render() == ""
    t = table(None, ["a", 1])  # rows without a header: no header section at all
    assert t.render() == "┌───┬───┐\n│ a │ 1 │\n└───┴───┘"


def test_cells_with_newlines_tabs_and_carriage_returns() -> None:
    t = table(["C"], ["one\ntwo"], ["a\tb\r"])
    assert t.render().split("\n")[3:6] == ["│ one    │", "│ two    │", "│ a    b │"]


def test_wide_characters_count_two_cells() -> None:
    t = table(["Name"], ["日本語"], ["ab"])
    assert t.render().split("\n") == [
        "┌────────┐",
        "│ NAME   │",
        "├────────┤",
        "│ 日本語 │",
        "│ ab     │",
        "└────────┘",
    ]


def test_max_width_hard_wraps_long_cells() -> None:
    t = table(["K"], ["abcdefghij"])
    t.max_width = 4
    assert t.render().split("\n")[3:6] == ["│ abcd │", "│ efgh │", "│ ij   │"]


def test_header_is_upper_cased_per_character() -> None:
    t = table(["straße"], ["x"])
    assert "│ STRAßE │" in t.render()


def test_sort_is_stable_with_non_numeric_cells_last() -> None:
    t = table(["K", "N"], ["a", 2], ["b", "x"], ["c", 2], ["d", 9], ["e", None], ["f", "1.5"])
    t.sort_by = "N"
    keys = [line.split("│")[1].strip() for line in t.render().split("\n")[3:-1]]
    assert keys == ["d", "a", "c", "f", "b", "e"]


def test_sort_by_must_name_a_column_exactly() -> None:
    t = table(["K", "#Ops"], ["a", 1], ["b", 2])
    t.sort_by = "#ops"
    assert t.sort_column() is None
    keys = [line.split("│")[1].strip() for line in t.render().split("\n")[3:-1]]
    assert keys == ["a", "b"]


def test_stacked_headers_and_short_rows() -> None:
    t = table(["A", "B"])
    t.add_header(["C"])
    assert t.columns == 1  # add_row checks against the last header row
    t.add_row(["x"])
    assert t.render().split("\n") == [
        "┌───┬───┐",
        "│ A │ B │",
        "│ C │   │",
        "├───┼───┤",
        "│ x │   │",
        "└───┴───┘",
    ]


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("s", "s"),
        (5, 5),
        (-5, -5),
        (2.5, 2.5),
        (True, None),
        (None, None),
        (b"x", None),
        ([1], None),
        (ipaddress.ip_address("10.0.0.1"), "10.0.0.1"),
        (datetime.datetime(2024, 1, 2, 3, 4, 5), "2024-01-02 03:04:05"),
    ],
)
def test_cell_conversion(value: object, cell: object) -> None:
    assert to_cell(value) == cell
    assert type(to_cell(value)) is type(cell)


def test_clear_rows_keeps_settings() -> None:
    t = table(["K", "N"], ["a", 1])
    t.title, t.sort_by, t.page_size = "T", "N", 3
    t.clear_rows()
    assert (t.rows, t.title, t.sort_by, t.page_size, t.headers) == ([], "T", "N", 3, [["K", "N"]])
