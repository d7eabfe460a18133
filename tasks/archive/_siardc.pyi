"""Type stubs of the C module ``tasks/archive/_siardc.c``: the per-row work of archiving.

Every function releases the GIL while it works. Status codes of ``digest_rows``: 0 decoded,
1 markup or content left to the general path (lxml + the table's XSD), 2 a value the column
type does not allow (the general path names it).
"""

from collections.abc import Callable, Sequence

SHA256_IMPL: str  # "sha-ni" or "portable"

def copy_to_siard(
    lines: Sequence[bytes | bytearray | memoryview],
    kinds: bytes,
    lob_limit: int,
    lob_refs: tuple[bytes | None, ...],
    first_row: int,
    /,
) -> tuple[bytes, bytes, int, list[tuple[int, int, bytes]]]:
    """PostgreSQL COPY text lines → (row XML, 32-byte sum of the row hashes, rows,
    [(column index, row index, content) of each value stored as a LOB file])."""

def digest_rows(
    data: bytes | bytearray | memoryview,
    kinds: bytes,
    nullable: bytes,
    loader: Callable[[str], bytes] | None = None,
    /,
) -> tuple[int, int, bytes, int]:
    """SIARD row XML → (status, rows, 32-byte sum of the row hashes, offset reached)."""

def row_cells(
    data: bytes | bytearray | memoryview, base: int, cols: tuple[int, ...], skip_absent: bool, /
) -> tuple[list[tuple[int | str | None, ...]], int]:
    """Complete rows in ``data`` → ([(cell of each col…, offset, length)], bytes consumed)."""

def locate_rows(data: bytes | bytearray | memoryview, base: int, col: int, /) -> tuple[bytes, int]:
    """Complete rows → (16-byte (key, offset << 24 | length) records, bytes consumed)."""

def sort_locations(packed: bytearray, /) -> None:
    """Sort the records in place by key, then offset."""

def block_locations(
    packed: bytes | bytearray, start: int, keys_per_block: int, max_blocks: int, /
) -> tuple[list[tuple[int, int, bytes]], int]:
    """Sorted records → ([(first key, last key, places)], next record)."""

def sha256(data: bytes | bytearray | memoryview, /) -> bytes: ...
def sha256_fd(state: bytes | None, fd: int, nbytes: int, /) -> bytes:
    """Hash the next nbytes read from fd (-1: to its end) into state, without the GIL."""

def sha256_digest(state: bytes | None, /) -> bytes: ...
def hmac_sha256(key: bytes, msg: bytes, /) -> bytes:
    """HMAC-SHA256 (the same bytes as hmac.digest(key, msg, "sha256"))."""

def sha256_pair(
    a: bytes | bytearray | memoryview, b: bytes | bytearray | memoryview, /
) -> tuple[bytes, bytes]: ...
