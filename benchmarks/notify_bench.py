"""What "never lost, never doubled" costs: the outbox beside sending straight through apprise.

Run: /work/venv/bin/python benchmarks/notify_bench.py [N]

Baseline: ``apprise.Apprise.notify`` once per notice to an HTTP receiver on loopback
(``json://``), with no record of anything (a crash loses what was not sent; a rerun sends
it all again). Project: the same notices written to the ledger's outbox (one transaction)
and delivered with a claim, a delivery record per channel and a final status per notice,
each in its own transaction, on a SQLite file and on PostgreSQL (if reachable). Also the
daily decision over the project's real plan: a whole year of ``as_of`` days.
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from notify_receivers import HttpReceiver  # noqa: E402

from models.ledger import Ledger, upgrade_ledger  # noqa: E402
from tasks.notify.channels import Router  # noqa: E402
from tasks.notify.decide import Notice  # noqa: E402
from tasks.notify.outbox import deliver, enqueue  # noqa: E402

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def notices(n: int, run: str) -> list[Notice]:
    return [
        Notice(f"due:m{i}:7:2027-03-15:{run}", "projektledning", f"Milstolpe {i}", "kropp " * 20)
        for i in range(n)
    ]


def baseline(http: HttpReceiver, n: int) -> float:
    import apprise

    ap = apprise.Apprise()
    ap.add(http.url("/base"), tag="projektledning")
    t0 = time.perf_counter()
    for x in notices(n, "base"):
        assert ap.notify(body=x.body, title=x.subject, tag=x.tag)
    return time.perf_counter() - t0


def through_outbox(http: HttpReceiver, url: str, n: int) -> float:
    upgrade_ledger(url)
    ledger = Ledger.open(url)
    router = Router.from_sources([f"projektledning={http.url('/outbox')}"])
    t0 = time.perf_counter()
    with ledger.unit_of_work() as s:
        enqueue(ledger, s, notices(n, "outbox"))
    report = deliver(ledger, router)
    took = time.perf_counter() - t0
    assert report.sent == n, report
    ledger.close()
    return took


def pg_url() -> str | None:
    from sqlalchemy import create_engine, text

    try:
        eng = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"samsa_bench_{uuid.uuid4().hex[:8]}"
        with eng.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        eng.dispose()
        return PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    except Exception:  # noqa: BLE001 - PostgreSQL is optional here
        return None


def drop_pg(url: str) -> None:
    from sqlalchemy import create_engine, text

    eng = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with eng.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    eng.dispose()


def year_of_decisions() -> tuple[float, int]:
    from models.plan import load_plan
    from models.settings import PLAN_DIR, get_settings
    from tasks.notify.decide import NotifyPolicy, decide_notices, gather_views, new_snapshot
    from tasks.phaseout.day import load_day
    from tasks.rollout_source import load_rollout

    plan = load_plan(PLAN_DIR / "samsa-phaseout.yaml")
    rollout = load_rollout(str(PLAN_DIR / "rollout-resumed.yaml"))
    policy = NotifyPolicy()
    snapshot: dict = {}
    keys: set[tuple[str, str]] = set()
    t0 = time.perf_counter()
    for i in range(365):
        day = date(2026, 11, 27) + timedelta(days=i)
        views, _ = gather_views(load_day(get_settings(), day, plan=plan, rollout=rollout))
        keys |= {(n.key, n.tag) for n in decide_notices(views, snapshot, day, policy)}
        snapshot = new_snapshot(views, snapshot, policy)
    return time.perf_counter() - t0, len(keys)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    http = HttpReceiver().start()
    try:
        rows = [("apprise.notify per notice, nothing recorded (baseline)", baseline(http, n))]
        with tempfile.TemporaryDirectory() as tmp:
            sqlite = f"sqlite:///{Path(tmp) / 'ledger.sqlite'}"
            rows.append(
                ("outbox on SQLite: record, claim, send, mark", through_outbox(http, sqlite, n))
            )
        pg = pg_url()
        if pg:
            try:
                rows.append(
                    ("outbox on PostgreSQL: record, claim, send, mark", through_outbox(http, pg, n))
                )
            finally:
                drop_pg(pg)
    finally:
        http.stop()
    base = rows[0][1]
    print(f"\n{n} notices to one HTTP channel on loopback\n")
    print("| way | total | per notice | vs baseline |")
    print("|---|---:|---:|---:|")
    for name, took in rows:
        print(f"| {name} | {took:.2f} s | {1000 * took / n:.1f} ms | {took / base:.2f}x |")
    took, count = year_of_decisions()
    print(
        f"\nDecision over the real plan, 365 days of as_of with gates and "
        f"schedule: {took:.2f} s ({1000 * took / 365:.1f} ms a day), {count} distinct notices"
    )


if __name__ == "__main__":
    main()
