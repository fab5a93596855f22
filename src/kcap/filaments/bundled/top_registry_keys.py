"""Shows the registry keys with the most operations: -f top_registry_keys[,N[,SECONDS]]

The N busiest keys (default 10) are redrawn every SECONDS (default 5) of capture time, and
once more at the end. Works on captures of every generation: the key is in the parameter
key_name before December 2024 and in key_path after.
"""

import collections
import sys

top = int(sys.argv[1]) if len(sys.argv) > 1 else 10
every = int(sys.argv[2]) if len(sys.argv) > 2 else 5
keys = collections.Counter()


def on_init():
    kfilter("kevt.category = 'registry'")
    columns(["Key", "#Ops"])
    sort_by("#Ops")
    title(f"Top {top} registry keys by operations")
    interval(every)


def on_next_kevent(kevent):
    kparams = kevent["kparams"]
    key = kparams.get("key_path") or kparams.get("key_name")
    if key:
        keys[key] += 1


def on_interval():
    for key, n in keys.most_common(top):
        add_row([key, n])
    render_table()
