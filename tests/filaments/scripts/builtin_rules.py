"""Calls every builtin with good and bad arguments and prints what happened.

-f builtin_rules[,GENERATION]: "event" defines on_next_event (the later API), else on_next_kevent.
"""

import datetime
import ipaddress
import sys

generation = sys.argv[1] if len(sys.argv) > 1 else "kevent"


def attempt(label, fn, *args, **kwargs):
    try:
        result = fn(*args, **kwargs)
    except Exception as exc:
        print(label, "->", type(exc).__name__, exc)
    else:
        print(label, "->", repr(result))


def on_init():
    attempt("interval float", interval, 1.5)
    attempt("interval keyword", interval, seconds=2)
    attempt("interval bool", interval, True)
    attempt("columns tuple", columns, ("A", "B"))
    attempt("columns", columns, ["Name", 1, "Value"])
    attempt("sort_by int", sort_by, 3)
    attempt("title", title, "100% of it")
    attempt("max_rows str", max_rows, "2")
    attempt("kfilter", kfilter, "kevt.name = 'CreateFile'")
    attempt("set_filter", set_filter, "kevt.name = 'RegOpenKey'")
    attempt("find_process", find_process, 4, name="System")
    attempt("find_handles", find_handles)
    attempt("render_table arg", render_table, 1)


def ignore(event):
    pass


if generation == "event":
    on_next_event = ignore
else:
    on_next_kevent = ignore


def on_interval():
    attempt("interval late", interval, 5)
    attempt("kfilter late", kfilter, "kevt.name = 'CloseFile'")


def on_stop():
    attempt("add_row tuple", add_row, ("a", 1, "b"))
    attempt("add_row short", add_row, ["a"])
    attempt("add_row", add_row, ["str", 1, "x"])
    attempt(
        "add_row cells",
        add_row,
        [None, -7, 2.5],
    )
    attempt("add_row more", add_row, [True, b"raw", ipaddress.ip_address("::1")])
    attempt("add_row time", add_row, [datetime.datetime(2024, 1, 2, 3, 4, 5), [1], {}])
    attempt("render_table", render_table)
    attempt("emit_alert keyword title", emit_alert, title="t", text="x")
    attempt("emit_alert tags", emit_alert, "t", "x", tags="a")
    attempt("emit_alert", emit_alert, "Title", 42, severity="HIGH", tags=["a", 1, ["b"]])
    attempt("emit_alert default", emit_alert, "T", "x", severity="Low")
