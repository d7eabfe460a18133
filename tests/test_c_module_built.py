"""pip builds the archive's C module where a C compiler is (as on CI), so the path the
benchmarks measure is the one that runs; without one the install still works and the pure
paths run (see tests/test_archive_c_path.py for the two compared)."""

from __future__ import annotations

import shutil

import pytest

from tasks.archive import reread
from tasks.archive.postgres.c_path import c_path_enabled


def test_the_c_module_is_built_where_a_compiler_is() -> None:
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler on this machine")
    assert c_path_enabled() and reread.c_reread_enabled()
