# ruff: noqa: E501  (the printed table rows read better unwrapped)
"""Benchmark: archiving the synthetic SAMSA database on PostgreSQL beside ``pg_dump --data-only``.

For each size it creates a fresh database, fills it with ``demo-data``, then runs in child
processes (so time and peak memory are measured per process, with ``wait4``):

1. ``pg_dump --data-only`` of that database (the practical limit for getting the rows out);
2. ``samsa-decom archive`` (snapshot → SIARD 2.2 → re-read verification → E-ARK SIP);
3. ``samsa-decom verify`` (the later check of a package: SHA-256 of every file against METS);
4. ``samsa-decom verify --deep`` (that, plus the full re-read and digest comparison again);
5. keyed person lookups in the package's person index (the archive runs with a throwaway
   ``SAMSA_DECOM_PERSON_INDEX_KEY``): for ``--persons`` persons drawn from the source, the
   person's own row (``person_rows``, by the keyed hash) and the whole registerutdrag
   (``build_person_extract``: every table's rows about the person, in memory), in a child
   process with the index opened once; the slowest lookup's CPU time is shown beside its wall
   time (on a shared machine a lookup can wait for a core). No identity is printed.

"archive + verify" is 2 + 3: making a verified package and checking it; 2 + 4 is shown too.
Each step starts after ``os.sync()``, so one step's pending writes do not slow the next.
Steps 1-3 run ``--repeat`` times (default 3), alternating, each archive into a fresh folder; the
table shows each step's median and its ratio, and a second table every round's own ratio (a
shared machine's load moves the baseline by as much as the archive).
It prints a markdown table. Run from the repository root::

    python benchmarks/archive_bench.py --sizes 1000000 5000000

``--reuse-db NAME`` measures an existing database of the same server instead (no generation).
``--engine mariadb`` does the same on the MariaDB server (127.0.0.1:3306, root), beside
``mariadb-dump --no-create-info --single-transaction``, so the engines can be compared::

    python benchmarks/archive_bench.py --engine mariadb --sizes 1000000

Not part of the test run; the machine is shared, so compare the ratios of one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = os.environ.get(
    "SAMSA_DECOM_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
MARIADB_ADMIN = os.environ.get(
    "SAMSA_DECOM_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/?charset=utf8mb4"
)


@dataclass
class Measured:
    seconds: float
    peak_mb: float
    output: str
    rounds: list[float] = field(default_factory=list)  # each round's seconds (--repeat)


def _tree_rss_kb(pid: int) -> int:
    """Memory of ``pid`` and all its descendants (from /proc), in KB: the sum of their
    proportional set sizes (``Pss`` in ``smaps_rollup``: a page shared by n processes counts
    1/n in each; resident set size where the kernel has no ``smaps_rollup``). A child that
    has not called ``exec`` yet (``psql`` is started by ``vfork`` + ``exec``: until then it
    is the parent's memory, under the parent's command line) is not counted: summing it
    counted the archive process twice (peaks of 315-381 MB)."""
    total = 0
    todo: list[tuple[int, bytes | None]] = [(pid, None)]
    while todo:
        p, parent_cmdline = todo.pop()
        try:
            cmdline = Path(f"/proc/{p}/cmdline").read_bytes()
            if cmdline != parent_cmdline:
                try:
                    text = Path(f"/proc/{p}/smaps_rollup").read_text()
                    key = "Pss:"
                except (FileNotFoundError, PermissionError):
                    text = Path(f"/proc/{p}/status").read_text()
                    key = "VmRSS:"
                for line in text.splitlines():
                    if line.startswith(key):
                        total += int(line.split()[1])
                        break
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend((int(c), cmdline) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, ValueError):
            continue
    return total


def run(cmd: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run ``cmd``; wall time and the peak of the whole process tree's memory (proportional
    set sizes, sampled every 50 ms, so worker processes count too; at least ``wait4``'s max
    RSS, the largest single process)."""
    import threading

    os.sync()  # each step starts with no writes pending from the one before
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out_chunks = []
    assert proc.stdout is not None
    for line in proc.stdout:
        out_chunks.append(line)
    _, status, usage = os.wait4(proc.pid, 0)
    done.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}… failed ({proc.returncode}):\n{err[-2000:]}")
    peak_kb = max(peak[0], usage.ru_maxrss)
    return Measured(seconds, peak_kb / 1024, b"".join(out_chunks).decode())


def _median(rounds: tuple[Measured, ...]) -> Measured:
    """The round of median time (its own peak memory and output), with every round's
    seconds kept for the table."""
    mid = sorted(rounds, key=lambda m: m.seconds)[len(rounds) // 2]
    return Measured(mid.seconds, max(m.peak_mb for m in rounds), mid.output,
                    [m.seconds for m in rounds])  # fmt: skip


def _rows_in(url: str) -> int:
    """Rows in all tables of the database (what the archive holds)."""
    from sqlalchemy import create_engine, inspect, text

    eng = create_engine(url)
    with eng.connect() as c:
        names = inspect(c).get_table_names()
        q = c.dialect.identifier_preparer.quote
        total = sum(c.execute(text(f"SELECT count(*) FROM {q(n)}")).scalar_one() for n in names)
    eng.dispose()
    return int(total)


def lookups(package: Path, source_url: str, persons: int) -> dict[str, float]:
    """Time keyed lookups in ``package``'s person index for ``persons`` identities of the
    source (the same ones every run: ordered by a hash of the id); milliseconds."""
    from datetime import date

    from sqlalchemy import create_engine, text

    from models.identity import parse_identity
    from tasks.extracts.person import build_person_extract
    from tasks.extracts.person_index.archive_lookup import ArchivePersonLookup

    eng = create_engine(source_url)
    with eng.connect() as c:
        query = text("SELECT identity FROM person ORDER BY md5(id::text) LIMIT :n")
        sample = c.execute(query, {"n": persons}).scalars().all()
    eng.dispose()
    t0 = time.perf_counter()
    look = ArchivePersonLookup(package)
    opened = time.perf_counter() - t0
    if look.key is None:
        raise SystemExit(f"the person index is not keyed: {look.fallback}")
    one: list[float] = []
    one_cpu: list[float] = []
    whole: list[float] = []
    found = 0
    try:
        for raw in sample:
            identity = parse_identity(raw, today=date(2027, 1, 4))
            t0, c0 = time.perf_counter(), time.thread_time()
            found += len(look.person_rows(identity))
            one.append(time.perf_counter() - t0)
            one_cpu.append(time.thread_time() - c0)
            t0 = time.perf_counter()
            build_person_extract(look, identity, request_id="bench", produced_on=date(2027, 1, 4))
            whole.append(time.perf_counter() - t0)
    finally:
        look.close()
    if found < len(sample):
        raise SystemExit(f"only {found} of {len(sample)} persons found through the index")
    ms = 1000.0
    return {
        "persons": len(sample), "open_ms": opened * ms,
        "lookup_median_ms": statistics.median(one) * ms, "lookup_max_ms": max(one) * ms,
        "lookup_p99_ms": sorted(one)[int(len(one) * 0.99)] * ms,
        "lookup_cpu_max_ms": max(one_cpu) * ms,
        "extract_median_ms": statistics.median(whole) * ms, "extract_max_ms": max(whole) * ms,
    }  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the databases and packages")
    ap.add_argument("--reuse-db", nargs="*", default=[], help="existing databases to measure")
    ap.add_argument("--engine", choices=["postgresql", "mariadb"], default="postgresql")
    ap.add_argument("--persons", type=int, default=200, help="persons to look up (0: none)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="rounds of baseline, archive and verify, alternating; the median of each is shown")  # fmt: skip
    ap.add_argument("--lookup", nargs=2, metavar=("PACKAGE", "SOURCE_URL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.lookup:  # the child process of step 5
        print(json.dumps(lookups(Path(args.lookup[0]), args.lookup[1], args.persons)))
        return

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    maria = args.engine == "mariadb"
    admin_url = MARIADB_ADMIN if maria else PG_ADMIN
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    q = "`" if maria else '"'
    baseline = "`mariadb-dump --no-create-info`" if maria else "`pg_dump --data-only`"
    py = sys.executable
    # Bytecode for the project's own modules, as an installed package has (pip compiles a
    # wheel's modules on install). A checkout run with PYTHONDONTWRITEBYTECODE=1 would
    # otherwise compile about 90 modules from source in every measured process (0.1-0.3 s).
    subprocess.run([py, "-m", "compileall", "-q", "deploy", "models", "tasks", "flows"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    results = []
    jobs = [(None, size) for size in ([] if args.reuse_db else args.sizes)]
    jobs += [(name, 0) for name in args.reuse_db]
    for reuse, size in jobs:
        name = reuse or f"samsa_bench_{size}_{uuid.uuid4().hex[:6]}"
        if not reuse:
            with admin.connect() as c:
                c.execute(text(f"CREATE DATABASE {q}{name}{q}"))
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        work = Path(tempfile.mkdtemp(prefix=f"samsa-bench-{size}-"))
        env = {**os.environ, "SAMSA_DECOM_HOME": str(work / "home")}
        env.setdefault("SAMSA_DECOM_AUDIT_KEY", uuid.uuid4().hex * 2)  # a throwaway key
        env.setdefault("SAMSA_DECOM_PERSON_INDEX_KEY", uuid.uuid4().hex * 2)  # throwaway too
        env.pop("SAMSA_DECOM_LEDGER_URL", None)  # the bench's own ledger, under its home
        try:
            run([py, "-m", "deploy.cli", "upgrade-ledger"], env)  # archive never creates one
            if reuse:
                gen = None
            else:
                gen = run([py, "-m", "deploy.cli", "demo-data", "--url", url, "--scale", str(size),
                           "--seed", str(args.seed)], env)  # fmt: skip
            u = make_url(url)
            dump_dir = Path(tempfile.mkdtemp(prefix="samsa-bench-dump-"))
            if maria:
                dump_cmd = ["mariadb-dump", "--no-create-info", "--single-transaction", "-h",
                            u.host or "127.0.0.1", "-P", str(u.port or 3306), "-u", u.username or "root",
                            "-r", str(dump_dir / "dump.sql"), name]  # fmt: skip
            else:
                dump_cmd = ["pg_dump", "--data-only", "-h", u.host or "127.0.0.1", "-p", str(u.port or 5432),
                            "-U", u.username or "postgres", "-f", str(dump_dir / "dump.sql"), name]  # fmt: skip
            dump = run(dump_cmd)
            shutil.rmtree(dump_dir)  # the baseline's output is not needed; do not let it linger
            arch = run(
                [py, "-m", "deploy.cli", "archive", "--source", url, "--out", str(work / "out")],
                env,
            )
            package = arch.output.strip().splitlines()[-1]
            ver = run([py, "-m", "deploy.cli", "verify", package], env)
            rounds = [(dump, arch, ver)]
            for k in range(1, args.repeat):  # the same three again, alternating, in fresh folders
                shutil.rmtree(Path(package).parent, ignore_errors=True)
                dump_dir.mkdir()
                dump_k = run(dump_cmd)
                shutil.rmtree(dump_dir)
                arch_k = run([py, "-m", "deploy.cli", "archive", "--source", url,
                              "--out", str(work / f"out{k}")], env)  # fmt: skip
                package = arch_k.output.strip().splitlines()[-1]
                rounds.append((dump_k, arch_k, run([py, "-m", "deploy.cli", "verify", package], env)))
            dump, arch, ver = (_median(m) for m in zip(*rounds, strict=True))
            deep = run([py, "-m", "deploy.cli", "verify", package, "--deep"], env)
            found = None
            if args.persons and not maria:
                child = run([py, str(Path(__file__).resolve()), "--persons", str(args.persons),
                             "--lookup", package, url], env)  # fmt: skip
                found = json.loads(child.output.strip().splitlines()[-1])
            rows = _rows_in(url)
            results.append((rows, gen, dump, arch, ver, deep, found))
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
                if not reuse:
                    with admin.connect() as c:
                        force = "" if maria else " WITH (FORCE)"
                        c.execute(text(f"DROP DATABASE IF EXISTS {q}{name}{q}{force}"))

    print()
    print(f"engine: {args.engine}")
    print(f"| rows | what | seconds | rows/s | vs {baseline.strip('`').split()[0]} | peak memory |")
    print("|---:|---|---:|---:|---:|---:|")
    for rows, gen, dump, arch, ver, deep, _found in results:
        for label, m in (
            (f"{baseline} (baseline)", dump),
            ("`samsa-decom archive` (incl. re-read verification + E-ARK SIP)", arch),
            ("`samsa-decom verify` (SHA-256 of every file against METS)", ver),
            ("`samsa-decom verify --deep` (+ full re-read and digests)", deep),
        ):
            print(f"| {rows:,} | {label} | {m.seconds:.1f} | {rows / m.seconds:,.0f} | "
                  f"{m.seconds / dump.seconds:.2f}× | {m.peak_mb:.0f} MB |")  # fmt: skip
        for label, total, peak in (
            ("**archive + verify**", arch.seconds + ver.seconds, max(arch.peak_mb, ver.peak_mb)),
            (
                "archive + verify --deep",
                arch.seconds + deep.seconds,
                max(arch.peak_mb, deep.peak_mb),
            ),
        ):
            print(f"| {rows:,} | {label} | {total:.1f} | {rows / total:,.0f} | "
                  f"{total / dump.seconds:.2f}× | {peak:.0f} MB |")  # fmt: skip
        if gen is not None:
            print(f"| {rows:,} | (demo-data generation, for reference) | {gen.seconds:.1f} | "
                  f"{rows / gen.seconds:,.0f} | | {gen.peak_mb:.0f} MB |")  # fmt: skip

    print()
    print(f"Each round, in order (--repeat {args.repeat}; the table shows each step's median):")
    print(f"| rows | round | {baseline} | archive | verify | archive + verify | ratio |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for rows, _gen, dump, arch, ver, _deep, _found in results:
        each = zip(dump.rounds or [dump.seconds], arch.rounds or [arch.seconds],
                   ver.rounds or [ver.seconds], strict=True)  # fmt: skip
        for k, (d, a, v) in enumerate(each, 1):
            print(f"| {rows:,} | {k} | {d:.1f} s | {a:.1f} s | {v:.1f} s | {a + v:.1f} s | "
                  f"{(a + v) / d:.2f}× |")  # fmt: skip

    found_rows = [(rows, found) for rows, *_, found in results if found]
    if found_rows:
        print()
        print("| rows | keyed person lookup: median / p99 / max (max CPU time) "
              "| whole registerutdrag: median / max | persons | index opened in |")  # fmt: skip
        print("|---:|---:|---:|---:|---:|")
        for rows, f in found_rows:
            print(f"| {rows:,} | {f['lookup_median_ms']:.2f} / {f['lookup_p99_ms']:.2f} / "
                  f"{f['lookup_max_ms']:.2f} ms ({f['lookup_cpu_max_ms']:.2f} ms) | "
                  f"{f['extract_median_ms']:.2f} / {f['extract_max_ms']:.2f} ms | "
                  f"{f['persons']} | {f['open_ms']:.0f} ms |")  # fmt: skip


if __name__ == "__main__":
    main()
