"""SHA-256 of a package's files, taken in the background while the command does other work.

``samsa-decom verify`` spends about 0.4 s opening the ledger (importing SQLAlchemy's ORM) and
most of the rest hashing the .siard (0.3-0.6 s at 2 M rows). The files are hashed on threads
from the start, without the GIL (:func:`sha256_of`), and the checks take the digests when they
need them::

    with FileDigests(package) as digests:
        ...                       # open the ledger meanwhile
        digests.of(package / "METS.xml")

A digest is used only for the very file it was taken of: the file's device, inode, size,
modification time and change time must be the same when it is asked for as before and after it
was read; otherwise, and for a file that was not there at the start, it is hashed again then.
So a file replaced or changed between the start and the check is judged by what it holds at the
check (the change time cannot be set back: a write whose modification time is then restored
still shows).

``samsa-decom verify PACKAGE`` starts the hashing before its commands are even imported
(:func:`start_early`, from the command line's entry point; 0.2 s sooner) and the command takes
those digests over (:func:`digests_for`).
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType

try:
    from tasks.archive import _siardc
except ImportError:  # built by pip install where a C compiler is present
    _siardc = None  # type: ignore[assignment]

_READ = 1 << 20


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file (hex). With the C module the whole file is read and hashed with
    the GIL released (see ``sha256_fd`` in ``_siardc.c``), so threads hashing files run beside
    a main thread busy in Python; else hashlib, a MB at a time."""
    with open(path, "rb", buffering=0) as f:
        if _siardc is not None:
            return _siardc.sha256_digest(_siardc.sha256_fd(None, f.fileno(), -1)).hex()
        h = hashlib.sha256()
        while chunk := f.read(_READ):
            h.update(chunk)
        return h.hexdigest()


_Identity = tuple[int, int, int, int, int]


def _identity(st: os.stat_result) -> _Identity:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _taken(path: Path) -> tuple[_Identity | None, str]:
    before = _identity(os.stat(path))
    digest = sha256_of(path)
    return (before if _identity(os.stat(path)) == before else None), digest


class FileDigests:
    """Hashes every regular file under ``root`` on ``workers`` threads, largest first."""

    def __init__(self, root: Path, workers: int = 2) -> None:
        files = [p for p in Path(root).rglob("*") if p.is_file() and not p.is_symlink()]
        files.sort(key=lambda p: p.stat().st_size, reverse=True)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="file-sha256")
        self.root = Path(root).absolute()
        self._pending: dict[Path, Future[tuple[_Identity | None, str]]] = {
            p.absolute(): self._pool.submit(_taken, p) for p in files
        }

    def of(self, path: Path) -> str:
        """The SHA-256 (hex) of ``path`` as it is now."""
        job = self._pending.get(Path(path).absolute())
        if job is not None:
            try:
                before, digest = job.result()
            except OSError:
                return sha256_of(path)  # gone or unreadable now: the caller names it
            if before is not None and _identity(os.stat(path)) == before:
                return digest
        return sha256_of(path)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> FileDigests:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


#: digests started by :func:`start_early`, by package folder, until a command takes them over
_EARLY: dict[Path, FileDigests] = {}


def start_early(root: Path) -> None:
    """Start hashing the files of the package folder ``root`` now (nothing when it is not a
    folder): for the command line's entry point, before it imports the commands."""
    root = Path(root).absolute()
    if root not in _EARLY and root.is_dir():
        _EARLY[root] = FileDigests(root)


def digests_for(root: Path) -> FileDigests:
    """The digests of ``root``'s files: those :func:`start_early` started, or new ones. The
    caller closes them; digests started early for another folder are dropped."""
    mine = _EARLY.pop(Path(root).absolute(), None)
    drop_early()
    return mine if mine is not None else FileDigests(root)


def drop_early() -> None:
    """Stop digests started early that no command took over (the command failed first)."""
    while _EARLY:
        _EARLY.popitem()[1].close()
