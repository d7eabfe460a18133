"""The successor's rollout, asked through the foundation's gates (``tasks.gates``).

An integration names a gate of the plan (``Plan.gates``). The gate is evaluated against the
rollout status at that moment; anything that prevents evaluating it (the plan cannot be read,
the gate is unknown, the rollout source does not answer) counts as a *closed* gate with that
reason: nothing irreversible happens on a guess. :class:`GateAnswer` is the answer the
shutdown engine gets (through its hooks), and :func:`closed_reason` how a closed one reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal


@dataclass(frozen=True)
class GateAnswer:
    """Whether a gate is open now, and if not, why (each reason readable by a person)."""

    open: bool
    reasons: list[str] = field(default_factory=list)
    #: The rollout the answer was computed from: its source and digest.
    basis: dict[str, str] = field(default_factory=dict)


def closed_reason(gate: str | None, answer: GateAnswer) -> str:
    """``gate NAME: reason; reason`` (what an integration waits for behind a closed gate)."""
    return f"gate {gate}: " + "; ".join(answer.reasons or ["closed"])


class PlanGates:
    """Evaluates gates by name; the plan is read once, the rollout on every question."""

    def __init__(
        self, plan_path: Path, rollout_source: str, lang: Literal["sv", "en"] = "sv"
    ) -> None:
        self.plan_path = plan_path
        self.rollout_source = rollout_source
        self.lang = lang
        self._plan: Any = None

    def gate_names(self) -> list[str] | None:
        """The plan's gate names, or None when the plan cannot be read."""
        try:
            return sorted(self._load_plan().gates)
        except Exception:  # noqa: BLE001 - validation without a plan skips the gate check
            return None

    def _load_plan(self) -> Any:
        if self._plan is None:
            from models.plan import load_plan

            self._plan = load_plan(self.plan_path)
        return self._plan

    def __call__(self, gate: str | None, as_of: date) -> GateAnswer:
        if gate is None:
            return GateAnswer(True, [])
        try:
            plan = self._load_plan()
        except ImportError:
            return GateAnswer(
                False,
                [
                    f"the plan's gates are not available (models.plan "
                    f"missing); gate {gate} counts as closed"
                ],
            )
        except Exception as exc:  # noqa: BLE001 - any reason to be unsure closes the gate
            return GateAnswer(False, [f"plan {self.plan_path} cannot be read: {exc}"])
        if gate not in plan.gates:
            return GateAnswer(False, [f"gate {gate} is not in the plan"])
        try:
            from tasks.gates import evaluate_gate
            from tasks.rollout_source import load_rollout

            rollout = load_rollout(self.rollout_source)
            verdict = evaluate_gate(plan.gates[gate], rollout, as_of, lang=self.lang)
        except Exception as exc:  # noqa: BLE001
            return GateAnswer(False, [f"rollout status cannot be read: {exc}"])
        basis = {"rollout_source": str(self.rollout_source), "rollout_sha256": rollout.digest()}
        return GateAnswer(bool(verdict.open), list(verdict.reasons), basis)
