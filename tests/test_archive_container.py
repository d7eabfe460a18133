"""The .siard's SHA-256 taken while the file grows (``container._TrailingHash``): it hashes
only bytes the writer says are final, although bytes after them still change (a table entry
written straight into the .siard gets its header rewritten when the entry is done)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest

from tasks.archive import container
from tasks.archive.container import _TrailingHash


@pytest.mark.parametrize("how", ["c-module", "hashlib"])
def test_bytes_past_the_final_offset_that_change_later_are_hashed_as_they_end_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """Both ways of hashing: the C module's (no GIL) and hashlib's (no C module built)."""
    if how == "hashlib":
        monkeypatch.setattr(container, "_siardc", None)
    path = tmp_path / "growing.siard"
    final = b"A" * 50_000
    with open(path, "wb", buffering=0) as f:
        f.write(final + b"\0" * 30)  # a header with its CRC and sizes not known yet
        hashed = _TrailingHash(path)
        try:
            hashed.upto(len(final))
            deadline = time.monotonic() + 10
            while hashed._pos < len(final) and time.monotonic() < deadline:
                time.sleep(0.001)  # the thread has read up to the final offset, no further
            assert hashed._pos == len(final)
            f.seek(len(final))
            f.write(b"PK\x03\x04" + b"H" * 26)  # the header rewritten when the entry is done
            f.seek(0, 2)
            f.write(b"data" * 1000)
            size = f.tell()
        except BaseException:
            hashed.abandon()
            raise
    assert hashed.finish(size) == hashlib.sha256(path.read_bytes()).hexdigest()


def test_an_empty_file_and_a_file_that_ends_too_soon(tmp_path: Path) -> None:
    path = tmp_path / "empty.siard"
    path.write_bytes(b"")
    assert _TrailingHash(path).finish(0) == hashlib.sha256(b"").hexdigest()
    path.write_bytes(b"short")
    with pytest.raises(OSError, match="ends before byte 10"):
        _TrailingHash(path).finish(10)
