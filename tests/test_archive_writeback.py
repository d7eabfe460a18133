"""The .siard's early writeback runs on a thread of its own, on a duplicate descriptor: the
archive's own descriptor may be closed at once, and none is left open afterwards."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tasks.archive import durable


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.mark.no_ledger
def test_writeback_does_not_block_and_leaves_no_descriptor(tmp_path: Path) -> None:
    if not durable._sync_file_range_fn():
        pytest.skip("no sync_file_range on this system")
    before = _open_fds()
    target = tmp_path / "big.siard"
    data = os.urandom(1 << 20)
    for _ in range(8):
        with open(target, "ab") as f:
            f.write(data)
            f.flush()
            durable.start_writeback(f.fileno())  # then closed at once by the with-block
    deadline = time.monotonic() + 10
    while _open_fds() - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _open_fds() - before == set()  # every duplicate closed by the writeback thread
    assert target.read_bytes() == data * 8  # the file is untouched by the hint
