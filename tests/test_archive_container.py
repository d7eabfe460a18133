"""The .siard's SHA-256 taken while the file grows (``container._TrailingHash``): it hashes
only bytes the writer says are final, although bytes after them still change (a table entry
written straight into the .siard gets its header rewritten when the entry is done)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

from tasks.archive.container import _TrailingHash


def test_bytes_past_the_final_offset_that_change_later_are_hashed_as_they_end_up(
    tmp_path: Path,
) -> None:
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
