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

import hashlib
import io
import json
import os
import queue
import shutil
import struct
import threading
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tasks.archive import STANDARDS_DIR
from tasks.archive.durable import start_writeback
from tasks.archive.writer import RESULT_FILE

try:
    from tasks.archive import _siardc
except ImportError:  # built by pip install where a C compiler is present
    _siardc = None  # type: ignore[assignment]

SIARD_METADATA_XSD = STANDARDS_DIR / "siard-2.2-metadata.xsd"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def _info(name: str, is_dir: bool = False) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, date_time=ZIP_DATE)
    zi.compress_type = zipfile.ZIP_STORED
    zi.create_system = 3
    zi.external_attr = ((0o40755 << 16) | 0x10) if is_dir else (0o100644 << 16)
    return zi


def _table_files(folder: Path, name: str | None = None) -> Iterable[tuple[str, Path]]:
    """Files of a finished table folder in a fixed order: xml, xsd, then LOBs by column/row
    (``name``: the table's folder in the archive, default the folder's own name)."""
    name = name or folder.name
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


_DIRECT_MIN = 1 << 20  # files from this size on are copied by the kernel


def _crc32_of(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            crc = zlib.crc32(block, crc)  # releases the GIL on large blocks
    return crc


def _known_xml_crc(folder: Path) -> dict[str, tuple[int, int]]:
    """The table file's CRC-32 and size as its writer recorded them (``{}`` if it did not)."""
    try:
        result = json.loads((folder / RESULT_FILE).read_text())
    except (OSError, ValueError):
        return {}
    if result.get("xml_crc32") is None:
        return {}
    name = result.get("folder") or folder.name
    return {f"{name}.xml": (int(result["xml_crc32"]), int(result["xml_bytes"]))}


def _add_stored_file(
    zf: zipfile.ZipFile, zi: zipfile.ZipInfo, path: Path, crc: int | None = None
) -> None:
    """Append ``path`` as a stored entry with the same bytes ``zf.open(zi, "w",
    force_zip64=True)`` + a copy would write (the header as it ends up after that path's
    rewrite), but with the CRC taken first (or ``crc``, taken by the table's writer) and the
    data copied by the kernel
    (``os.copy_file_range``) instead of through Python."""
    assert zf.fp is not None
    size = zi.file_size
    zi.CRC = _crc32_of(path) if crc is None else crc
    zi.compress_size = size
    zi.flag_bits = 0x00
    zf.fp.seek(zf.start_dir)
    zi.header_offset = zf.fp.tell()
    zf._writecheck(zi)  # type: ignore[attr-defined]
    zf._didModify = True  # type: ignore[attr-defined]
    zf.fp.write(zi.FileHeader(True))
    zf.fp.flush()
    data_start = zf.fp.tell()
    out_fd = zf.fp.fileno()
    with open(path, "rb") as src:
        in_fd = src.fileno()
        done = 0
        try:
            while done < size:
                n = os.copy_file_range(in_fd, out_fd, size - done, done, data_start + done)
                if n == 0:
                    raise OSError(f"{path}: shorter than {size} bytes")
                done += n
        except (AttributeError, OSError) as exc:  # no copy_file_range here: through Python
            if isinstance(exc, OSError) and "shorter" in str(exc):
                raise
            src.seek(done)
            zf.fp.seek(data_start + done)
            shutil.copyfileobj(src, zf.fp, 1 << 20)
    zf.fp.seek(data_start + size)
    zf.start_dir = zf.fp.tell()  # type: ignore[attr-defined]
    zf.filelist.append(zi)
    zf.NameToInfo[zi.filename] = zi


class SiardWriter:
    """Writes the .siard ZIP entry by entry: :meth:`add_table` for each finished table folder in
    order, then :meth:`finish` (the header). The same calls in the same order give the same
    bytes as :func:`assemble_siard`; the file is ``<target>.part`` until :meth:`finish` renames
    it. After :meth:`add_table` the table's entries are on disk (flushed), so they can be read
    while later tables are still being written."""

    def __init__(self, target: Path, resume: dict[str, Any] | None = None) -> None:
        """``resume``: a :meth:`state` of an earlier, interrupted writer of the same file; its
        entries are kept (the file is cut back to where that state ended) when the file still
        holds them, else the file is started anew. :attr:`resumed` tells which."""
        self.target = target
        self.part = target.with_name(target.name + ".part")
        self.sha256: str | None = None  # of the finished file, set by finish()
        self._fp = None
        self.resumed = resume is not None and _holds(self.part, resume)
        if self.resumed:
            assert resume is not None
            end = int(resume["end"])
            self._fp = open(self.part, "r+b")  # noqa: SIM115 - closed by finish() / abandon()
            self._fp.truncate(end)
            self._fp.seek(end)
            self._zf = zipfile.ZipFile(self._fp, "w", allowZip64=True)  # appends from ``end``
            for e in resume["entries"]:
                zi = _restored(e)
                self._zf.filelist.append(zi)
                self._zf.NameToInfo[zi.filename] = zi
            self._hash = _TrailingHash(self.part)
            self._hash.upto(end)
            return
        self._zf = zipfile.ZipFile(self.part, "w", allowZip64=True)
        self._hash = _TrailingHash(self.part)
        self._zf.writestr(_info("content/", True), b"")
        self._zf.writestr(_info("content/schema0/", True), b"")

    def state(self) -> dict[str, Any]:
        """What a later writer needs to go on from here (see ``resume``); JSON-ready."""
        assert self._zf.fp is not None
        self._zf.fp.flush()
        return {
            "end": self._zf.start_dir,  # type: ignore[attr-defined]
            "entries": [_dumped(zi) for zi in self._zf.filelist],
        }

    def _table_dirs(self, schema_folder: str, table_folder: str) -> str:
        """Write the folder entries of a table (its schema's first, before its first table);
        returns the table folder's entry name."""
        zf = self._zf
        schema_dir = f"content/{schema_folder}/"
        if schema_dir not in zf.NameToInfo:
            zf.writestr(_info(schema_dir, True), b"")
        base = f"{schema_dir}{table_folder}/"
        zf.writestr(_info(base, True), b"")
        return base

    def begin_table(self, schema_folder: str, table_folder: str) -> TableEntry:
        """Start a table whose file is written straight into its ZIP entry (see
        :class:`TableEntry`); finish it with :meth:`add_table` (``streamed=``)."""
        return TableEntry(self, schema_folder, table_folder)

    def add_table(
        self,
        folder: Path,
        schema_folder: str = "schema0",
        table_folder: str | None = None,
        streamed: zipfile.ZipInfo | None = None,
    ) -> dict[str, tuple[int, int]]:
        """Append a finished table folder as ``content/<schema_folder>/<table_folder>/``
        (default: the folder's own name); returns entry name → (data offset, size) of its
        files in the .siard (entries are stored, so that is where their bytes are). A schema's
        folder entry is written before its first table. ``streamed``: the table file's entry,
        already written by a :class:`TableEntry` (with the folder entries before it); the
        folder then holds the table's schema and LOB files only."""
        zf = self._zf
        table_folder = table_folder or folder.name
        if streamed is None:
            base = self._table_dirs(schema_folder, table_folder)
        else:
            base = f"content/{schema_folder}/{table_folder}/"
        made: set[str] = set()
        written: list[zipfile.ZipInfo] = [] if streamed is None else [streamed]
        known_crc = _known_xml_crc(folder)
        for rel, path in _table_files(folder, table_folder):
            if rel == RESULT_FILE or (streamed is not None and rel == f"{table_folder}.xml"):
                continue
            if "/" in rel:
                sub = base + rel.split("/")[0] + "/"
                if sub not in made:
                    zf.writestr(_info(sub, True), b"")
                    made.add(sub)
            zi = _info(base + rel)
            zi.file_size = path.stat().st_size
            if zi.file_size >= _DIRECT_MIN:
                crc = known_crc.get(rel, (None, -1))
                _add_stored_file(zf, zi, path, crc[0] if crc[1] == zi.file_size else None)
            else:
                with open(path, "rb") as src, zf.open(zi, "w", force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
            written.append(zi)
        assert zf.fp is not None
        zf.fp.flush()
        start_writeback(zf.fp.fileno())  # the final fsync then waits for little
        self._hash.upto(zf.start_dir)  # type: ignore[attr-defined]  # final from here back
        spans: dict[str, tuple[int, int]] = {}
        with open(self.part, "rb") as f:
            for zi in written:
                f.seek(zi.header_offset)
                local = f.read(30)
                if local[:4] != b"PK\x03\x04":
                    raise ValueError(f"no local file header for {zi.filename}")
                name_len, extra_len = struct.unpack("<HH", local[26:30])
                spans[zi.filename] = (zi.header_offset + 30 + name_len + extra_len, zi.file_size)
        return spans

    def finish(self, metadata: bytes, metadata_xsd: Path, rename: bool = True) -> None:
        """Write the header entries and the central directory; rename to the target (or, with
        ``rename=False``, leave the finished file at :attr:`part` for readers still reading it
        by that name; the caller then moves it)."""
        zf = self._zf
        zf.writestr(_info("header/", True), b"")
        zf.writestr(_info("header/metadata.xml"), metadata)
        zf.writestr(_info("header/metadata.xsd"), metadata_xsd.read_bytes())
        zf.writestr(_info("header/siardversion/", True), b"")
        zf.writestr(_info("header/siardversion/2.2/", True), b"")
        zf.close()
        if self._fp is not None:
            self._fp.close()
        self.sha256 = self._hash.finish(self.part.stat().st_size)
        if rename:
            self.part.replace(self.target)

    def abandon(self, keep: bool = False) -> None:
        """Close the unfinished file and delete it (``keep``: leave it for a resumed run, its
        entries as far as the last :meth:`state`)."""
        self._hash.abandon()
        if keep:
            fp = self._zf.fp
            self._zf.fp = None  # no central directory: the file stays as written
            if fp is not None:
                fp.flush()
                if fp is not self._fp:
                    fp.close()
        else:
            self._zf.close()
        if self._fp is not None:
            self._fp.close()
        if not keep:
            self.part.unlink(missing_ok=True)


class TableEntry:
    """A table file written straight into its entry of the .siard being written, instead of
    into a file of the table folder that is then copied in: each byte is written once, and the
    page cache holds one copy. The entry is written by :mod:`zipfile` itself
    (``ZipFile.open(…, "w", force_zip64=True)``: local header, data, then the header rewritten
    with the CRC-32 and sizes), so the bytes are those of a copied-in table file.

    After the folder entries, nothing else may be written to the .siard until :meth:`close`
    (or :meth:`cancel`). :meth:`restart` empties the entry (the rows are read again another
    way); :meth:`cancel` removes the table's entries (the table goes another way);
    :meth:`discard` leaves the bytes unfinished (a failed run: a resumed run cuts the file back
    to the last finished table)."""

    def __init__(self, writer: SiardWriter, schema_folder: str, table_folder: str) -> None:
        self._zf = writer._zf
        self._mark = self._here()
        self.finished: zipfile.ZipInfo | None = None  # set by close()
        base = writer._table_dirs(schema_folder, table_folder)
        self.name = f"{base}{table_folder}.xml"
        self._open()

    def _here(self) -> tuple[int, int]:
        return self._zf.start_dir, len(self._zf.filelist)  # type: ignore[attr-defined]

    def _open(self) -> None:
        self._data_mark = self._here()
        self._file: Any = self._zf.open(_info(self.name), "w", force_zip64=True)

    def write(self, data: bytes) -> None:
        """Append to the entry (its CRC-32 and size are taken on the way)."""
        self._file.write(data)

    def tell(self) -> int:
        """Bytes written to the entry so far."""
        return int(self._file._file_size)

    def restart(self) -> None:
        """Empty the entry: it is written again from its first byte."""
        self._back_to(self._data_mark)
        self._open()

    def close(self) -> zipfile.ZipInfo:
        """Finish the entry (its header gets the CRC-32 and sizes); returns it."""
        self._file.close()
        self.finished = self._zf.NameToInfo[self.name]
        return self.finished

    def cancel(self) -> None:
        """Remove the table's entries (folder entries too): the .siard is as before."""
        self._back_to(self._mark)

    def discard(self) -> None:
        """Leave the entry unfinished (the run failed); nothing more is written to it."""
        io.BufferedIOBase.close(self._file)  # not _ZipWriteFile.close: no header rewrite
        self._zf._writing = False  # type: ignore[attr-defined]

    def _back_to(self, mark: tuple[int, int]) -> None:
        self.discard()
        offset, count = mark
        zf = self._zf
        for zi in zf.filelist[count:]:
            zf.NameToInfo.pop(zi.filename, None)
        del zf.filelist[count:]
        assert zf.fp is not None
        zf.fp.seek(offset)
        zf.fp.truncate()
        zf.start_dir = offset  # type: ignore[attr-defined]


def _dumped(zi: zipfile.ZipInfo) -> dict[str, Any]:
    return {
        "name": zi.filename, "offset": zi.header_offset, "crc": zi.CRC, "size": zi.file_size,
        "extract_version": zi.extract_version, "create_version": zi.create_version,
        "flag_bits": zi.flag_bits,
    }  # fmt: skip


def _restored(e: dict[str, Any]) -> zipfile.ZipInfo:
    zi = _info(e["name"], e["name"].endswith("/"))
    zi.header_offset = int(e["offset"])
    zi.CRC = int(e["crc"])
    zi.file_size = zi.compress_size = int(e["size"])
    zi.extract_version = int(e["extract_version"])
    zi.create_version = int(e["create_version"])
    zi.flag_bits = int(e["flag_bits"])
    return zi


def _holds(part: Path, state: dict[str, Any]) -> bool:
    """Whether ``part`` still holds every entry ``state`` names, where it names it."""
    try:
        end = int(state["end"])
        if not part.is_file() or part.stat().st_size < end:
            return False
        with open(part, "rb") as f:
            for e in state["entries"]:
                f.seek(int(e["offset"]))
                local = f.read(30)
                name_len = struct.unpack("<H", local[26:28])[0] if len(local) == 30 else -1
                if local[:4] != b"PK\x03\x04" or f.read(name_len) != e["name"].encode():
                    return False
        return True
    except (KeyError, TypeError, ValueError, OSError, struct.error):
        return False


class _TrailingHash:
    """SHA-256 of a file while it is appended to: a thread hashes every byte up to the offsets
    it is told are final, so the package needs no second read of the .siard. With the C module
    each step is read and hashed without the GIL (hashlib takes the GIL back for every read and
    update, and waits for it while the main thread runs Python)."""

    def __init__(self, path: Path) -> None:
        # unbuffered: a buffered reader reads ahead past the offset it was asked for, and bytes
        # there may still change (a table entry's header is rewritten when the entry is done)
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by finish()/abandon()
        self._sha = hashlib.sha256()
        self._in_c = _siardc is not None  # else hashlib
        self._state: bytes | None = None  # the C module's state; None: nothing hashed yet
        self._pos = 0
        self._todo: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="siard-sha256", daemon=True)
        self._thread.start()

    def upto(self, offset: int) -> None:
        self._todo.put(offset)

    def _run(self) -> None:
        buf = bytearray(1 << 22)  # one buffer, read into again and again
        view = memoryview(buf)
        try:
            while (target := self._todo.get()) is not None:
                if target <= self._pos:
                    continue
                if self._in_c:  # the C module: reads and hashes without the GIL
                    try:
                        self._state = _siardc.sha256_fd(
                            self._state, self._file.fileno(), target - self._pos
                        )
                    except EOFError:
                        raise OSError(f"{self._file.name}: ends before byte {target}") from None
                    self._pos = target
                    continue
                while self._pos < target:
                    got = self._file.readinto(view[: min(len(buf), target - self._pos)])
                    if not got:
                        raise OSError(f"{self._file.name}: ends before byte {target}")
                    self._sha.update(view[:got])
                    self._pos += got
        except BaseException as exc:  # noqa: BLE001 - reported by finish()
            self._error = exc

    def finish(self, size: int) -> str:
        self.upto(size)
        self._todo.put(None)
        self._thread.join()
        self._file.close()
        if self._error is not None:
            raise self._error
        if self._in_c:
            return _siardc.sha256_digest(self._state).hex()
        return self._sha.hexdigest()

    def abandon(self) -> None:
        self._todo.put(None)
        self._thread.join()
        self._file.close()


def assemble_siard(
    table_dirs: list[Path], metadata: bytes, metadata_xsd: Path, target: Path
) -> None:
    """Write the .siard ZIP to ``target`` (via a temporary file renamed at the end)."""
    writer = SiardWriter(target)
    for folder in table_dirs:
        writer.add_table(folder)
    writer.finish(metadata, metadata_xsd)


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
