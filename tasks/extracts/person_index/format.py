"""The person index file's layout: names, format versions, the key and keyed hashes.

Shared by the builder (:mod:`tasks.extracts.person_index.build`) and the reader
(:mod:`tasks.extracts.person_index.archive_lookup`): the SQLite schema, how ``row_loc.places``
packs (person id, count) and (offset, length) little-endian, the order keys are stored in
(integers before text, as SQLite sorts), and the keyed hash under which a person is found.

The key: ``HMAC-SHA256(package key, identity)``, where the package key is
``HMAC-SHA256(index key, package salt)``. The **index key** is a secret kept outside every
package (``SAMSA_DECOM_PERSON_INDEX_KEY``); the package records only its id
(:func:`key_id`), never the key nor the salt. A salt alone would not do: with about 7×10⁷
possible identities and some 400,000 HMACs a second per core, every identity in a salted index
is recovered in minutes by whoever holds the package. The package salt (SHA-256 over the
.siard's entries, :func:`package_salt`) makes each package's hashes differ while the same
content under the same key still gives the same index byte for byte. Format 2 (salt stored in
``meta``) and 1 are still read. See the package's docstring for the whole format.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from models.errors import InputError

try:
    from tasks.archive import _siardc
except ImportError:  # built by pip install where a C compiler is present
    _siardc = None  # type: ignore[assignment]

INDEX_NAME = "person-index.sqlite"
FORMAT = "samsa-person-index/3"
FORMAT_SALT_IN_PACKAGE = "samsa-person-index/2"  # packages made before: still read
FORMAT_ONE_ROW_PER_RECORD = "samsa-person-index/1"  # packages made before: still read
PACKED_KEY = struct.Struct("<qI")  # a person id and how many places follow
PACKED_PLACE = struct.Struct("<QI")  # offset, length
PERSON_TABLE = "person"
LOOKUP_TABLES = ("organisation", "user_account")

SCHEMA = """
    PRAGMA page_size=65536; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE tables(code INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL);
    CREATE TABLE person_key(hkey BLOB NOT NULL, person_id, "offset" INTEGER, length INTEGER);
    CREATE TABLE row_loc(tbl INTEGER, seg INTEGER, first_id, last_id, places BLOB NOT NULL);
    CREATE TABLE lookup(tbl INTEGER, id, "offset" INTEGER, length INTEGER,
                        PRIMARY KEY (tbl, id)) WITHOUT ROWID;
"""


def package_salt(siard: Path) -> bytes:
    """This package's salt: SHA-256 over every entry's name, size and CRC-32 in the .siard.

    It differs from package to package (the content differs) yet is the same for the same
    content, so archiving the same source twice still gives the same package byte for byte.
    """
    h = hashlib.sha256(FORMAT.encode())
    with zipfile.ZipFile(siard) as zf:
        for zi in zf.infolist():
            h.update(f"{zi.filename}\0{zi.file_size}\0{zi.CRC}\n".encode())
    return h.digest()


def identity_key(key: bytes, identity: str) -> bytes:
    """The keyed hash under which an identity is found in the index (``key``: the package key,
    or the stored salt of a format-2 index). The C module's HMAC where it is built (the same
    bytes; hmac.digest costs about 3 µs a call, and the index keys every person)."""
    if _siardc is not None:
        return _siardc.hmac_sha256(key, identity.encode("ascii"))
    return hmac.digest(key, identity.encode("ascii"), "sha256")


def package_key(index_key: bytes, siard: Path) -> bytes:
    """The key of one package's person hashes: the index key applied to the package's salt."""
    return hmac.digest(index_key, package_salt(siard), "sha256")


def key_id(index_key: bytes) -> str:
    """The index key's id, recorded in the package: 16 hex digits of a hash of the key, enough
    to tell which key a package needs and whether the configured one is it."""
    return hashlib.sha256(b"samsa-person-index key id\0" + index_key).hexdigest()[:16]


def configured_key() -> bytes | None:
    """The index key from settings (``SAMSA_DECOM_PERSON_INDEX_KEY``), or None."""
    from models.settings import get_settings

    secret = get_settings().person_index_key
    return secret.get_secret_value().encode("utf-8") if secret is not None else None


def key_order(key: Any) -> tuple[int, Any]:
    """Keys in SQLite's order: integers before text."""
    return (0, key) if isinstance(key, int) else (1, str(key))


def unpack_places(places: bytes) -> Iterator[tuple[int, int, int]]:
    """``(person id, offset, length)`` of a ``row_loc.places`` value."""
    at = 0
    while at < len(places):
        key, count = PACKED_KEY.unpack_from(places, at)
        at += PACKED_KEY.size
        for _ in range(count):
            offset, length = PACKED_PLACE.unpack_from(places, at)
            at += PACKED_PLACE.size
            yield key, offset, length


def find_index(package: Path, siard: Path) -> Path:
    """The person index of a package: ``metadata/other/person-index.sqlite`` of the package
    root (or beside the .siard)."""
    candidates = [siard.parent / INDEX_NAME]
    if package.is_dir():
        candidates.insert(0, package / "metadata" / "other" / INDEX_NAME)
    candidates += [p / "metadata" / "other" / INDEX_NAME for p in siard.parents]
    for c in candidates:
        if c.exists():
            return c
    raise InputError(
        f"{package}: no person index ({INDEX_NAME}); it is written when the package is archived"
    )
