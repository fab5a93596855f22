"""The ``kcap`` command line (entry point `kcap.cli.main.main`)."""
