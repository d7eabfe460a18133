"""The COPY stream of a table, in batches of about a MB, for the C converter.

Two ways to read it, the same rows either way: through ``psql`` (PostgreSQL's own client, in
another process, sharing this transaction's snapshot; the per-row protocol work then runs in
C) when it is on the PATH and the transaction is REPEATABLE READ or stricter, else through
psycopg. ``SAMSA_DECOM_ARCHIVE_PSQL=0`` turns psql off; a psql that fails raises
:class:`PsqlFailed` and the caller reads the table again through psycopg.
"""

from __future__ import annotations

import fcntl
import functools
import glob
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from typing import Any

from psycopg.conninfo import make_conninfo

BATCH_BYTES = 1 << 20  # write to the file about every MB

#: what the converter expects the server to send (set for the snapshot's transaction only)
SESSION = (
    "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; "
    "SET LOCAL bytea_output = 'hex'; SET LOCAL client_encoding = 'UTF8'"
)


_PSQL_KEYWORDS = {
    "host", "hostaddr", "port", "dbname", "user", "passfile", "service", "connect_timeout",
    "options", "sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "gssencmode",
    "krbsrvname", "target_session_attrs", "keepalives", "keepalives_idle",
}  # fmt: skip


def psql_program() -> str | None:
    """The ``psql`` to start, or None when there is none on the PATH.

    On Debian and Ubuntu ``psql`` on the PATH is postgresql-common's ``pg_wrapper``, a Perl
    script that picks a client version on every start (about 20 ms of a psql start's 28 ms
    here). For a server given by host, as here, it picks the newest installed client; that
    client is started directly. Elsewhere the ``psql`` on the PATH is used as it is."""
    return _psql_on(os.environ.get("PATH", os.defpath))


@functools.cache
def _psql_on(path: str) -> str | None:
    found = shutil.which("psql", path=path)
    if found is None or os.path.basename(os.path.realpath(found)) != "pg_wrapper":
        return found
    clients = glob.glob("/usr/lib/postgresql/*/bin/psql")

    def major(path: str) -> tuple[int, ...]:
        m = re.search(r"/postgresql/([0-9.]+)/bin/", path)
        return tuple(int(x) for x in m.group(1).split(".") if x) if m else (0,)

    return max(clients, key=major) if clients else found


class PsqlFailed(Exception):
    """psql could not deliver the COPY stream: the table is read through psycopg instead."""


def batches_psycopg(raw: Any, sql: str) -> Iterator[list[Any]]:
    """COPY through psycopg: one message a row, gathered into batches of about a MB."""
    with raw.cursor() as cur:
        cur.execute(SESSION)
        with cur.copy(sql) as copy:
            batch: list[Any] = []
            size = 0
            for block in copy:
                batch.append(block)
                size += len(block)
                if size >= BATCH_BYTES:
                    yield batch
                    batch, size = [], 0
            if batch:
                yield batch


#: below this many rows (the catalogue's count) a table is read through psycopg: starting psql
#: and its connection costs about 25 ms, psycopg about a microsecond a row
PSQL_MIN_ROWS = 20_000


def psql_min_rows() -> int:
    """:data:`PSQL_MIN_ROWS`, or ``SAMSA_DECOM_ARCHIVE_PSQL_MIN_ROWS`` (0: psql for every
    table; the tests use it to read small tables through psql)."""
    raw = os.environ.get("SAMSA_DECOM_ARCHIVE_PSQL_MIN_ROWS", "")
    return int(raw) if raw.isdigit() else PSQL_MIN_ROWS


def psql_available(raw: Any, rows: int | None = None) -> bool:
    """psql can share this transaction's snapshot: it is on the PATH, not switched off
    (``SAMSA_DECOM_ARCHIVE_PSQL=0``), and the transaction is REPEATABLE READ or stricter; and
    it is worth starting: the table has ``rows`` (when known) of at least :func:`psql_min_rows`."""
    if rows is not None and rows < psql_min_rows():
        return False
    if os.environ.get("SAMSA_DECOM_ARCHIVE_PSQL", "1") == "0" or not psql_program():
        return False
    with raw.cursor() as cur:
        level = cur.execute("SHOW transaction_isolation").fetchone()[0]
    return str(level) in ("repeatable read", "serializable")


def _in_snapshot(
    raw: Any, statements: list[str], *options: str
) -> tuple[list[str], dict[str, str]]:
    """The psql command (and its environment) that runs ``statements`` in this transaction's
    snapshot (``pg_export_snapshot``), so it sees exactly the same data."""
    with raw.cursor() as cur:
        snapshot = cur.execute("SELECT pg_export_snapshot()").fetchone()[0]
    env = {**os.environ, "PGAPPNAME": "samsa-decom archive"}
    if raw.info.password:
        env["PGPASSWORD"] = raw.info.password  # not on the command line
    # only long-known keywords: the psql here may be older than psycopg's own libpq
    params = {k: v for k, v in raw.info.get_parameters().items() if k in _PSQL_KEYWORDS}
    cmd = [
        psql_program() or "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", *options,
        "-d", make_conninfo(**params),
        "-c", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        "-c", f"SET TRANSACTION SNAPSHOT '{snapshot}'",
    ]  # fmt: skip
    for statement in [*statements, "COMMIT"]:
        cmd += ["-c", statement]
    return cmd, env


class CountsInBackground:
    """The rows of ``tables`` (quoted names) counted in this transaction's snapshot by a psql of
    their own, while the caller goes on: the catalogue reflects the tables meanwhile (at 2 M
    rows the counts took 0.3 s of the server, one after the other on the archive's connection).
    Start it while the transaction is open; :meth:`result` or :meth:`cancel` before it ends."""

    def __init__(self, raw: Any, tables: list[str]) -> None:
        self.tables = tables
        cmd, env = _in_snapshot(raw, [f"SELECT count(*) FROM {t}" for t in tables], "-A", "-t")
        self._proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, text=True
        )

    def result(self) -> list[int] | None:
        """The counts in the order of ``tables`` (waits for them), or None when psql could not
        give them all (then count on the connection itself)."""
        out, _ = self._proc.communicate()
        lines = out.split()
        if self._proc.returncode != 0 or len(lines) != len(self.tables):
            return None
        return [int(x) for x in lines] if all(x.isdigit() for x in lines) else None

    def cancel(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.communicate()


def batches_psql(raw: Any, sql: str) -> Iterator[list[Any]]:
    """COPY through PostgreSQL's own client: ``psql`` imports this transaction's snapshot
    (``pg_export_snapshot``), so it sees exactly the same data, and writes the rows to a pipe
    that is read a MB at a time: the per-row protocol work runs in C, in another process."""
    cmd, env = _in_snapshot(raw, [SESSION, sql])
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env, bufsize=0)
        assert proc.stdout is not None
        stdout: Any = proc.stdout  # unbuffered (bufsize=0): a FileIO, which has readinto
        try:
            fcntl.fcntl(proc.stdout.fileno(), 1031, BATCH_BYTES)  # F_SETPIPE_SZ: fewer reads
        except OSError:
            pass
        carry = b""
        try:
            while True:
                # each batch in a buffer of its own (the converter may still hold the last
                # ones), read into after the carried part line: no copy of the batch in Python
                data = bytearray(len(carry) + BATCH_BYTES)
                data[: len(carry)] = carry
                got = stdout.readinto(memoryview(data)[len(carry) :])
                if not got:
                    break
                end = len(carry) + got
                cut = data.rfind(b"\n", 0, end) + 1
                if cut:
                    yield [memoryview(data)[:cut]]
                carry = bytes(data[cut:end])
        finally:
            proc.stdout.close()
            code = proc.wait()
        if code != 0 or carry:
            err.seek(0)
            message = err.read().decode("utf-8", "replace").strip().splitlines()
            raise PsqlFailed(f"psql exited with {code}: {message[-1] if message else ''}")
