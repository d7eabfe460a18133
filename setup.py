"""Builds the C modules: the archive's (``tasks/archive/_siardc.c``) and the register
extracts' (``tasks/extracts/_bagc.c``); everything else is in pyproject.toml. Both are
optional: without a C compiler the install still succeeds and archiving and the bags take the
slower pure-Python/SQL paths."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "tasks.archive._siardc",
            sources=["tasks/archive/_siardc.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
        Extension(
            "tasks.extracts._bagc",
            sources=["tasks/extracts/_bagc.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
    ]
)
