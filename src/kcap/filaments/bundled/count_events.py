"""Counts the events by name, or by another key of the event: -f count_events,category

The table is drawn once, when the replay (or capture) ends. Keys are those of the event
dictionary: name, category, pid, tid, cpu, host, exe (needs process state)...
"""

import collections
import sys

by = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else "name"
counts = collections.Counter()


def on_init():
    columns([by.capitalize(), "Events"])
    sort_by("Events")


def on_next_kevent(kevent):
    counts[kevent.get(by)] += 1


def on_stop():
    for key, n in counts.items():
        add_row([key, n])
    render_table()
