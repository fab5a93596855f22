"""Stand-ins for the ``cython`` module, for running kcap's compiled modules as plain Python
where Cython is not installed (docs/engine.md): the C types they annotate are plain ints."""

compiled = False
Py_ssize_t = int
