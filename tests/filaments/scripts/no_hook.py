"""No per-event hook at all."""


def on_init():
    pass
