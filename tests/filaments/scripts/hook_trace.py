"""Prints one line per hook call: the interval clock and the life cycle made visible.

-f hook_trace[,SECONDS[,FILTER]]
"""

import sys

seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 1


def on_init():
    print("init", sys.argv)
    interval(seconds)
    if len(sys.argv) > 2:
        kfilter(sys.argv[2])


def on_next_kevent(kevent):
    print("event", kevent["seq"], kevent["timestamp"].isoformat())


def on_interval():
    print("tick")


def on_stop():
    print("stop")
