"""Prints every process started, after the chain of processes that led to it.

Uses kcap's own hook, on_kcap_event, which receives the kcap Event itself: its process state
(event.ps) links to the parent's (event.ps.parent), which the event dictionary of Fibratus's
API does not carry.
"""


def on_init():
    set_filter("kevt.name = 'CreateProcess'")


def on_kcap_event(event):
    chain = []
    seen = set()
    process = event.ps  # the creator's state
    while process is not None and process.pid not in seen and len(chain) < 32:
        seen.add(process.pid)
        chain.append(f"{process.name or '?'}({process.pid})")
        process = process.parent
    child = f"{event.params.value('name', '?')}({event.params.value('pid', '?')})"
    print(event.timestamp.text, " > ".join([*reversed(chain), child]))
