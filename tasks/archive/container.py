"""The ``.siard`` file: a ZIP assembled deterministically from the finished table folders.

Layout (SIARD 2.2 §4.2)::

    content/                       directory entries are written explicitly
      schema0/
        table0/  table0.xml  table0.xsd  lob3/record17.txt …
    header/
      metadata.xml  metadata.xsd  siardversion/2.2/

Every entry is STORED (no compression; SIARD allows "stored" and "deflate"), with a fixed
timestamp and fixed attributes, in a fixed order (content first, then header), so the same
source gives the same bytes. Because nothing is compressed, a table row is addressable by
``(entry, offset, length)``: the entry's data starts at :func:`entry_data_offset`, and a row's
bytes in ``tableN.xml`` are found by :func:`tasks.archive.reader.row_spans`.
"""

from __future__ import annotations

import shutil
import struct
import zipfile
from collections.abc import Iterable
from pathlib import Path

from tasks.archive import STANDARDS_DIR
from tasks.archive.writer import RESULT_FILE

SIARD_METADATA_XSD = STANDARDS_DIR / "siard-2.2-metadata.xsd"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _info(name: str, is_dir: bool = False) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    zi.compress_type = zipfile.ZIP_STORED
    zi.create_system = 3
    zi.external_attr = ((0o40755 << 16) | 0x10) if is_dir else (0o100644 << 16)
    return zi


def _table_files(folder: Path) -> Iterable[tuple[str, Path]]:
    """Files of a finished table folder in a fixed order: xml, xsd, then LOBs by column/row."""
    name = folder.name
    yield f"{name}.xml", folder / f"{name}.xml"
    yield f"{name}.xsd", folder / f"{name}.xsd"
    lob_dirs = sorted(
        (p for p in folder.iterdir() if p.is_dir() and p.name.startswith("lob")),
        key=lambda p: int(p.name[3:]),
    )
    for lob in lob_dirs:
        files = sorted(lob.iterdir(), key=lambda p: int(p.stem.removeprefix("record")))
        for f in files:
            yield f"{lob.name}/{f.name}", f


def assemble_siard(
    table_dirs: list[Path], metadata: bytes, metadata_xsd: Path, target: Path
) -> None:
    """Write the .siard ZIP to ``target`` (via a temporary file renamed at the end)."""
    part = target.with_name(target.name + ".part")
    with zipfile.ZipFile(part, "w", allowZip64=True) as zf:
        zf.writestr(_info("content/", True), b"")
        zf.writestr(_info("content/schema0/", True), b"")
        for folder in table_dirs:
            base = f"content/schema0/{folder.name}/"
            zf.writestr(_info(base, True), b"")
            made: set[str] = set()
            for rel, path in _table_files(folder):
                if rel == RESULT_FILE:
                    continue
                if "/" in rel:
                    sub = base + rel.split("/")[0] + "/"
                    if sub not in made:
                        zf.writestr(_info(sub, True), b"")
                        made.add(sub)
                zi = _info(base + rel)
                zi.file_size = path.stat().st_size
                with open(path, "rb") as src, zf.open(zi, "w", force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
        zf.writestr(_info("header/", True), b"")
        zf.writestr(_info("header/metadata.xml"), metadata)
        zf.writestr(_info("header/metadata.xsd"), metadata_xsd.read_bytes())
        zf.writestr(_info("header/siardversion/", True), b"")
        zf.writestr(_info("header/siardversion/2.2/", True), b"")
    part.replace(target)


def entry_data_offset(siard: Path, entry: str) -> int:
    """Byte offset in the .siard file where ``entry``'s (stored) data begins."""
    with zipfile.ZipFile(siard) as zf:
        zi = zf.getinfo(entry)
        if zi.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"{entry} is compressed; offsets address stored entries only")
        header_offset = zi.header_offset
    with open(siard, "rb") as f:
        f.seek(header_offset)
        local = f.read(30)
    sig, *_rest = struct.unpack("<4s26s", local)
    if sig != b"PK\x03\x04":
        raise ValueError(f"no local file header for {entry}")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    return header_offset + 30 + name_len + extra_len
