"""sort_by names no column."""


def on_init():
    columns(["Key", "#Ops"])
    sort_by("#ops")


def on_next_kevent(kevent):
    pass
