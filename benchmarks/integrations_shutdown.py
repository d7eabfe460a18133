"""Benchmark: what the shutdown engine's bookkeeping costs per step.

Shuts down N integrations of 6 http steps each against a loopback counterpart, with the ledger
on SQLite and (when reachable) PostgreSQL: every step is marked running and done in its own
committed unit of work with two audit entries. The baseline makes the same HTTP calls with the
same adapter and no ledger. Run from the repository root:

    /work/venv/bin/python benchmarks/integrations_shutdown.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from integrations_counterpart import Counterpart  # noqa: E402

from models.integrations import parse_integrations  # noqa: E402
from models.ledger import Ledger, upgrade_ledger  # noqa: E402
from tasks.integrations.adapters import run_step_call  # noqa: E402
from tasks.integrations.engine import ShutdownEngine  # noqa: E402
from tasks.integrations.gates import GateAnswer  # noqa: E402
from tasks.integrations.hooks import PlainHooks  # noqa: E402

PHASES = ["announce", "freeze", "drain", "disable", "revoke", "confirm"]


def catalogue_text(base: str, n: int) -> str:
    out = [f"variables: {{cp: '{base}'}}", "integrations:"]
    for i in range(n):
        out += [
            f"  - name: i{i}",
            f"    title: I{i}",
            "    counterpart: C",
            "    direction: both",
            "    protocol: HTTPS",
            "    point_of_no_return: revoke",
            "    steps:",
        ]
        for p in PHASES:
            out += [
                f"      - {{id: {p}, phase: {p}, kind: http, url: '${{cp}}/i{i}/{p}', "
                "idempotent: true}"
            ]
    return "\n".join(out) + "\n"


def run_engine(url: str, cat, approve: bool = True) -> float:  # type: ignore[no-untyped-def]
    upgrade_ledger(url)
    ledger = Ledger.open(url)
    with ledger.unit_of_work() as s:
        for integ in cat.integrations:
            ledger.record_approval(
                s, subject=integ.subject("revoke"), kind="approval", approver="Bench", approved=True
            )
    engine = ShutdownEngine(cat, ledger, PlainHooks(cat, url, lambda g, d: GateAnswer(True)))
    t0 = time.perf_counter()
    reports = engine.run_all(as_of=date(2027, 1, 1))
    elapsed = time.perf_counter() - t0
    assert all(r.status.value == "shut_down" for r in reports)
    assert ledger.verify_audit().ok
    ledger.close()
    return elapsed


def run_baseline(cat) -> float:  # type: ignore[no-untyped-def]
    def resolve(text: str) -> str:
        return cat.resolve(text, source_url="")

    t0 = time.perf_counter()
    for integ in cat.integrations:
        for step in integ.steps:
            assert run_step_call(step, resolve).ok
    return time.perf_counter() - t0


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    cp = Counterpart().start()
    cat = parse_integrations(catalogue_text(cp.url, n), "bench.yaml")
    steps = n * len(PHASES)
    rows = [("adapters only, no ledger (baseline)", run_baseline(cat))]
    tmp = Path(tempfile.mkdtemp())
    rows.append(("engine, ledger on SQLite", run_engine(f"sqlite:///{tmp / 'l.sqlite'}", cat)))
    try:
        from sqlalchemy import create_engine, text

        admin = create_engine(
            "postgresql+psycopg://postgres@127.0.0.1:5432/postgres", isolation_level="AUTOCOMMIT"
        )
        name = f"bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            rows.append(
                (
                    "engine, ledger on PostgreSQL",
                    run_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", cat),
                )
            )
        finally:
            with admin.connect() as c:
                c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    except Exception as exc:  # noqa: BLE001
        print(f"(PostgreSQL skipped: {exc})")
    cp.stop()
    base = rows[0][1]
    print(f"{n} integrations x {len(PHASES)} http steps = {steps} steps\n")
    print(f"| {'way':<38} | {'time':>7} | {'steps/s':>8} | {'ms/step':>7} | {'vs baseline':>11} |")
    print(f"|{'-' * 40}|{'-' * 9}|{'-' * 10}|{'-' * 9}|{'-' * 13}|")
    for label, t in rows:
        print(
            f"| {label:<38} | {t:6.2f}s | {steps / t:8.0f} | {1000 * t / steps:7.1f} | "
            f"{t / base:10.1f}x |"
        )


if __name__ == "__main__":
    main()
