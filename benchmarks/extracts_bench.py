"""Benchmark: all organisations' bags against one archive run, and one person's extract from
the archive package (through the person index, and by a plain scan).

    python benchmarks/extracts_bench.py --scales 2000000,5000000 \
        --pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres [--bags-only]

For each scale: a synthetic SAMSA database (SQLite by default, ``--pg ADMIN_URL`` for
PostgreSQL; made once as ``samsa_extracts_bench_<scale>`` and reused), one archive run
(``archive_database`` with the composition root's ``PACKAGE_EXTRAS``, so with the person index,
as ``samsa-decom archive`` runs it), all organisations' bags from the live database and from the
archive package; then persons' extracts from the archive package. Prints a markdown table with
the ratio to the archive run (target: bags ≤ 1.5×) and the lookup times (target: < 1 s).
``--bags-only`` stops after the bags from the live database.

The bags from the live database are written in a child process, which reports its own time
(after its imports) and its peak memory (resident set), so memory can be compared between
scales. Throwaway audit and person-index keys are set unless the environment has them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _timed(fn, *a, **kw):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t0


def _bags_child(url: str, out: Path) -> None:
    """Child process: all bags from the live database; prints seconds, counts, peak RSS (only
    what the bags need is imported)."""
    from tasks.extracts.orgs import write_org_bags
    from tasks.extracts.source import open_source

    source = open_source(url, None)
    bags, t = _timed(write_org_bags, source, out, bagging_date=date(2027, 1, 4))
    source.close()
    # VmHWM, not ru_maxrss: the latter keeps the parent's peak across fork + exec
    status = Path("/proc/self/status").read_text()
    peak = int(status.split("VmHWM:")[1].split()[0]) // 1024
    print(json.dumps({"seconds": t, "bags": len(bags), "records": sum(b.records for b in bags),
                      "peak_mb": peak}))  # fmt: skip


if __name__ == "__main__" and sys.argv[1:2] == ["--bags-child"]:
    _bags_child(sys.argv[2], Path(sys.argv[3]))
    sys.exit(0)

os.environ.setdefault("SAMSA_DECOM_AUDIT_KEY", uuid.uuid4().hex * 2)  # throwaway keys
os.environ.setdefault("SAMSA_DECOM_PERSON_INDEX_KEY", uuid.uuid4().hex * 2)

from flows.wiring import PACKAGE_EXTRAS  # noqa: E402
from models.identity import parse_identity  # noqa: E402
from tasks.archive.run import archive_database  # noqa: E402
from tasks.extracts.orgs import write_org_bags  # noqa: E402
from tasks.extracts.person import LivePersonLookup, build_person_extract  # noqa: E402
from tasks.extracts.person_index.archive_lookup import ArchivePersonLookup  # noqa: E402
from tasks.extracts.person_index.build import build_person_index  # noqa: E402
from tasks.extracts.person_index.scan_lookup import ScanPersonLookup  # noqa: E402
from tasks.extracts.source import LiveSource, open_source  # noqa: E402
from tasks.synthetic import generate  # noqa: E402


def _database(work: Path, scale: int, pg: str | None) -> str:
    if pg:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        name = f"samsa_extracts_bench_{scale}"
        admin = create_engine(pg, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            exists = c.execute(text("select 1 from pg_database where datname=:n"), {"n": name})
            fresh = exists.scalar() is None
            if fresh:
                c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(pg).set(database=name).render_as_string(hide_password=False)
        if fresh:
            generate(url, scale=scale, seed=1)
        return url
    path = work / f"samsa-{scale}.sqlite"
    if not path.exists():
        generate(f"sqlite:///{path}", scale=scale, seed=1)
    return f"sqlite:///{path}"


def _sample_identities(url: str, n: int) -> list[str]:
    src = LiveSource(url)
    from sqlalchemy import text

    with src.engine.connect() as c:
        total = c.execute(text("select max(id) from person")).scalar() or 1
        step = max(1, total // n)
        ids = c.execute(
            text("select identity from person where id % :s = 1 order by id limit :n"),
            {"s": step, "n": n},
        ).scalars().all()
    src.close()
    return list(ids)


#: folders of bags written by this run, deleted at its end, not between its steps: ext4 skips
#: every inode deleted in the last 5 minutes (while its inode table block is unwritten) each
#: time it makes a file, so the thousands of files of one scale's bags, deleted just before the
#: next scale's are written, cost that run about 1.4 s at 2 M rows (7.8 s against 6.3 s)
_WRITTEN: list[Path] = []
#: how long after deleting bags the next bags are measured (seen here on 2026-11-30: the 2 M-row
#: bags took 3.4 s on a quiet disk, 5.0-5.8 s from right after deleting 3,000 files to 36 s
#: after, even with a sync between)
SETTLE_SECONDS = 300
_DELETED_AT = ".bags-deleted-at"


def _delete_bags(work: Path, folders: list[Path]) -> None:
    """Delete folders of bags and note when, so that the next run waits (:func:`_settle`)."""
    gone = [f for f in folders if f.exists()]
    for f in gone:
        shutil.rmtree(f, ignore_errors=True)
    if gone:
        os.sync()
        (work / _DELETED_AT).write_text(f"{time.time():.0f}\n")


def _settle(work: Path) -> None:
    """Wait until the last deletion of bags is SETTLE_SECONDS old (said on stderr)."""
    try:
        deleted_at = float((work / _DELETED_AT).read_text())
    except (OSError, ValueError):
        return
    wait = deleted_at + SETTLE_SECONDS - time.time()
    if wait > 0:
        print(f"waiting {wait:.0f} s: bags were deleted {SETTLE_SECONDS - wait:.0f} s ago, and "
              "ext4 makes files slowly for a while after a deletion", file=sys.stderr, flush=True)
        time.sleep(wait)


def _live_bags(url: str, out: Path) -> dict:  # type: ignore[type-arg]
    _delete_bags(out.parent, [out])
    _settle(out.parent)
    os.sync()  # no writes of the steps before pending
    child = subprocess.run(
        [sys.executable, __file__, "--bags-child", url, str(out)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    _WRITTEN.append(out)
    return json.loads(child.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def bench(
    scale: int, work: Path, pg: str | None, persons: int, bags_only: bool = False
) -> list[tuple[str, str, str]]:
    url = _database(work, scale, pg)
    rows: list[tuple[str, str, str]] = []
    shutil.rmtree(work / "packages", ignore_errors=True)
    os.sync()
    outcome, t_archive = _timed(archive_database, url, work / "packages", extras=PACKAGE_EXTRAS)
    total = outcome.total_rows
    rows.append((f"{total:,} rows: archive run (SIARD + E-ARK + person index)",
                 f"{t_archive:.1f} s", "1.00×"))  # fmt: skip
    lb = _live_bags(url, work / f"bags-live-{scale}")
    rows.append((f"all {lb['bags']} organisations' bags from the live database "
                 f"({lb['records']:,} records; peak memory {lb['peak_mb']} MB)",
                 f"{lb['seconds']:.1f} s", f"**{lb['seconds'] / t_archive:.2f}×**"))  # fmt: skip
    if bags_only:
        return rows
    index_dir = work / "index-only"
    siard = next(outcome.package.rglob("*.siard"))
    _, t_index = _timed(build_person_index, siard, url, index_dir)
    rows.append(("  the person index alone, from the finished package", f"{t_index:.1f} s",
                 f"{t_index / t_archive:.2f}×"))  # fmt: skip
    out = work / f"bags-archive-{scale}"
    source = open_source(None, outcome.package)
    bags, t = _timed(write_org_bags, source, out, bagging_date=date(2027, 1, 4))
    _WRITTEN.append(out)
    source.close()
    n = sum(b.records for b in bags)
    rows.append((f"all {len(bags)} organisations' bags from the archive package ({n:,} records)",
                 f"{t:.1f} s", f"{t / t_archive:.2f}×"))  # fmt: skip

    sample = _sample_identities(url, persons)
    look, t_open = _timed(ArchivePersonLookup, outcome.package)
    times = []
    for identity in sample:
        _, t = _timed(build_person_extract, look, parse_identity(identity), request_id="b",
                      produced_on=date(2027, 1, 4))  # fmt: skip
        times.append(t)
    look.close()
    rows.append((f"one person's extract from the archive, indexed (open {t_open * 1000:.0f} ms; "
                 f"median of {len(times)})", f"{statistics.median(times) * 1000:.1f} ms",
                 f"max {max(times) * 1000:.1f} ms"))  # fmt: skip
    first, t_first = _timed(_cold, outcome.package, sample[0])
    rows.append(("  …cold: open package + index + extract, one person", f"{t_first * 1000:.0f} ms",
                 ""))  # fmt: skip
    live = LivePersonLookup(LiveSource(url))
    lt = [_timed(build_person_extract, live, parse_identity(i), request_id="b",
                 produced_on=date(2027, 1, 4))[1] for i in sample]  # fmt: skip
    rows.append(("one person's extract from the live database (median)",
                 f"{statistics.median(lt) * 1000:.1f} ms", ""))  # fmt: skip
    scan = ScanPersonLookup(outcome.package)
    _, t_scan = _timed(build_person_extract, scan, parse_identity(sample[0]), request_id="b",
                       produced_on=date(2027, 1, 4))  # fmt: skip
    scan.close()
    rows.append(("one person's extract from the archive, plain scan", f"{t_scan:.1f} s",
                 f"{t_scan / statistics.median(times):,.0f}× the indexed"))  # fmt: skip
    index = outcome.package / "metadata" / "other" / "person-index.sqlite"
    rows.append(("person index size / .siard size",
                 f"{index.stat().st_size / 1e6:.0f} MB / {siard.stat().st_size / 1e6:.0f} MB", ""))
    return rows


def _cold(package: Path, identity: str) -> dict:  # type: ignore[type-arg]
    look = ArchivePersonLookup(package)
    try:
        return build_person_extract(look, parse_identity(identity), request_id="b",
                                    produced_on=date(2027, 1, 4))  # fmt: skip
    finally:
        look.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", default="1000000,5000000")
    ap.add_argument("--work", type=Path, default=Path("/tmp/samsa-extracts-bench"))
    ap.add_argument("--pg", default=None, help="PostgreSQL admin URL (default: SQLite)")
    ap.add_argument("--persons", type=int, default=50, help="persons to look up")
    ap.add_argument("--bags-only", action="store_true", help="archive run and live bags only")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    _delete_bags(args.work, sorted(args.work.glob("bags-*")))  # an interrupted run's
    print("| scale | step | time | ratio |\n|---|---|---|---|")
    try:
        for scale in (int(s) for s in args.scales.split(",")):
            for step, t, ratio in bench(scale, args.work, args.pg, args.persons, args.bags_only):
                print(f"| {scale:,} | {step} | {t} | {ratio} |", flush=True)
    finally:
        _delete_bags(args.work, _WRITTEN)
    _ = sqlite3  # the person index is SQLite


if __name__ == "__main__":
    main()
