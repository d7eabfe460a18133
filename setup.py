"""Builds the archive's C module (``tasks/archive/_siardc.c``); everything else is in
pyproject.toml. The module is optional: without a C compiler the install still succeeds and
archiving takes the slower pure-Python/SQL paths."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "tasks.archive._siardc",
            sources=["tasks/archive/_siardc.c"],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ]
)
