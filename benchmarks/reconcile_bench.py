"""How long the daily reconciler takes on the real plan, beside Prefect's own cost of a run.

    python benchmarks/reconcile_bench.py [--repeat 3]

Baseline: an empty flow run (what any Prefect run costs here). Rows: the pure decision on the
real plan (no Prefect, no database), a first reconciler run on a fresh SQLite ledger (writes
every milestone), a second run (nothing to change), and a rehearsal. Each is the median of
``--repeat`` runs, in one process, under Prefect's test harness. Real runs take no ``as_of``:
the clock is moved to AS_OF with ``time_machine`` (as the tests do); the audit key is a
throwaway one unless ``SAMSA_DECOM_AUDIT_KEY`` is set.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_TMP = Path(tempfile.mkdtemp(prefix="samsa-bench-"))
os.environ["PREFECT_HOME"] = str(_TMP / "prefect")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.pop("PREFECT_API_URL", None)
os.environ.setdefault("SAMSA_DECOM_AUDIT_KEY", uuid.uuid4().hex * 2)  # a throwaway audit key

AS_OF = date(2026, 11, 27)


def timed(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for i in range(repeat):
        t0 = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    n = ap.parse_args().repeat

    import time_machine
    from prefect import flow
    from prefect.testing.utilities import prefect_test_harness

    from flows.wiring import resolve_action
    from models.plan import load_plan
    from models.schedule import compute_schedule
    from models.settings import get_settings
    from tasks.gates import evaluate_gate
    from tasks.reconcile import build_instances, expand_dependencies, settle
    from tasks.rollout_source import load_rollout

    plan_dir = ROOT / "deploy" / "plan"

    def pure(_i: int) -> None:
        p = load_plan(plan_dir / "samsa-phaseout.yaml")
        r = load_rollout(plan_dir / "rollout.yaml")
        s = compute_schedule(p, r, AS_OF)
        inst = expand_dependencies(build_instances(p.milestones, s.due, s.occurrences, AS_OF, {}))
        v = {m.id: evaluate_gate(p.gate_for(m), r, AS_OF) for m in p.milestones}
        settle(inst, {}, v, AS_OF, lambda a: resolve_action(a) is not None)

    @flow(name="empty-flow")
    def empty() -> None:
        return None

    with prefect_test_harness(server_startup_timeout=120):
        from flows.phaseout import reconcile_phaseout

        def use_ledger(i: int) -> None:
            from models.ledger import upgrade_ledger

            url = f"sqlite:///{_TMP / f'ledger-{i}.sqlite'}"
            os.environ["SAMSA_DECOM_LEDGER_URL"] = url
            get_settings.cache_clear()
            upgrade_ledger(url)  # as `samsa-decom up` does; the timed runs only open it

        empty()  # warm up
        rows = [("empty Prefect flow run (baseline)", timed(lambda _i: empty(), n))]
        rows.append(("pure decision on the real plan (no Prefect)", timed(pure, n)))

        minutes = iter(range(1000))

        def on_as_of() -> time_machine.travel:
            """A real run takes no ``as_of`` (only rehearsals do): the clock is moved to
            AS_OF instead, a minute later each run, ticking."""
            noon = datetime.combine(AS_OF, dt_time(12), tzinfo=ZoneInfo("Europe/Stockholm"))
            return time_machine.travel(noon + timedelta(minutes=next(minutes)), tick=True)

        def first(i: int) -> None:
            use_ledger(i)  # a new ledger per repeat
            with on_as_of():
                reconcile_phaseout()

        def second(i: int) -> None:
            use_ledger(i)  # the ledger the first run filled
            with on_as_of():
                reconcile_phaseout()

        def rehearse(i: int) -> None:
            use_ledger(i)  # the ledger the first run filled
            reconcile_phaseout(
                as_of=date(2028, 6, 1),
                rehearse=True,
                rollout_source=str(plan_dir / "rollout-resumed.yaml"),
            )

        rows.append(("reconcile, fresh ledger (writes every milestone)", timed(first, n)))
        rows.append(("reconcile again (nothing changes)", timed(second, n)))
        rows.append(("rehearsal 2028-06-01, resumed rollout", timed(rehearse, n)))
        from models.ledger import Ledger

        with Ledger.open(os.environ["SAMSA_DECOM_LEDGER_URL"]) as ledger:
            milestones = len(ledger.states())

    base = rows[0][1]
    print(f"real plan: {milestones} milestone instances in the ledger; median of {n} runs\n")
    print(f"| {'what':<50} | {'seconds':>8} | {'vs empty run':>12} |")
    print(f"|{'-' * 52}|{'-' * 10}|{'-' * 14}|")
    for name, secs in rows:
        print(f"| {name:<50} | {secs:8.3f} | {secs / base:11.1f}x |")


if __name__ == "__main__":
    main()
