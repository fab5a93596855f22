"""The kcap command line."""
