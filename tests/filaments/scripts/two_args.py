"""A hook with two parameters."""


def on_next_event(event, extra=None):
    pass
