"""Attribute access to the event dictionary: ``event.kparams.file_name``.

Upstream's filaments import this helper as ``from utils.dotdict import dotdictify``; kcap ships
its own so those filaments run unchanged. See docs/filaments.md, "dotdictify".
"""

from functools import wraps


class dotdict(dict):  # lower case: the name upstream's filaments import
    """A dict whose attributes are its items; a missing one reads as None.

    The dict's own attributes come first: ``d.items``, ``d.keys``, ``d.get``... are methods.
    """

    def __getattr__(self, name):
        return self.get(name)

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        del self[name]


def dotdictify(fn):
    """Wrap a one-argument hook: it receives a `dotdict` copy of the event whose parameters
    (``kparams``, or ``params`` in the later API) are a `dotdict` too. Nested values are left
    as they are."""

    @wraps(fn)
    def wrapper(event):
        event = dotdict(event)
        for key in ("kparams", "params"):
            if key in event:
                event[key] = dotdict(event[key])
        return fn(event)

    return wrapper
