"""Extra content for the archive package (a hook for other workstreams).

The archive knows no extra by name: the composition root (``flows/wiring.py``,
``PACKAGE_EXTRAS``) hands them to :func:`tasks.archive.run.archive_database` as plain
objects. Each is called as ``extra(siard_path, source_url, work_dir)``
after the .siard is complete and before checksums, METS and PREMIS are written. It returns the
files it made (anywhere under ``work_dir``); they are copied to ``metadata/other/<name>`` of the
package root, referenced from the root METS (``amdSec/digiprovMD/mdRef``, OTHERMDTYPE
``SAMSA-EXTRA``) with size and SHA-256, and checked by ``samsa-decom verify``.

An extra may also have ``start(work_dir, table_names)`` returning a :class:`TableByTable`: it
then sees each table as soon as it is in the .siard, while the next ones are still written.

File names must be unique, start with a letter and hold only ``A-Za-z0-9._-``.
The .siard's table entries are stored uncompressed: see :mod:`tasks.archive.container` and
:mod:`tasks.archive.reader` (``row_spans``, ``entry_offset``, ``parse_row``) for addressing rows.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

PackageExtra = Callable[[Path, str, Path], list[Path]]


class TableByTable(Protocol):
    """What an extra's ``start(work_dir, table_names)`` returns, if it has one: the archive run
    then calls ``table_ready`` for each table as soon as its entry is in the .siard (while the
    next tables are written) and ``finish(siard)`` instead of the extra itself; ``abandon`` if
    the run fails."""

    def table_ready(
        self, siard: Path, name: str, entry: str, columns: list[str], offset: int, size: int
    ) -> None: ...

    def finish(self, siard: Path) -> list[Path]: ...

    def abandon(self) -> None: ...


class ExtrasInRun:
    """The extras of one archive run, working in ``work_dir``: those with ``start`` see each
    table as it is in the .siard; at the end each gives its files; a failed run abandons the
    started ones (:meth:`abandon` is safe to call after :meth:`finish`)."""

    def __init__(self, extras: Sequence[PackageExtra], work_dir: Path) -> None:
        self.extras = extras
        self.work_dir = work_dir
        self._started: dict[int, TableByTable] = {}

    def start(self, table_names: list[str]) -> None:
        """Start the extras that work table by table (in a fresh ``work_dir``)."""
        shutil.rmtree(self.work_dir, ignore_errors=True)
        for k, extra in enumerate(self.extras):
            start = getattr(extra, "start", None)
            if start is not None:
                self._started[k] = start(self.work_dir, table_names)

    def table_ready(
        self, siard: Path, name: str, entry: str, columns: list[str], offset: int, size: int
    ) -> None:
        for extra in self._started.values():
            extra.table_ready(siard, name, entry, columns, offset, size)

    def finish(self, siard: Path, source_url: str) -> list[Path]:
        """Every extra's files, made from the finished ``siard``, in the extras' order."""
        self.work_dir.mkdir(exist_ok=True)
        files: list[Path] = []
        for k, extra in enumerate(self.extras):
            if k in self._started:
                files.extend(self._started.pop(k).finish(siard))
            else:
                files.extend(extra(siard, source_url, self.work_dir))
        return files

    def abandon(self) -> None:
        for extra in self._started.values():
            extra.abandon()
