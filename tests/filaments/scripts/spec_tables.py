"""Draws the tables of the layout examples through the builtins: -f spec_tables,EXAMPLE"""

import sys

example = sys.argv[1]


def on_init():
    if example == "layout":
        columns(["Key", "#Ops"])
    elif example == "paging":
        columns(["Key", "#Ops"])
        sort_by("#Ops")
        max_rows(2)
    elif example == "title":
        columns(["Source", "Count"])
        title("Top sources")


def on_next_kevent(kevent):
    pass


def on_stop():
    if example == "layout":
        add_row(["HKLM\\SOFTWARE\\Bbbbbbbb", 12])
        add_row(["HKCU\\X", 7])
    elif example == "paging":
        for n in (3, 1, 5, 2, 4):
            add_row([f"k{n}", n])
    elif example == "title":
        add_row(["10.0.2.15:443", 3])
    render_table()
