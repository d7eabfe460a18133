"""One archive run per source and output folder at a time.

The lock is a file in the output folder (``.samsa-archive-<source-key>.lock``) held with
``flock``, which the operating system releases even after ``kill -9``; a second concurrent run
is refused as bad input. A run refused as bad input leaves no trace: the lock file and the
output folder are removed again if it made them and nothing else is in them.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from models.errors import InputError
from tasks.archive.resume import source_key


@contextmanager
def exclusive_run(out_dir: Path, source_url: str) -> Iterator[None]:
    """Hold the run lock for (source, output folder); bad input if another run holds it."""
    made_dir = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    lock_path = out_dir / f".samsa-archive-{source_key(source_url)}.lock"
    made_lock = not lock_path.exists()
    with open(lock_path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(
                f"another archive run is already working on this source in {out_dir}"
            ) from None
        try:
            yield
        except InputError:
            # bad input is refused before anything is written: leave no trace of the attempt
            if made_lock:
                lock_path.unlink(missing_ok=True)
            if made_dir and not any(out_dir.iterdir()):
                out_dir.rmdir()
            raise
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
