"""Only one archive run per source and output folder: a second one is refused as bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.errors import InputError
from tasks.archive.lock import exclusive_run
from tasks.archive.run import archive_database


def test_a_second_run_on_the_same_source_and_folder_is_refused(tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'samsa.sqlite'}"
    out = tmp_path / "archive"
    with exclusive_run(out, source):
        with pytest.raises(InputError) as info:
            archive_database(source, out)
    assert info.value.exit_code == 2
    assert "already working on this source" in str(info.value)
    assert not any(p.suffix == ".siard" for p in out.rglob("*"))  # nothing half-written
