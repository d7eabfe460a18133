"""Extra content for the archive package (a hook for other workstreams).

Each callable in :data:`PACKAGE_EXTRAS` is called as ``extra(siard_path, source_url, work_dir)``
after the .siard is complete and before checksums, METS and PREMIS are written. It returns the
files it made (anywhere under ``work_dir``); they are copied to ``metadata/other/<name>`` of the
package root, referenced from the root METS (``amdSec/digiprovMD/mdRef``, OTHERMDTYPE
``SAMSA-EXTRA``) with size and SHA-256, and checked by ``samsa-decom verify``.

File names must be unique, start with a letter and hold only ``A-Za-z0-9._-``.
The .siard's table entries are stored uncompressed: see :mod:`tasks.archive.container` and
:mod:`tasks.archive.reader` (``row_spans``, ``entry_offset``, ``parse_row``) for addressing rows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

PackageExtra = Callable[[Path, str, Path], list[Path]]


def _person_index(siard: Path, source_url: str, work_dir: Path) -> list[Path]:
    from tasks.extracts.person_index import build_person_index  # extracts area: person index

    return build_person_index(siard, source_url, work_dir)


PACKAGE_EXTRAS: list[PackageExtra] = [_person_index]
