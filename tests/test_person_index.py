"""The person index's row scanner finds every row and cell, wherever chunk borders fall."""

from __future__ import annotations

import io
import re

import pytest

from tasks.extracts import person_index
from tasks.extracts.person_index import _iter_rows, identity_key


def _entry() -> bytes:
    rows = []
    for i in range(1, 40):
        body = "x" * (i * 7 % 23)
        person = "" if i % 5 == 0 else f"<c3>{1000 + i}</c3>"  # NULL person_id: cell absent
        rows.append(f"<row><c1>{i}</c1><c2>{body}</c2>{person}<c4>&lt;row&gt;</c4></row>")
    return ('<?xml version="1.0"?><table xmlns="x">' + "".join(rows) + "</table>").encode()


@pytest.mark.parametrize("chunk", [3, 5, 7, 16, 64, 1 << 24])
def test_every_row_found_across_chunk_borders(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(person_index, "_CHUNK", chunk)
    prefix = b"PK-local-header-and-other-entries"
    data = _entry()
    f = io.BytesIO(prefix + data + b"trailing zip directory")
    found = list(_iter_rows(f, len(prefix), len(data), [1, 3]))
    expected = [(m.start() + len(prefix), m.end() - m.start())
                for m in re.finditer(rb"<row>.*?</row>", data)]  # fmt: skip
    assert [(o, n) for o, n, _ in found] == expected
    for offset, length, cells in found:
        row = (prefix + data)[offset : offset + length]
        i = int(cells[0] or 0)
        assert row.startswith(b"<row><c1>") and row.endswith(b"</row>")
        assert cells[1] == (None if i % 5 == 0 else str(1000 + i).encode())


def test_identity_key_depends_on_the_salt() -> None:
    a = identity_key(b"a" * 32, "191212121212")
    assert a == identity_key(b"a" * 32, "191212121212")
    assert a != identity_key(b"b" * 32, "191212121212")
    assert b"191212121212" not in a
