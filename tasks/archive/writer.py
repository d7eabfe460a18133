"""Writing one table: rows in primary-key order into ``tableN.xml`` (+ ``tableN.xsd`` and LOB
files), the row count and content digest taken from the same stream.

Each table is written into ``<dest>.part`` and renamed to ``<dest>`` only when complete (with a
``result.json`` inside), so a run killed at any moment leaves either a complete table or
nothing; a resumed run skips complete tables and rewrites the rest.

Large objects: CLOB/BLOB values up to :data:`LOB_INLINE_LIMIT` characters/bytes are inline (text,
or hex for binaries); larger ones are separate files ``lobK/recordR.txt|.bin`` (K = column index
from 0, R = row index from 0) referenced by ``file``, ``length``, ``digestType="SHA-256"`` and
``digest``, as the SIARD 2.2 specification and the SFA tools do.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from hashlib import sha256
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Numeric, Text, case, cast, func, null, select, type_coerce
from sqlalchemy import exc as sa_exc

from tasks.archive.digest import ARRAY_SEP, NULL, SEP, TableDigest
from tasks.archive.durable import write_bytes_atomically
from tasks.archive.escaping import encode_text, encode_text_one_line
from tasks.archive.schema import ColumnSpec, TableSpec, reflect_table
from tasks.archive.tablexsd import TABLE_XML_TAIL, table_xml_head, table_xsd
from tasks.archive.types import LEXICAL, Kind, _hex

LOB_INLINE_LIMIT = 64 * 1024
FETCH_ROWS = 5000
RESULT_FILE = "result.json"


@dataclass(frozen=True)
class TableResult:
    """One table written: where, how many rows, its digest, its size."""

    folder: str
    name: str
    rows: int
    digest: str
    xml_bytes: int
    lob_files: int
    seconds: float
    xml_crc32: int | None = None  # of the table file, when the writer took it on the way

    @staticmethod
    def load(folder: Path) -> TableResult:
        return TableResult(**json.loads((folder / RESULT_FILE).read_text()))

    @staticmethod
    def load_if_complete(folder: Path) -> TableResult | None:
        """The recorded result, or None when there is none or it is unreadable (a power loss
        can leave an empty file): the table is then written again."""
        try:
            return TableResult.load(folder)
        except (OSError, ValueError, TypeError):
            return None


def lob_entry(schema_folder: str, spec: TableSpec, col_index0: int, row_index0: int) -> str:
    ext = "bin" if spec.columns[col_index0].kind.is_binary else "txt"
    return f"content/{schema_folder}/{spec.folder}/lob{col_index0}/record{row_index0}.{ext}"


def _read_expr(col: Any, c: ColumnSpec, dialect: str) -> Any:
    """How a column is selected (see :attr:`ColumnSpec.read_as`)."""
    if c.read_as == "text" and dialect == "postgresql":
        # the type's output function (what COPY writes); a cast differs for inet
        return type_coerce(case((col.is_(None), null()), else_=func.format("%s", col)), Text)
    if c.read_as in ("text", "interval"):
        return cast(col, Text)
    if c.read_as == "numeric":
        return cast(col, Numeric)
    if c.read_as.startswith("array:"):
        from sqlalchemy.dialects.postgresql import ARRAY

        return cast(col, ARRAY(Text))
    return col


def _rows(conn: Connection, spec: TableSpec, schema_arg: str | None) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sa_exc.SAWarning)  # types it does not know: read as text
        table = reflect_table(conn, spec, schema_arg)
    dialect = conn.dialect.name
    stmt = select(*[_read_expr(table.c[c.name], c, dialect) for c in spec.columns]).order_by(
        *[table.c[n] for n in spec.order_by]
    )
    return conn.execution_options(yield_per=FETCH_ROWS, stream_results=True).execute(stmt)


def array_cell(
    kind: Kind, values: Any, n: int, encode: Callable[[str], str] = encode_text
) -> tuple[str, str]:
    """An array value's cell ``<cN><a1>…</a1>…</cN>`` (NULL elements left out) and its
    canonical form (see :func:`tasks.archive.reader.array_canonical`)."""
    if not isinstance(values, list | tuple):
        raise ValueError(f"column c{n}: an array value expected, got {type(values).__name__}")
    parts: list[str] = []
    canon: list[str] = []
    text = kind in (Kind.string, Kind.clob)
    enc = LEXICAL[kind]
    for pos, v in enumerate(values, start=1):
        if v is None:
            canon.append(NULL)
            continue
        if isinstance(v, list):
            raise ValueError(f"column c{n}: a value with more than one dimension")
        if text:
            lex = v if isinstance(v, str) else str(v)
            parts.append(f"<a{pos}>{encode(lex)}</a{pos}>")
        else:
            lex = _hex(v) if kind.is_binary else enc(v)
            parts.append(f"<a{pos}>{lex}</a{pos}>")
        canon.append(lex)
    while canon and canon[-1] == NULL:
        canon.pop()
    xml = f"<c{n}>{''.join(parts)}</c{n}>" if parts else f"<c{n}/>"
    return xml, ARRAY_SEP.join(canon)


def start_table_folder(dest: Path, spec: TableSpec) -> Path:
    """The ``<dest>.part`` folder a table is written into (emptied), with its schema."""
    part = dest.with_name(dest.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    part.mkdir(parents=True)
    (part / f"{spec.folder}.xsd").write_bytes(table_xsd(spec))
    return part


def finish_table_folder(part: Path, dest: Path, res: TableResult) -> TableResult:
    """Record ``res`` in ``part`` and rename it to ``dest``: the table is done (atomically)."""
    # not waiting for the disk: a power loss at worst makes the table be written again
    write_bytes_atomically(part / RESULT_FILE, json.dumps(asdict(res), sort_keys=True).encode())
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(part, dest)
    return res


def write_table(
    conn: Connection,
    spec: TableSpec,
    schema_arg: str | None,
    dest: Path,
    *,
    schema_folder: str = "schema0",
    lob_limit: int = LOB_INLINE_LIMIT,
    progress: Callable[[int], None] | None = None,
) -> TableResult:
    """Write ``spec``'s rows to ``dest`` (a folder), atomically. Returns the result."""
    t0 = time.perf_counter()
    part = start_table_folder(dest, spec)
    # on PostgreSQL LF and TAB as references, as its COPY paths write them (same bytes)
    encode = encode_text_one_line if conn.dialect.name == "postgresql" else encode_text
    digest = TableDigest()
    kinds = [c.kind for c in spec.columns]
    enc = [LEXICAL[k] for k in kinds]
    opens = [f"<c{i}>" for i in range(1, len(kinds) + 1)]
    closes = [f"</c{i}>" for i in range(1, len(kinds) + 1)]
    # per column: 0 text, 1 binary, 2 other (lexical form needs no escaping), 3 array
    modes = [
        3 if c.cardinality is not None
        else 0 if c.kind in (Kind.string, Kind.clob) else 1 if c.kind.is_binary else 2
        for c in spec.columns
    ]  # fmt: skip
    lob = [k.is_lob for k in kinds]
    cols = list(range(len(kinds)))
    lob_files = 0
    row_index = 0
    add_row = digest.add_joined
    xml_path = part / f"{spec.folder}.xml"
    with open(xml_path, "wb", buffering=1 << 20) as out:
        out.write(table_xml_head(spec))
        buf: list[str] = []
        append = buf.append
        for row in _rows(conn, spec, schema_arg):
            cells: list[str] = []
            append("<row>")
            for i in cols:
                v = row[i]
                if v is None:
                    cells.append(NULL)
                    continue
                mode = modes[i]
                if mode == 2:
                    lex = enc[i](v)
                    cells.append(lex)
                    append(opens[i] + lex + closes[i])
                elif mode == 3:
                    xml, canon = array_cell(kinds[i], v, i + 1, encode)
                    cells.append(canon)
                    append(xml)
                elif mode == 0:
                    cells.append(v)
                    if lob[i] and len(v) > lob_limit:
                        lob_files += 1
                        append(_lob(part, spec, schema_folder, i, row_index, v.encode(), len(v)))
                    else:
                        append(opens[i] + encode(v) + closes[i])
                else:
                    b = bytes(v)
                    lex = _hex(b)
                    cells.append(lex)
                    if lob[i] and len(b) > lob_limit:
                        lob_files += 1
                        append(_lob(part, spec, schema_folder, i, row_index, b, len(b)))
                    else:
                        append(opens[i] + lex + closes[i])
            append("</row>\n")
            add_row(SEP.join(cells))
            row_index += 1
            if row_index % FETCH_ROWS == 0:
                out.write("".join(buf).encode("utf-8"))
                buf.clear()
                if progress:
                    progress(row_index)
        out.write("".join(buf).encode("utf-8"))
        out.write(TABLE_XML_TAIL)
        xml_bytes = out.tell()
    if progress:
        progress(row_index)
    res = TableResult(
        folder=spec.folder,
        name=spec.name,
        rows=digest.rows,
        digest=digest.hexdigest,
        xml_bytes=xml_bytes,
        lob_files=lob_files,
        seconds=round(time.perf_counter() - t0, 3),
    )
    return finish_table_folder(part, dest, res)


def _lob(
    part: Path, spec: TableSpec, schema_folder: str, i: int, row: int, data: bytes, length: int
) -> str:
    entry = lob_entry(schema_folder, spec, i, row)
    folder = part / f"lob{i}"
    folder.mkdir(exist_ok=True)
    (folder / entry.rsplit("/", 1)[1]).write_bytes(data)
    digest = sha256(data).hexdigest().upper()
    return f'<c{i + 1} file="{entry}" length="{length}" digestType="SHA-256" digest="{digest}"/>'


def _array_canonical(kind: Kind, n: int, values: Any) -> str:
    return array_cell(kind, values, n)[1]


def digest_table(conn: Connection, spec: TableSpec, schema_arg: str | None) -> tuple[int, str]:
    """Row count and digest of ``spec``'s rows in the source, without writing anything."""
    digest = TableDigest()
    kinds = [c.kind for c in spec.columns]
    enc: list[Callable[[Any], str]] = [LEXICAL[k] for k in kinds]
    plain = [k in (Kind.string, Kind.clob) for k in kinds]
    for i, c in enumerate(spec.columns):
        if c.cardinality is not None:
            plain[i] = False
            enc[i] = partial(_array_canonical, c.kind, i + 1)
        elif c.kind.is_binary:
            enc[i] = _hex
    for row in _rows(conn, spec, schema_arg):
        digest.add([None if v is None else v if plain[i] else enc[i](v) for i, v in enumerate(row)])
    return digest.rows, digest.hexdigest
