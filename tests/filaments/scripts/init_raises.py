"""on_init raises."""


def on_init():
    columns(["A"])
    raise RuntimeError("no database connection")


def on_next_kevent(kevent):
    pass
