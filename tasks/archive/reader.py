"""Reading a SIARD 2.2 archive back: tables from ``header/metadata.xml``, rows from the table
files, values as Python objects equal to what SQLAlchemy reads from the source.

``open_siard(path)`` takes a ``.siard`` file or an E-ARK package folder (it finds
``representations/*/data/*.siard``). Values: ``str``, ``int``, ``Decimal``, ``bool``,
``datetime`` (timezone-aware, UTC), ``date``, ``bytes``, ``None``.

Row addressing (for indexes such as the extracts' person index): table entries are stored
uncompressed, so ``row_spans(table)`` yields ``(offset, length)`` of every ``<row>…</row>`` in
the entry ``content/schema0/tableN/tableN.xml``; add ``entry_data_offset(siard, entry)`` to get
the position in the .siard file, and ``parse_row(table, data)`` turns those bytes into values.
"""

from __future__ import annotations

import binascii
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

from lxml import etree

from models.errors import InputError
from tasks.archive.container import entry_data_offset
from tasks.archive.digest import ARRAY_SEP, NULL, SEP
from tasks.archive.escaping import decode_text
from tasks.archive.metadata import METADATA_NS
from tasks.archive.schema import table_key
from tasks.archive.tablexsd import TABLE_NS
from tasks.archive.types import PARSE, Kind

_M = f"{{{METADATA_NS}}}"
_ROW = f"{{{TABLE_NS}}}row"


def kind_of_sql(sql: str) -> Kind:
    """The value kind of a SIARD SQL:2008 type string."""
    t = re.sub(r"\s+", " ", sql.upper().strip())
    base = t.split("(")[0].strip()
    if base in ("INTEGER", "INT", "SMALLINT", "BIGINT"):
        return Kind.integer
    if base in ("NUMERIC", "DECIMAL", "DEC"):
        return Kind.decimal
    if base == "REAL":
        return Kind.real
    if base.startswith("FLOAT") or base == "DOUBLE PRECISION":
        return Kind.double
    if base == "BOOLEAN":
        return Kind.boolean
    if base in ("CLOB", "NCLOB", "XML") or "LARGE OBJECT" in base and "BINARY" not in base:
        return Kind.clob
    if base in ("BLOB", "BINARY LARGE OBJECT"):
        return Kind.blob
    if base.startswith(("BINARY", "VARBINARY")):
        return Kind.binary
    if base.startswith(("CHAR", "VARCHAR", "NATIONAL", "NCHAR")):
        return Kind.string
    if base == "DATE":
        return Kind.date
    if base.startswith("TIMESTAMP"):
        return Kind.timestamp
    if base.startswith("TIME"):
        return Kind.time
    if base.startswith("INTERVAL"):
        return Kind.interval
    raise InputError(f"unsupported SIARD column type {sql!r}")


@dataclass(frozen=True)
class ArchivedColumn:
    name: str
    sql_type: str
    type_original: str | None
    nullable: bool
    kind: Kind  # of the values, or of an array's elements
    cardinality: int | None = None  # an array column's (its cells hold <a1>…<aN>)


@dataclass(frozen=True)
class ArchivedTable:
    schema: str
    schema_folder: str
    name: str
    folder: str
    rows: int
    description: str
    columns: tuple[ArchivedColumn, ...]

    @property
    def entry(self) -> str:
        return f"content/{self.schema_folder}/{self.folder}/{self.folder}.xml"

    @property
    def key(self) -> str:
        """The table's name in digests and PREMIS (``schema.name`` outside ``schema0``)."""
        return table_key(self.schema_folder, self.schema, self.name)

    @property
    def has_arrays(self) -> bool:
        return any(c.cardinality is not None for c in self.columns)


def find_siard(path: Path) -> Path:
    """The .siard file at ``path`` (a file) or inside a package folder."""
    if path.is_file():
        return path
    found = sorted(path.glob("representations/*/data/*.siard"))
    if not found:
        raise InputError(f"{path}: no representations/*/data/*.siard in this package")
    return found[0]


class SiardArchive:
    """An open SIARD archive (use as a context manager or call :meth:`close`)."""

    def __init__(self, siard: Path) -> None:
        self.path = siard
        try:
            self._zip = zipfile.ZipFile(siard)
            meta = self._zip.read("header/metadata.xml")
        except (zipfile.BadZipFile, KeyError, OSError) as exc:
            raise InputError(f"{siard}: not a readable SIARD archive ({exc})") from exc
        self._tables = self._parse_metadata(meta)

    @classmethod
    def over_entries(cls, siard: Path, tables: list[ArchivedTable], entries: Any) -> SiardArchive:
        """An archive whose ZIP is still being written: the tables are given, and entries are
        read through ``entries.read(name)`` (see :mod:`tasks.archive.reread`)."""
        self = cls.__new__(cls)
        self.path = siard
        self._zip = entries
        self._tables = {t.key: t for t in tables}
        return self

    def __enter__(self) -> SiardArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    @staticmethod
    def _parse_metadata(data: bytes) -> dict[str, ArchivedTable]:
        root = etree.fromstring(data)
        tables: dict[str, ArchivedTable] = {}
        for schema in root.iter(f"{_M}schema"):
            sname = schema.findtext(f"{_M}name") or ""
            sfolder = schema.findtext(f"{_M}folder") or ""
            for t in schema.iterfind(f"{_M}tables/{_M}table"):
                cols = []
                for c in t.find(f"{_M}columns").iter(f"{_M}column"):  # type: ignore[union-attr]
                    sql = c.findtext(f"{_M}type") or ""
                    card = c.findtext(f"{_M}cardinality")
                    cols.append(
                        ArchivedColumn(
                            name=c.findtext(f"{_M}name") or "",
                            sql_type=sql,
                            type_original=c.findtext(f"{_M}typeOriginal"),
                            nullable=(c.findtext(f"{_M}nullable") or "true") == "true",
                            kind=kind_of_sql(sql),
                            cardinality=int(card) if card else None,
                        )
                    )
                name = t.findtext(f"{_M}name") or ""
                tables[table_key(sfolder, sname, name)] = ArchivedTable(
                    schema=sname,
                    schema_folder=sfolder,
                    name=name,
                    folder=t.findtext(f"{_M}folder") or "",
                    rows=int(t.findtext(f"{_M}rows") or 0),
                    description=t.findtext(f"{_M}description") or "",
                    columns=tuple(cols),
                )
        return tables

    # -- structure --------------------------------------------------------------------------
    def tables(self) -> list[ArchivedTable]:
        return list(self._tables.values())

    def table(self, name: str | ArchivedTable) -> ArchivedTable:
        if isinstance(name, ArchivedTable):
            return name
        try:
            return self._tables[name]
        except KeyError:
            raise InputError(f"no table {name!r} in {self.path.name}") from None

    # -- rows -------------------------------------------------------------------------------
    def _cells(
        self, table: ArchivedTable, row: Any, layout: tuple[dict[str, int], list[int]] | None = None
    ) -> list[str | None]:
        """Canonical cells of a parsed row: SIARD lexical values, text unescaped, binaries as
        upper-case hex, LOB files read."""
        index, modes = layout or _layout(table)
        cells: list[str | None] = [None] * len(modes)
        for child in row:
            i = index[child.tag]
            mode = modes[i]
            if mode >= 3:  # an array: its elements <a1>…<aN>
                cells[i] = array_canonical(_array_items(child), mode - 3)
                continue
            if child.attrib:
                file = child.get("file")
                if file is not None:
                    data = self._zip.read(file)
                    cells[i] = _hexstr(data) if mode == 1 else data.decode("utf-8")
                    continue
            text = child.text or ""
            if mode == 0:
                cells[i] = decode_text(text) if "\\" in text else text
            elif mode == 1:
                cells[i] = text.strip().upper()
            else:
                cells[i] = text
        return cells

    def raw_rows(
        self, table: str | ArchivedTable, schema: etree.XMLSchema | None = None
    ) -> Iterator[list[str | None]]:
        """Rows as canonical cells (what the content digest is computed over); with ``schema``
        the table file is validated while it streams (an invalid file raises XMLSyntaxError)."""
        t = self.table(table)
        layout = _layout(t)
        with self._zip.open(t.entry) as f:
            kw: dict[str, Any] = {"schema": schema} if schema is not None else {}
            for _ev, row in etree.iterparse(f, events=("end",), tag=_ROW, huge_tree=True, **kw):
                yield self._cells(t, row, layout)
                row.clear(keep_tail=False)
                parent = row.getparent()
                while row.getprevious() is not None:
                    del parent[0]

    def rows_from(
        self, table: ArchivedTable, source: Any, schema: etree.XMLSchema | None = None
    ) -> Iterator[list[str | None]]:
        """Canonical cells of the rows in ``source`` (a file-like table document)."""
        layout = _layout(table)
        kw: dict[str, Any] = {"schema": schema} if schema is not None else {}
        for _ev, row in etree.iterparse(source, events=("end",), tag=_ROW, huge_tree=True, **kw):
            yield self._cells(table, row, layout)
            row.clear(keep_tail=False)
            parent = row.getparent()
            while row.getprevious() is not None:
                del parent[0]

    def digest_document(
        self, table: ArchivedTable, doc: bytes, schema: etree.XMLSchema | None = None
    ) -> tuple[int, int]:
        """Row count and the (unreduced) sum of the row hashes of ``doc`` (a whole table
        document, or a part of one wrapped in its head and tail): the same ``sha256-rowsum-v1``
        as :class:`TableDigest` over :meth:`rows_from`, with less work per row. The document is
        parsed whole (keep it to a few MB) and, with ``schema``, validated first (raises
        ``etree.DocumentInvalid``; malformed XML raises ``etree.XMLSyntaxError``). In a valid
        document a row's cells are in column order (the schema's sequence), so the cells' text
        is joined straight away (absent cells, NULLs, placed by tag); rows with empty cells or
        LOB files, tables with binary columns (normalised to upper case) and unvalidated
        documents go through :meth:`_cells`."""
        layout = _layout(table)
        index, modes = layout
        ncols = len(modes)
        text_cols = [m == 0 for m in modes]
        direct = schema is not None and 1 not in modes
        root = etree.fromstring(doc, etree.XMLParser(huge_tree=True))
        if schema is not None:
            schema.assertValid(root)
        row_elems = list(root.iterchildren(_ROW))
        sizes = [len(r) for r in row_elems]
        # the text of every element in document order (table, row, its cells, next row, …):
        # one C-level pass instead of one per row
        flat = [e.text for e in root.iter(etree.Element)]
        if len(flat) != 1 + len(sizes) + sum(sizes):  # comments or other nodes: no shortcut
            direct = False
        tags = [f"{{{TABLE_NS}}}c{i + 1}" for i in range(ncols)]
        nullable = [c.nullable for c in table.columns]
        total = 0
        pos = 2  # the first row's first cell
        for row, n in zip(row_elems, sizes, strict=True):
            cell_texts: list[Any] = flat[pos : pos + n]
            pos += n + 1
            texts: list[Any] | None = cell_texts
            if direct and n != ncols and None not in cell_texts:
                texts = _place(row, cell_texts, tags, nullable)  # NULLs: cells absent
            if not direct or texts is None or None in texts:
                cells = self._cells(table, row, layout)
                joined = SEP.join([NULL if c is None else c for c in cells])
            else:
                joined = SEP.join(texts)  # type: ignore[arg-type]
                if "\\" in joined:  # SIARD escapes (\u00XX) in text cells
                    joined = SEP.join(
                        [
                            decode_text(t) if text_cols[i] and "\\" in t else t  # type: ignore[operator]
                            for i, t in enumerate(texts)
                        ]  # type: ignore[misc]
                    )
            hashed = sha256(joined.encode("utf-8", "surrogateescape")).digest()
            total += int.from_bytes(hashed, "big")
        rows = len(sizes)
        return rows, total

    def rows(self, table: str | ArchivedTable) -> Iterator[tuple[Any, ...]]:
        """Rows as tuples of Python values, in archive order (primary-key order)."""
        t = self.table(table)
        kinds = [(c.kind, c.cardinality is not None) for c in t.columns]
        for cells in self.raw_rows(t):
            yield tuple(_value(k, c, a) for (k, a), c in zip(kinds, cells, strict=True))

    # -- row addressing ---------------------------------------------------------------------
    def row_spans(self, table: str | ArchivedTable) -> Iterator[tuple[int, int]]:
        """``(offset, length)`` of each ``<row>…</row>`` within the table's entry."""
        t = self.table(table)
        pos = 0
        carry = b""
        with self._zip.open(t.entry) as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                data = carry + chunk
                base = pos - len(carry)
                start = 0
                while True:
                    s = data.find(b"<row>", start)
                    if s < 0:
                        break
                    e = data.find(b"</row>", s)
                    if e < 0:
                        break
                    yield base + s, e + 6 - s
                    start = e + 6
                carry = data[start:] if data.find(b"<row>", start) >= 0 else data[-5:]
                pos += len(chunk)

    def entry_offset(self, table: str | ArchivedTable) -> int:
        return entry_data_offset(self.path, self.table(table).entry)

    def parse_row(self, table: str | ArchivedTable, data: bytes) -> tuple[Any, ...]:
        """Values of one ``<row>…</row>`` given as bytes (from :meth:`row_spans`)."""
        t = self.table(table)
        row = etree.fromstring(data)
        cells = self._cells(t, row)
        return tuple(
            _value(c.kind, v, c.cardinality is not None)
            for c, v in zip(t.columns, cells, strict=True)
        )


def _place(
    row: Any, texts: list[str | None], tags: list[str], nullable: list[bool]
) -> list[str | None] | None:
    """A valid row's cell texts by column, with :data:`NULL` for absent cells. Cells come in
    column order (the table schema's sequence), so only a nullable column's tag is looked at
    (it may be absent); ``None`` when the cells do not fit the columns."""
    placed: list[str | None] = [NULL] * len(tags)
    j = 0
    n = len(texts)
    for i, tag in enumerate(tags):
        if j == n:
            break
        if nullable[i] and row[j].tag != tag:
            continue
        placed[i] = texts[j]
        j += 1
    return placed if j == n else None


def _value(kind: Kind, cell: str | None, array: bool = False) -> Any:
    if cell is None or (kind in (Kind.string, Kind.clob) and not array):
        return cell
    if array:
        return [None if e is None else _value(kind, e) for e in array_elements(cell)]
    return PARSE[kind](cell)


def _array_items(cell: Any) -> dict[int, str]:
    """Position (from 1) → raw text of each element present in an array cell."""
    return {int(etree.QName(a).localname[1:]): a.text or "" for a in cell}


def array_canonical(items: dict[int, str], mode: int) -> str:
    """The canonical cell of an array (``sha256-rowsum-v1``): its elements up to the last one
    present, each as its lexical value (text unescaped, binaries upper-case hex) or NULL (0xFF),
    joined by the byte 0xFD. SIARD leaves NULL elements out, so trailing NULLs do not count."""
    if not items:
        return ""
    out = []
    for pos in range(1, max(items) + 1):
        text = items.get(pos)
        if text is None:
            out.append(NULL)
        elif mode == 0:
            out.append(decode_text(text) if "\\" in text else text)
        elif mode == 1:
            out.append(text.strip().upper())
        else:
            out.append(text)
    return ARRAY_SEP.join(out)


def array_elements(cell: str) -> list[str | None]:
    """The elements of a canonical array cell (None for NULL)."""
    if cell == "":
        return []
    return [None if e == NULL else e for e in cell.split(ARRAY_SEP)]


def _hexstr(data: bytes) -> str:
    return binascii.hexlify(data).decode("ascii").upper()


def _layout(table: ArchivedTable) -> tuple[dict[str, int], list[int]]:
    """Tag → column index (namespaced and bare), and per column 0 text / 1 binary / 2 other."""
    index: dict[str, int] = {}
    for i in range(len(table.columns)):
        index[f"{{{TABLE_NS}}}c{i + 1}"] = i
        index[f"c{i + 1}"] = i
    modes = [
        (0 if c.kind in (Kind.string, Kind.clob) else 1 if c.kind.is_binary else 2)
        + (3 if c.cardinality is not None else 0)
        for c in table.columns
    ]
    return index, modes


def open_siard(path: str | Path) -> SiardArchive:
    """Open a .siard file, or the .siard inside an E-ARK package folder."""
    return SiardArchive(find_siard(Path(path)))
