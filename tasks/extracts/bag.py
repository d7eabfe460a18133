"""A streaming BagIt writer (RFC 8493, SHA-256), checked against bagit-python in the tests.

Payload files are hashed while they are written, so finishing a bag costs no second read of
its payload. The bag's *checksum* — the value a recipient names in a receipt — is the SHA-256 of
its ``tagmanifest-sha256.txt``: that file lists the checksums of the payload manifest and the
other tag files, so it pins every byte of the bag.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


class _HashingRaw(io.RawIOBase):
    """A raw binary file that updates a SHA-256 and a byte count with everything written."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "wb", buffering=0)  # noqa: SIM115 - closed in close()
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        n = self._f.write(b)
        self.sha.update(b)
        self.size += n
        return n

    def close(self) -> None:
        if not self.closed:
            self._f.close()
        super().close()


@dataclass(frozen=True)
class BagResult:
    """A finished bag: where it is, its checksum, its Payload-Oxum and payload files."""

    path: Path
    sha256: str  # SHA-256 of tagmanifest-sha256.txt
    payload_oxum: str
    files: int


#: Payload names this writer accepts: no "%", CR or LF, which RFC 8493 percent-encodes but
#: bagit-python (1.9) decodes only partly — such names would make bags other tools reject.
_SAFE_NAME = re.compile(r"^[^%\r\n/\\]+$")


def _check_name(name: str) -> None:
    if not _SAFE_NAME.match(name) or name in (".", ".."):
        raise ValueError(f"payload file name {name!r} is not allowed in a bag")


class BagWriter:
    """Write a bag file by file, then :meth:`finish` it (manifests, bag-info, tag manifest)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "data").mkdir(parents=True, exist_ok=True)
        self._open: dict[str, tuple[IO[Any], _HashingRaw]] = {}
        self._done: dict[str, tuple[str, int]] = {}  # "data/x" -> (sha256, size)

    def open_text(self, name: str) -> IO[str]:
        """A UTF-8 text stream for the payload file ``data/<name>`` (hashed as it is written)."""
        _check_name(name)
        rel = f"data/{name}"
        raw = _HashingRaw(self.root / rel)
        stream = io.TextIOWrapper(io.BufferedWriter(raw, 1 << 16), encoding="utf-8", newline="")
        self._open[rel] = (stream, raw)
        return stream

    def open_binary(self, name: str) -> IO[bytes]:
        """A binary stream for the payload file ``data/<name>`` (UTF-8 bytes; hashed as it is
        written)."""
        _check_name(name)
        rel = f"data/{name}"
        raw = _HashingRaw(self.root / rel)
        stream = io.BufferedWriter(raw, 1 << 16)
        self._open[rel] = (stream, raw)
        return stream

    def discard(self, name: str) -> None:
        """Close and remove the payload file ``data/<name>`` (it is written again later)."""
        rel = f"data/{name}"
        stream, _ = self._open.pop(rel)
        stream.close()
        (self.root / rel).unlink()

    def close_file(self, name: str) -> None:
        rel = f"data/{name}"
        stream, raw = self._open.pop(rel)
        stream.close()
        self._done[rel] = (raw.sha.hexdigest(), raw.size)

    def add_text(self, name: str, text: str) -> None:
        stream = self.open_text(name)
        stream.write(text)
        self.close_file(name)

    def finish(self, info: dict[str, str], *, bagging_date: date) -> BagResult:
        """Close open files and write bagit.txt, bag-info.txt and both manifests."""
        for rel in list(self._open):
            self.close_file(rel.removeprefix("data/"))
        octets = sum(size for _, size in self._done.values())
        oxum = f"{octets}.{len(self._done)}"
        manifest = "".join(
            f"{sha}  {rel}\n" for rel, (sha, _) in sorted(self._done.items())
        )
        lines = [f"{k}: {v}" for k, v in info.items()]
        lines += [f"Bagging-Date: {bagging_date.isoformat()}", f"Payload-Oxum: {oxum}"]
        tag_files = {
            "bagit.txt": BAGIT_TXT,
            "bag-info.txt": "\n".join(lines) + "\n",
            "manifest-sha256.txt": manifest,
        }
        tagmanifest = ""
        for name, text in tag_files.items():
            data = text.encode("utf-8")
            _write_atomic(self.root / name, data)
            tagmanifest += f"{hashlib.sha256(data).hexdigest()}  {name}\n"
        data = tagmanifest.encode("utf-8")
        _write_atomic(self.root / "tagmanifest-sha256.txt", data)
        return BagResult(self.root, hashlib.sha256(data).hexdigest(), oxum, len(self._done))


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def bag_checksum(bag: Path) -> str:
    """The bag's checksum as receipts name it: SHA-256 of its tagmanifest-sha256.txt."""
    return hashlib.sha256((bag / "tagmanifest-sha256.txt").read_bytes()).hexdigest()
