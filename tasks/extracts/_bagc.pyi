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
        *,
        collect: Pairs | None = None,
        persons: Pairs | None = None,
        person_col: int = -1,
    ) -> None:
        """With ``collect``, each row's person (column ``person_col``) is noted for every
        organisation the row is written to. With ``persons``, each row is written to the
        organisations noted for its id (column ``person_col``); ``org_col`` is not used."""
    def feed(self, data: bytes | bytearray | memoryview, /) -> list[tuple[int, int, bytes, bytes]]:
        """Whole COPY text lines → [(organisation index, received?, CSV bytes, JSON bytes)] of
        the buffers that reached ``flush_at``."""
    def flush(self) -> list[tuple[int, int, bytes, bytes]]:
        """Everything still buffered."""
    def counts(self, received: bool, /) -> list[int]:
        """Rows written per organisation (to its own files, or as received records)."""
    def unknown(self) -> dict[tuple[int, bytes | None], int]:
        """{(column index, id or None): rows} of ids that name no organisation."""

class Pairs:
    """The (person, organisation) pairs the record tables' routers noted, keyed by the person
    id's COPY text. One router at a time may use it."""

    def orgs_of(self, person_id: bytes, /) -> list[int]:
        """The organisation indexes noted for a person id, sorted ([] when none)."""
    def sizes(self) -> tuple[int, int]:
        """(persons, pairs) noted so far."""
