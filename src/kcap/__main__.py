"""``python -m kcap``: the same as the ``kcap`` command."""

from kcap.cli.main import main

if __name__ == "__main__":
    main()
