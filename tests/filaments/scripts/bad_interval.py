"""interval(0) is rejected at start."""


def on_init():
    interval(0)


def on_next_kevent(kevent):
    pass


def on_interval():
    pass
