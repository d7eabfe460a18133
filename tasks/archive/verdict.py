"""The verdict on an archive: does the re-read .siard hold what the source held?

The re-read (:mod:`tasks.archive.reread`) parses every table file back to values on its own;
:func:`compare_reread` then checks metadata.xml against the official SIARD schema, each table's
row count against what metadata.xml declares, and each table's count and ``sha256-rowsum-v1``
digest against the source's, and (for tables re-read while the archive was being written,
as :func:`archived_table` describes them) the table folders and column types metadata.xml
declares. :func:`verify_siard` re-reads a finished .siard and gives that verdict;
:func:`verification_detail` is the sentence the package's PREMIS event and report carry.
An empty list of problems is the only "verified".
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from lxml import etree

from tasks.archive.container import SIARD_METADATA_XSD
from tasks.archive.digest import ALGORITHM
from tasks.archive.inventory import Inventory
from tasks.archive.reader import ArchivedColumn, ArchivedTable, SiardArchive, kind_of_sql
from tasks.archive.reread import reread_tables
from tasks.archive.schema import TableSpec


def verify_siard(
    siard: Path, expected: dict[str, tuple[int, str]], *, schemas: bool = False
) -> list[str]:
    """Re-read the archive: metadata.xml against the official schema, every table file's rows
    (strictly, by the C decoder where it is built; with ``schemas`` or without it, against
    the table's own XSD by libxml2, chunk by chunk), and row counts + digests against
    ``expected`` (table name → (rows, digest)). Returns the problems (empty = verified)."""
    return compare_reread(siard, expected, reread_tables(siard, schemas=schemas))


def archived_table(spec: TableSpec) -> ArchivedTable:
    """How the re-read reads ``spec``'s table: the column types as metadata.xml will declare
    them, each mapped to a value kind by the reader's own function (:func:`kind_of_sql`)."""
    columns = tuple(
        ArchivedColumn(
            c.name, c.sql_type, c.type_original, c.nullable, kind_of_sql(c.sql_type), c.cardinality
        )
        for c in spec.columns
    )
    return ArchivedTable(spec.schema, spec.schema_folder, spec.name, spec.folder, 0, "", columns)


def compare_reread(
    siard: Path,
    expected: dict[str, tuple[int, str]],
    found: dict[str, tuple[int, str, list[str]]],
    read_as: list[ArchivedTable] | None = None,
) -> list[str]:
    """The verdict on a re-read (``found``: table name → (rows, digest, errors)) of the finished
    ``siard``: metadata.xml valid against the official schema, row counts as it declares them,
    counts and digests as ``expected``; with ``read_as`` (tables re-read while the archive was
    being written) also the same table folders and column types as metadata.xml declares."""

    problems: list[str] = []
    meta_schema = etree.XMLSchema(etree.parse(str(SIARD_METADATA_XSD)))
    with zipfile.ZipFile(siard) as zf:
        meta = etree.fromstring(zf.read("header/metadata.xml"))
        if not meta_schema.validate(meta):
            problems.extend(
                f"header/metadata.xml: {e.message} (line {e.line})" for e in meta_schema.error_log
            )
    with SiardArchive(siard) as archive:
        tables = archive.tables()
    declared = {t.key: t.rows for t in tables}
    if read_as is not None:

        def shape(t: ArchivedTable) -> tuple[object, ...]:
            cols = [(c.name, c.sql_type, c.kind, c.cardinality) for c in t.columns]
            return (t.schema_folder, t.folder, cols)

        in_meta = {t.key: shape(t) for t in tables}
        for t in read_as:
            if in_meta.get(t.key) != shape(t):
                problems.append(
                    f"{t.key}: re-read as {shape(t)}, but metadata.xml declares "
                    f"{in_meta.get(t.key)}"
                )
    seen = set()
    for name, (rows, digest, errors) in found.items():
        seen.add(name)
        problems.extend(f"{name}: {e}" for e in errors)
        if errors:
            continue
        if declared.get(name) != rows:
            problems.append(
                f"{name}: metadata.xml says {declared.get(name)} rows, the file holds {rows}"
            )
        want = expected.get(name)
        if want is None:
            problems.append(f"{name}: in the archive but not in the source")
        elif want != (rows, digest):
            problems.append(
                f"{name}: source {want[0]} rows / digest {want[1][:16]}…, archive "
                f"{rows} rows / digest {digest[:16]}…"
            )
    for missing in sorted(set(expected) - seen):
        problems.append(f"{missing}: in the source but not in the archive")
    for extra in sorted(set(declared) - seen):
        problems.append(f"{extra}: in metadata.xml but not re-read")
    return problems


def verification_detail(tables: int, rows: int, inventory: Inventory, problems: list[str]) -> str:
    """What was verified (``tables`` tables, ``rows`` rows, the whole ``inventory``), or the
    problems found."""
    if problems:
        return f"{len(problems)} problem(s): " + "; ".join(problems)
    return (
        f"{tables} tables, {rows} rows: counts and {ALGORITHM} digests of source and archive "
        f"match; the archive holds the source's whole inventory ({inventory.summary()})"
    )
