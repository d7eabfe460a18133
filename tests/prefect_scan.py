"""What Prefect stored since a moment: every row of its database written since then (all
tables, every column as text, JSON included), files under its home and result storage changed
since then, and what its API hands back for those runs, logs and artifacts.

Scoped by time, not by the session: other tests share the one harness and some submit an
identity on purpose (to show it is refused), so a scan looks only at what its own test made.
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

#: Columns that say when a row was written, newest first.
_WRITTEN = ("updated", "created", "received", "occurred", "timestamp")


class Since:
    """A moment to scan from: ``Since()`` before the test acts, ``.stored()`` after it."""

    def __init__(self) -> None:
        time.sleep(0.01)
        self.at = datetime.now(UTC).replace(tzinfo=None)
        self.epoch = time.time()

    def database(self) -> Path:
        import prefect.settings as ps

        url = ps.PREFECT_SERVER_DATABASE_CONNECTION_URL.value() or ""
        assert "///" in url, "the harness database was not found"
        return Path(url.split("///", 1)[1])

    def rows(self) -> dict[str, bytes]:
        """Per table, every row written since the moment, all columns as text."""
        con = sqlite3.connect(self.database())
        stamp = self.at.strftime("%Y-%m-%d %H:%M:%S.%f")
        found: dict[str, bytes] = {}
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        for table in tables:
            columns = [r[1] for r in con.execute(f'pragma table_info("{table}")')]
            written = [c for c in _WRITTEN if c in columns]
            where = " or ".join(f'"{c}" >= ?' for c in written) or "1"
            rows = con.execute(f'select * from "{table}" where {where}',
                               [stamp] * len(written)).fetchall()  # fmt: skip
            found[f"db:{table}"] = "\n".join(
                "\t".join("" if v is None else v.decode("utf-8", "replace")
                          if isinstance(v, bytes) else str(v) for v in row)
                for row in rows
            ).encode("utf-8")  # fmt: skip
        con.close()
        return found

    def flows_run(self) -> set[str]:
        """The names of the flows that have runs created since the moment (a flow's own row
        is written once per session, by whichever test ran it first)."""
        con = sqlite3.connect(self.database())
        stamp = self.at.strftime("%Y-%m-%d %H:%M:%S.%f")
        names = {
            r[0]
            for r in con.execute(
                "select f.name from flow_run r join flow f on f.id = r.flow_id"
                " where r.created >= ?",
                [stamp],
            )
        }
        con.close()
        return names

    def files(self) -> dict[str, bytes]:
        roots = [Path(os.environ["PREFECT_HOME"]), Path(os.environ["PREFECT_LOCAL_STORAGE_PATH"])]
        return {
            str(p): p.read_bytes()
            for r in roots if r.exists() for p in r.rglob("*")
            if p.is_file() and p.stat().st_mtime >= self.epoch
        }  # fmt: skip

    def stored(self) -> dict[str, bytes]:
        """Everything written since the moment, after Prefect's log and event workers have
        sent what they hold."""
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        APILogWorker.drain_all()
        EventsWorker.drain_all()
        blobs = self.rows()
        blobs.update(self.files())
        return blobs
