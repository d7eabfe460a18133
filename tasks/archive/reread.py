"""Re-reading a SIARD archive fast: table files are split at row boundaries into chunks that
worker processes parse side by side (lxml ``iterparse``, validated against the table's own
schema while streaming, elements cleared as they go).

Because entries are stored uncompressed, a worker reads its byte range straight from the
.siard file; each chunk is wrapped in the table file's own head and tail, so it is validated
against the same schema as the whole file (rows are independent in the table schema). The
content digest is a sum, so chunk results add up to the table's digest in any order.
"""

from __future__ import annotations

import io
import os
import zipfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from lxml import etree

from tasks.archive.container import entry_data_offset
from tasks.archive.digest import TableDigest
from tasks.archive.reader import SiardArchive

CHUNK_BYTES = 8 * 1024 * 1024
_ROW = b"<row>"


@dataclass(frozen=True)
class Chunk:
    table: str
    start: int  # offsets within the entry
    end: int


@dataclass(frozen=True)
class ChunkResult:
    table: str
    rows: int
    digest_sum: int
    error: str | None = None


def _chunks(siard: Path, table: str, entry: str, data_offset: int, size: int) -> list[Chunk]:
    """Cut ``entry`` into ranges that start at ``<row>`` (first: at the first row)."""
    with open(siard, "rb") as f:
        f.seek(data_offset)
        head = f.read(min(size, 64 * 1024))
        first = head.find(_ROW)
        tail_start = size - len(b"</table>\n")
        if first < 0:
            return [Chunk(table, tail_start, tail_start)]
        cuts = [first]
        pos = first + CHUNK_BYTES
        while pos < tail_start:
            f.seek(data_offset + pos)
            window = f.read(1 << 20)
            i = window.find(_ROW)
            while i < 0 and window:
                pos += len(window) - 4
                f.seek(data_offset + pos)
                window = f.read(1 << 20)
                i = window.find(_ROW)
            if i < 0 or pos + i >= tail_start:
                break
            cuts.append(pos + i)
            pos = pos + i + CHUNK_BYTES
    cuts.append(tail_start)
    return [Chunk(table, a, b) for a, b in zip(cuts, cuts[1:], strict=False)]


def _work(args: tuple[str, Chunk]) -> ChunkResult:
    siard_path, chunk = args
    siard = Path(siard_path)
    with SiardArchive(siard) as archive:
        t = archive.table(chunk.table)
        entry = t.entry
        xsd = archive._zip.read(entry[:-4] + ".xsd")
        offset = entry_data_offset(siard, entry)
        info = archive._zip.getinfo(entry)
        with open(siard, "rb") as f:
            f.seek(offset)
            head_all = f.read(min(info.file_size, 64 * 1024))
            first = head_all.find(_ROW)
            head = head_all[:first] if first >= 0 else head_all[: info.file_size - 9]
            f.seek(offset + chunk.start)
            body = f.read(chunk.end - chunk.start)
        doc = head + body + b"</table>\n"
        schema = etree.XMLSchema(etree.fromstring(xsd))
        digest = TableDigest()
        try:
            for cells in archive.rows_from(t, io.BytesIO(doc), schema):
                digest.add(cells)
        except etree.XMLSyntaxError as exc:
            return ChunkResult(chunk.table, 0, 0, f"not valid against {entry[:-4]}.xsd: {exc}")
        return ChunkResult(chunk.table, digest.rows, digest._sum)


def reread_tables(siard: Path, workers: int | None = None) -> dict[str, tuple[int, str, list[str]]]:
    """Table name → (rows, digest, errors), re-read from the archive in parallel."""
    with zipfile.ZipFile(siard) as zf, SiardArchive(siard) as archive:
        chunks: list[Chunk] = []
        for t in archive.tables():
            info = zf.getinfo(t.entry)
            chunks.extend(
                _chunks(siard, t.name, t.entry, entry_data_offset(siard, t.entry), info.file_size)
            )
        names = [t.name for t in archive.tables()]
    chunks.sort(key=lambda c: c.end - c.start, reverse=True)
    workers = workers or min(len(chunks), os.cpu_count() or 2, 4)
    jobs = [(str(siard), c) for c in chunks]
    if workers <= 1 or len(chunks) <= 1:
        results = [_work(j) for j in jobs]
    else:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
            results = list(pool.map(_work, jobs))
    out: dict[str, tuple[int, str, list[str]]] = {}
    for name in names:
        total = TableDigest()
        errors: list[str] = []
        for r in results:
            if r.table == name:
                total.rows += r.rows
                total._sum += r.digest_sum
                if r.error:
                    errors.append(r.error)
        out[name] = (total.rows, total.hexdigest, errors)
    return out
