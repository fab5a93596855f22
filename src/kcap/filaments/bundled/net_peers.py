"""Shows bytes sent and received per process and remote endpoint: -f net_peers[,SECONDS]

Written for the later Fibratus API (on_next_event, set_filter, event["params"]). The remote
endpoint is the dip:dport parameters of Send and Recv events; the table is redrawn every
SECONDS (default 10) of capture time, 20 rows a page, and once more at the end.
"""

import collections
import sys

every = int(sys.argv[1]) if len(sys.argv) > 1 else 10
sent = collections.Counter()
received = collections.Counter()


def on_init():
    set_filter("evt.category = 'net' and evt.name in ('Send', 'Recv')")
    columns(["Process", "Remote", "Sent", "Received"])
    sort_by("Sent")
    max_rows(20)
    interval(every)


def on_next_event(event):
    params = event["params"]
    process = event.get("exe") or f"pid {event['pid']}"
    key = (process, f"{params.get('dip')}:{params.get('dport')}")
    size = params.get("size", 0)
    if event["name"] == "Send":
        sent[key] += size
    else:
        received[key] += size


def on_interval():
    for key in sent.keys() | received.keys():
        add_row([key[0], key[1], sent[key], received[key]])
    render_table()
