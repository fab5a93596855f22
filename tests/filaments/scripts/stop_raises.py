"""on_stop raises: reported, the replay still succeeds."""


def on_next_kevent(kevent):
    pass


def on_stop():
    raise KeyError("gone")
