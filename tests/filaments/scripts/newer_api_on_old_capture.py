"""Reads file_path, which captures before December 2024 call file_name (so it raises there)."""


def on_init():
    kfilter("kevt.name = 'CreateFile'")


def on_next_kevent(kevent):
    print(kevent["kparams"]["file_path"])
