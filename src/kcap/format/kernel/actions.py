"""What the byte kernels can be told to do with the event sections of a kind (see
`kcap.replay.plan`, which decides): the kernels know these codes and nothing of why."""

#: Build the event, its tail left undecoded until first access.
LAZY = 0
#: Build the event, decoded.
FULL = 1
#: Do not build it: counted as dropped by the filter.
DROP = 2
#: Do not build it: counted as a state-only record not asked for.
SKIP = 3
#: Do not build it; hand over ``(tag, seq, pid, values of names)`` for the action
#: ``(VALUES, tag, names)``.
VALUES = 4
