"""Row counts and an order-independent content digest per table.

Canonical row: the cells' SIARD lexical values (text unescaped; binary as upper-case hex;
timestamps in UTC with ``Z`` …), UTF-8 encoded, joined by the byte 0xFE, with a NULL cell
written as the single byte 0xFF (neither byte occurs in UTF-8 text, so the encoding is
unambiguous). Each canonical row is hashed with SHA-256 and the row hashes are added modulo
2**256: the sum does not depend on row order and, unlike XOR, does not cancel duplicate rows.
The same function runs over the source rows and over the rows read back from the archive, so
equal digests mean equal content. Name of this definition: ``sha256-rowsum-v1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from hashlib import sha256

_MASK = (1 << 256) - 1
ALGORITHM = "sha256-rowsum-v1"
#: Lone surrogates stand in for the bytes 0xFE / 0xFF (``surrogateescape`` turns them back).
SEP = "\udcfe"
NULL = "\udcff"
#: between the elements of an array cell: the byte 0xFD (see ``reader.array_canonical``)
ARRAY_SEP = "\udcfd"


class TableDigest:
    """Accumulates rows; ``hexdigest`` and ``rows`` are the result."""

    __slots__ = ("rows", "_sum")

    def __init__(self) -> None:
        self.rows = 0
        self._sum = 0

    def add(self, cells: Sequence[str | None]) -> None:
        """Add one row given as lexical strings (None for NULL)."""
        row = SEP.join([NULL if c is None else c for c in cells])
        self._sum += int.from_bytes(sha256(row.encode("utf-8", "surrogateescape")).digest(), "big")
        self.rows += 1

    def add_joined(self, row: str) -> None:
        """Add one row already joined with :data:`SEP` / :data:`NULL` (the fast path)."""
        self._sum += int.from_bytes(sha256(row.encode("utf-8", "surrogateescape")).digest(), "big")
        self.rows += 1

    def add_bytes(self, row: bytes) -> None:
        """Add one row given as its canonical bytes."""
        self._sum += int.from_bytes(sha256(row).digest(), "big")
        self.rows += 1

    def merge(self, other: TableDigest) -> None:
        self._sum += other._sum
        self.rows += other.rows

    @property
    def hexdigest(self) -> str:
        return f"{self._sum & _MASK:064x}"
