"""Build the optional C accelerator; everything else is configured in pyproject.toml.

``optional=True``: on a machine without a C compiler the install still succeeds and kcap runs
on its pure-Python decoder (same results, slower).
"""

from glob import glob

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "kcap.format._speedups",
            ["src/kcap/format/_speedups.c"],
            # its parts, included by _speedups.c: shipped in the sdist, and a change rebuilds
            depends=sorted(glob("src/kcap/format/speedups/*.h")),
            optional=True,
            extra_compile_args=["-O2"],
        ),
        Extension(
            "kcap.model._accessors",
            ["src/kcap/model/_accessors.c"],
            optional=True,
            extra_compile_args=["-O2"],
        ),
    ]
)
