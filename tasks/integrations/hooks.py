"""What differs between a Prefect run, the CLI and the reconciler: the shutdown engine's hooks.

The engine (:mod:`tasks.integrations.engine`) keeps the same rules everywhere and asks its
:class:`Hooks` for the rest: whether a gate is open, how a step call is carried out, how a
person is asked for an approval or a confirmation (a :class:`Decision`), and how people are
told. :class:`PlainHooks` is the version without Prefect (the CLI): adapters are called
directly and decisions come only from the ledger, recorded beforehand, so a missing one
means *waiting*. The Prefect version is in :mod:`flows.integrations`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from models.integrations import Catalogue, Integration, Step, StepCall
from tasks.integrations.adapters import CallOutcome, run_step_call
from tasks.integrations.gates import GateAnswer


@dataclass(frozen=True)
class Decision:
    """A person's answer: an approval of the point of no return or a manual confirmation."""

    person: str
    yes: bool
    comment: str = ""
    #: the one-time code typed with the answer (never stored; its HMAC is compared)
    code: str = field(default="", repr=False)


class Hooks(Protocol):
    """What differs between a Prefect run, the CLI and the reconciler."""

    def gate(self, gate: str | None, as_of: date) -> GateAnswer: ...

    def run(
        self, integ: Integration, step: Step, call: StepCall, purpose: str, as_of: date
    ) -> CallOutcome: ...

    def ask_approval(self, integ: Integration, step: Step, why: str) -> Decision | None: ...

    def ask_confirmation(self, integ: Integration, step: Step) -> Decision | None: ...

    def notify(self, subject: str, text: str) -> None: ...


def make_resolver(catalogue: Catalogue, source_url: str) -> Callable[[str], str]:
    """Fills in a step call's ``${…}`` for running it (secrets included)."""
    return lambda text: catalogue.resolve(text, source_url=source_url)


class PlainHooks:
    """Hooks without Prefect: adapters are called directly; decisions come only from the
    ledger (recorded beforehand through the CLI), so a missing one means *waiting*."""

    def __init__(
        self,
        catalogue: Catalogue,
        source_url: str,
        gate: Callable[[str | None, date], GateAnswer],
        notify: Callable[[str, str], None] | None = None,
    ) -> None:
        self.resolve = make_resolver(catalogue, source_url)
        self._gate = gate
        self._notify = notify

    def gate(self, gate: str | None, as_of: date) -> GateAnswer:
        return self._gate(gate, as_of)

    def run(
        self, integ: Integration, step: Step, call: StepCall, purpose: str, as_of: date
    ) -> CallOutcome:
        silent = step.silent_days if purpose in ("step", "check") else None
        return run_step_call(call, self.resolve, silent_days=silent, as_of=as_of)

    def ask_approval(self, integ: Integration, step: Step, why: str) -> Decision | None:
        return None

    def ask_confirmation(self, integ: Integration, step: Step) -> Decision | None:
        return None

    def notify(self, subject: str, text: str) -> None:
        if self._notify is not None:
            self._notify(subject, text)
