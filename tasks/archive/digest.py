"""Row counts and an order-independent content digest per table.

Each row is encoded canonically (per cell: ``N`` for NULL, otherwise ``<length>:`` and the bytes
of the cell's SIARD lexical value, unescaped, UTF-8; binary cells as their raw bytes), hashed
with SHA-256, and the row hashes are added modulo 2**256. The sum does not depend on row order,
and unlike XOR it does not cancel duplicate rows. The same function runs over the source rows
and over the rows read back from the archive, so equal digests mean equal content.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256

_MASK = (1 << 256) - 1
ALGORITHM = "sha256-rowsum-v1"


class TableDigest:
    """Accumulates rows; ``hexdigest`` and ``rows`` are the result."""

    __slots__ = ("rows", "_sum")

    def __init__(self) -> None:
        self.rows = 0
        self._sum = 0

    def add(self, cells: Sequence[str | bytes | None]) -> None:
        parts: list[bytes] = []
        for cell in cells:
            if cell is None:
                parts.append(b"N")
                continue
            b = cell.encode("utf-8") if isinstance(cell, str) else cell
            parts.append(b"%d:" % len(b))
            parts.append(b)
        self._sum = (self._sum + int.from_bytes(sha256(b"".join(parts)).digest(), "big")) & _MASK
        self.rows += 1

    def merge(self, other: TableDigest) -> None:
        self._sum = (self._sum + other._sum) & _MASK
        self.rows += other.rows

    @property
    def hexdigest(self) -> str:
        return f"{self._sum:064x}"
