"""Build the optional compiled parts; everything else is configured in pyproject.toml.

Two kinds, both optional (docs/engine.md): the C byte kernel (``kcap.format.kernel._native``),
and the modules listed in ``src/kcap/compiled.py``, compiled from their own Python source by
Cython. On a machine without a C compiler the install still succeeds and kcap runs the same
sources as plain Python (same results, slower).
"""

from glob import glob
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).parent


def compiled_modules() -> tuple[str, ...]:
    """The one list of Cython-compiled modules (kcap.compiled.COMPILED), read without importing
    kcap (its dependencies need not be installed when this runs; the module itself needs only
    the standard library)."""
    path = HERE / "src" / "kcap" / "compiled.py"
    scope: dict[str, object] = {"__name__": "kcap_compiled_list", "__file__": str(path)}
    exec(compile(path.read_text(), str(path), "exec"), scope)
    return tuple(scope["COMPILED"])  # type: ignore[arg-type]


def cython_extensions() -> list[Extension]:
    try:
        from Cython.Build import cythonize
    except ImportError:  # no Cython: the modules run as Python
        return []
    exts = [
        Extension(name, [f"src/{name.replace('.', '/')}.py"], optional=True)
        for name in compiled_modules()
    ]
    return cythonize(
        exts,
        compiler_directives={"language_level": 3, "binding": False, "embedsignature": True},
        quiet=True,
        build_dir="build/cython",
    )


setup(
    ext_modules=[
        Extension(
            "kcap.format.kernel._native",
            ["src/kcap/format/kernel/native/_native.c"],
            # its parts, included by _native.c: shipped in the sdist, and a change rebuilds
            depends=sorted(glob("src/kcap/format/kernel/native/*.h")),
            optional=True,
            extra_compile_args=["-O2"],
        ),
        *cython_extensions(),
    ]
)
