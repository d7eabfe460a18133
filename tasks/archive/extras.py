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

from collections.abc import Callable
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
