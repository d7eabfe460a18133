"""Benchmark: all organisations' bags against one archive run, and one person's extract from
the archive package (through the person index, and by a plain scan).

    /work/venv/bin/python benchmarks/extracts_bench.py --scales 1000000,5000000

For each scale: a synthetic SAMSA database (SQLite by default, ``--pg ADMIN_URL`` for
PostgreSQL; made once and reused from ``--work``), one archive run (``archive_database``, which
also writes the person index), all organisations' bags from the live database and from the
archive package; then persons' extracts from the archive package. Prints a markdown table with
the ratio to the archive run (target: bags ≤ 1.5×) and the lookup times (target: < 1 s).
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.identity import parse_identity  # noqa: E402
from tasks.archive.run import archive_database  # noqa: E402
from tasks.extracts.orgs import write_org_bags  # noqa: E402
from tasks.extracts.person import LivePersonLookup, build_person_extract  # noqa: E402
from tasks.extracts.person_index.archive_lookup import ArchivePersonLookup  # noqa: E402
from tasks.extracts.person_index.build import build_person_index  # noqa: E402
from tasks.extracts.person_index.scan_lookup import ScanPersonLookup  # noqa: E402
from tasks.extracts.source import LiveSource, open_source  # noqa: E402
from tasks.synthetic import generate  # noqa: E402


def _timed(fn, *a, **kw):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*a, **kw)
    return out, time.perf_counter() - t0


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


def bench(scale: int, work: Path, pg: str | None, persons: int) -> list[tuple[str, str, str]]:
    url = _database(work, scale, pg)
    rows: list[tuple[str, str, str]] = []
    shutil.rmtree(work / "packages", ignore_errors=True)
    outcome, t_archive = _timed(archive_database, url, work / "packages")
    total = outcome.total_rows
    rows.append((f"{total:,} rows: archive run (SIARD + E-ARK + person index)",
                 f"{t_archive:.1f} s", "1.00×"))  # fmt: skip
    index_dir = work / "index-only"
    siard = next(outcome.package.rglob("*.siard"))
    _, t_index = _timed(build_person_index, siard, url, index_dir)
    rows.append(("  of which the person index", f"{t_index:.1f} s",
                 f"{t_index / t_archive:.2f}×"))  # fmt: skip
    for label, src_url, pkg in (("live database", url, None), ("archive package", None,
                                                               outcome.package)):  # fmt: skip
        out = work / f"bags-{label.split()[0]}"
        shutil.rmtree(out, ignore_errors=True)
        source = open_source(src_url, pkg)
        bags, t = _timed(write_org_bags, source, out, bagging_date=date(2027, 1, 4))
        source.close()
        n = sum(b.records for b in bags)
        rows.append((f"all {len(bags)} organisations' bags from the {label} ({n:,} records)",
                     f"{t:.1f} s", f"{t / t_archive:.2f}×"))  # fmt: skip
        shutil.rmtree(out, ignore_errors=True)

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
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    print("| scale | step | time | ratio |\n|---|---|---|---|")
    for scale in (int(s) for s in args.scales.split(",")):
        for step, t, ratio in bench(scale, args.work, args.pg, args.persons):
            print(f"| {scale:,} | {step} | {t} | {ratio} |", flush=True)
    _ = sqlite3  # the person index is SQLite


if __name__ == "__main__":
    main()
