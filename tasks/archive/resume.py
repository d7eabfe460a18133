"""Resuming an interrupted archive run: the work folder and what of it is kept.

Work happens in ``<out>/.samsa-archive-work/<source-key>/`` (:func:`work_folder`):

- ``manifest.json``: the source's table structure and the archival date. A run finding one
  with the same structure goes on from it (with its archival date); another structure, or a
  manifest cut short by a power loss, starts the work over (:func:`start_or_resume_work`).
- ``tables/<table>/``: each finished table, a folder renamed into place atomically with its
  row count and digest (:class:`~tasks.archive.writer.TableResult`). A finished table is not
  written again; the run re-digests it in its own snapshot to detect a changed source.
- ``archive.siard`` + ``siard-state.json``: the .siard grows table by table, and the state
  file records which tables it holds and where (:class:`SiardInProgress`). It is kept only if
  it holds exactly the first tables this run would write, each still finished; otherwise it is
  started anew, and a finished table whose XML already went into the dropped .siard is written
  again.

A run killed at any moment (even ``kill -9``) and started again skips what is finished and
redoes the rest. The work folder is removed when the package is complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from models import clock
from models.errors import InputError
from tasks.archive.container import SiardWriter, TableEntry
from tasks.archive.digest import ALGORITHM
from tasks.archive.durable import write_json_durably
from tasks.archive.schema import TableSpec
from tasks.archive.writer import TableResult

log = logging.getLogger(__name__)

WORK_DIR_NAME = ".samsa-archive-work"


def source_key(url: str) -> str:
    """A stable, password-free key for a source URL (names the work folder)."""
    shown = make_url(url).render_as_string(hide_password=True)
    return hashlib.sha256(shown.encode()).hexdigest()[:16]


def work_folder(out_dir: Path, source_url: str) -> Path:
    """Where the runs for this source into ``out_dir`` keep their work."""
    return out_dir / WORK_DIR_NAME / source_key(source_url)


def remove_work(out_dir: Path, work: Path) -> None:
    """Delete the finished run's work folder (and the work root, if nothing else is in it)."""
    shutil.rmtree(work, ignore_errors=True)
    try:
        (out_dir / WORK_DIR_NAME).rmdir()
    except OSError:
        pass


def start_or_resume_work(work: Path, specs: list[TableSpec], archival_date: date | None) -> date:
    """The work folder's archival date (``archival_date``, today for a new run); bad input
    when an interrupted run with the same structure used another date than the one given."""
    archival = _load_or_start_work(
        work, [s.to_json() for s in specs], archival_date or clock.today()
    )
    if archival_date and archival != archival_date:
        raise InputError(
            f"an interrupted run for this source used archival date {archival}; resume "
            f"with that date or delete {work}"
        )
    return archival


def _load_or_start_work(work: Path, specs_json: list[dict[str, Any]], archival: date) -> date:
    """The work folder's manifest; starts over when the source's structure changed."""
    manifest = work / "manifest.json"
    specs_json = json.loads(json.dumps(specs_json))  # tuples → lists, as stored
    if work.exists():
        data = _read_json(manifest)  # None: absent, empty or cut short (a power loss)
        if data is not None and data.get("tables") == specs_json:
            try:
                return date.fromisoformat(data["archival_date"])
            except (KeyError, TypeError, ValueError):
                pass
        if data is None:
            log.warning("the interrupted run's manifest is missing or unreadable; starting over")
        else:
            log.warning("source structure changed since the interrupted run; starting over")
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    (work / "tables").mkdir(exist_ok=True)
    write_json_durably(
        work / "manifest.json",
        {"tables": specs_json, "archival_date": archival.isoformat(), "digest": ALGORITHM},
    )
    return archival


@dataclass
class SiardInProgress:
    """The .siard being written table by table, and where it holds each table's entries
    (work folder → entry name → [offset, size]), kept in ``siard-state.json``."""

    writer: SiardWriter
    tables: dict[str, dict[str, list[int]]]
    state_file: Path
    _streamed: dict[str, TableEntry] = field(default_factory=dict)  # begun, not yet added

    @classmethod
    def open(cls, work: Path, specs: list[TableSpec]) -> SiardInProgress:
        """The interrupted run's .siard if it holds the first tables this run writes (each
        still finished), else a new one; finished tables whose XML is gone are forgotten."""
        state_file = work / "siard-state.json"
        earlier = _read_json(state_file)
        writer = SiardWriter(work / "archive.siard", resume=earlier)
        in_siard: dict[str, dict[str, list[int]]] = (
            dict(earlier.get("tables", {})) if writer.resumed and earlier else {}
        )
        order = [s.work_folder for s in specs]
        # the state file's keys are sorted (table10 before table2): put them in the
        # order the tables are written before asking whether they are its beginning
        in_siard = {f: in_siard[f] for f in order if f in in_siard} | {
            f: v for f, v in in_siard.items() if f not in order
        }
        if list(in_siard) != order[: len(in_siard)] or not all(
            TableResult.load_if_complete(work / "tables" / f) is not None for f in in_siard
        ):  # not what this run would have written first: start the .siard anew
            writer.abandon()
            writer = SiardWriter(work / "archive.siard")
            in_siard = {}
        _forget_tables_without_xml(work / "tables", in_siard)
        return cls(writer, in_siard, state_file)

    def begin_table(self, spec: TableSpec) -> TableEntry:
        """Start ``spec``'s table file straight in the .siard (its writer then finishes the
        entry, and :meth:`add` adds the rest of the table folder)."""
        entry = self.writer.begin_table(spec.schema_folder, spec.folder)
        self._streamed[spec.work_folder] = entry
        return entry

    def add(self, spec: TableSpec, dest: Path) -> dict[str, tuple[int, int]]:
        """Where the .siard holds the finished table in ``dest`` (entry → (offset, size)):
        added now, its XML then deleted from ``dest``, unless the kept .siard holds it.
        A table file begun with :meth:`begin_table` is already in (unless its writer cancelled
        it and wrote the file into ``dest`` instead)."""
        if spec.work_folder in self.tables:  # already in the .siard kept from that run
            return {k: (v[0], v[1]) for k, v in self.tables[spec.work_folder].items()}
        entry = self._streamed.pop(spec.work_folder, None)
        streamed = entry.finished if entry is not None else None
        spans = self.writer.add_table(dest, spec.schema_folder, spec.folder, streamed)
        self.tables[spec.work_folder] = {k: [o, n] for k, (o, n) in spans.items()}
        state = {**self.writer.state(), "tables": self.tables}
        write_json_durably(self.state_file, state, wait=False)  # a power loss: done again
        (dest / f"{spec.folder}.xml").unlink(missing_ok=True)  # now in the .siard
        return spans


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _forget_tables_without_xml(tables: Path, in_siard: dict[str, Any]) -> None:
    """A finished table whose XML went into a .siard that is not kept is written again."""
    if not tables.is_dir():
        return
    for folder in tables.iterdir():
        done = TableResult.load_if_complete(folder) is not None
        if done and folder.name not in in_siard and not (folder / f"{folder.name}.xml").exists():
            shutil.rmtree(folder)
