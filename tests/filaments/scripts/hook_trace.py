"""Prints one line per hook call: the interval clock and the life cycle made visible.

-f hook_trace[,SECONDS[,FILTER[,GENERATION]]]: GENERATION "event" defines on_next_event (the
later API) instead of on_next_kevent; an empty FILTER sets none.
"""

import sys

seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
generation = sys.argv[3] if len(sys.argv) > 3 else "kevent"


def on_init():
    print("init", sys.argv)
    interval(seconds)
    if len(sys.argv) > 2 and sys.argv[2]:
        (set_filter if generation == "event" else kfilter)(sys.argv[2])


def trace(event):
    print("event", event["seq"], event["timestamp"].isoformat())


if generation == "event":
    on_next_event = trace
else:
    on_next_kevent = trace


def on_interval():
    print("tick")


def on_stop():
    print("stop")
