"""Type stubs of the C module ``tasks/extracts/_bagc.c``: the organisations' bags from a
PostgreSQL COPY stream (routing, CSV and JSON formatting). ``feed`` releases the GIL while it
works; a value it does not format exactly as the Python loop would raises ValueError."""

class Router:
    def __init__(
        self,
        kinds: bytes,
        ncols: int,
        keys: tuple[bytes, ...],
        orgs: list[bytes],
        org_col: int,
        recv_cols: tuple[int, ...],
        count_unknown: bool,
        flush_at: int,
    ) -> None: ...
    def feed(self, data: bytes | bytearray | memoryview, /) -> list[tuple[int, int, bytes, bytes]]:
        """Whole COPY text lines → [(organisation index, received?, CSV bytes, JSON bytes)] of
        the buffers that reached ``flush_at``."""
    def flush(self) -> list[tuple[int, int, bytes, bytes]]:
        """Everything still buffered."""
    def counts(self, received: bool, /) -> list[int]:
        """Rows written per organisation (to its own files, or as received records)."""
    def unknown(self) -> dict[tuple[int, bytes | None], int]:
        """{(column index, id or None): rows} of ids that name no organisation."""
