"""How long reading, validating and scheduling the plan takes, beside bare YAML parsing.

Run: /work/venv/bin/python benchmarks/plan_bench.py

Baselines: ``yaml.safe_load`` of the same text (the usual way to read YAML, pure Python) and
``yaml.load(..., CSafeLoader)`` (libyaml: the floor, any loader must at least parse the text).
The ratio is load_plan (parse + line map + pydantic + cross-reference checks) / the C floor.
Rows: the real plan, and a synthetic plan of 2,000 chained milestones to show
how validation (line map, pydantic, cycle search) and scheduling scale.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.plan import load_plan_text  # noqa: E402
from models.schedule import compute_schedule  # noqa: E402
from models.settings import PLAN_DIR  # noqa: E402
from tasks.gates import evaluate_gate  # noqa: E402
from tasks.rollout_source import load_rollout  # noqa: E402

AS_OF = date(2026, 11, 27)


def best_of(fn: Callable[[], object], repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) if repeat < 3 else statistics.median(times)


def synthetic(n: int) -> str:
    lines = ["gates:", "  all: {all_live: true}", "milestones:"]
    for i in range(n):
        due = "transition + 10d" if i == 0 else f"after m{i - 1} + 1d"
        deps = f"[m{i - 1}]" if i else "[]"
        gate = "all" if i % 10 == 0 else "null"
        lines.append(
            f"  - {{id: m{i}, title: Milstolpe {i}, owner: PM, workstream: archive, "
            f"due: '{due}', depends_on: {deps}, gate: {gate}, cost_estimate: 1000}}"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    rollout = load_rollout(PLAN_DIR / "rollout.yaml")
    real = (PLAN_DIR / "samsa-phaseout.yaml").read_text(encoding="utf-8")
    rows = []
    real_name = f"real plan ({len(load_plan_text(real, 'bench.yaml').milestones)} milestones)"
    for name, text in ((real_name, real), ("synthetic, 2,000", synthetic(2000))):
        py = best_of(lambda t=text: yaml.safe_load(t), repeat=3)
        base = best_of(lambda t=text: yaml.load(t, Loader=yaml.CSafeLoader))  # noqa: S506
        load = best_of(lambda t=text: load_plan_text(t, "bench.yaml"))
        plan = load_plan_text(text, "bench.yaml")

        def schedule_and_gates(p=plan) -> None:
            compute_schedule(p, rollout, AS_OF)
            for m in p.milestones:
                evaluate_gate(p.gate_for(m), rollout, AS_OF)

        sched = best_of(schedule_and_gates)
        rows.append((name, py, base, load, sched))

    print(f"{'plan':27} {'yaml.safe_load':>14} {'CSafeLoader':>12} {'load_plan':>11} "
          f"{'vs C floor':>10} {'schedule+gates':>15}")
    for name, py, base, load, sched in rows:
        print(f"{name:27} {py * 1000:>11.1f} ms {base * 1000:>9.1f} ms {load * 1000:>8.1f} ms "
              f"{load / base:>9.1f}x {sched * 1000:>12.1f} ms")


if __name__ == "__main__":
    main()
