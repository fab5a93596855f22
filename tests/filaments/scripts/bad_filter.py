"""The filter does not compile."""


def on_init():
    set_filter("evt.name = ")


def on_next_event(event):
    pass
