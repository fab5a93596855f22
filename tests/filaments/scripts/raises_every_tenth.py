"""Raises on every tenth event and in on_interval; counts what it saw."""

seen = 0


def on_init():
    interval(1)


def on_next_kevent(kevent):
    global seen
    seen += 1
    if kevent["seq"] % 10 == 0:
        raise ValueError(f"cannot handle {kevent['seq']}")


def on_interval():
    raise RuntimeError("interval failed")


def on_stop():
    print("stopped after", seen)
