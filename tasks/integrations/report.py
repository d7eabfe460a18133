"""How a shutdown is shown to people: step lines, the integration's report, call descriptions.

:class:`IntegrationReport` is where one integration stands after a run (or what a rehearsal
would do), with a :class:`StepLine` per step for the run's artifact and the CLI.
:func:`describe` words a step call (``would call POST https://…``) and
:func:`display_resolver` fills in its variables for reading: secrets stay as ``${env:…}`` and
the database password is hidden. Notes are masked: no personnummer reaches a report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from models.identity import scrub_identities
from models.integrations import Catalogue, Integration, StepCall, StepKind
from models.ledger.integrations import ShutdownStatus, StepState
from tasks.integrations.records import ShutdownRecords


@dataclass
class StepLine:
    """One step as shown in an artifact or the CLI."""

    step_id: str
    phase: str
    kind: str
    state: str
    what: str
    note: str = ""


@dataclass
class IntegrationReport:
    """Where one integration stands after a run (or what a rehearsal would do)."""

    name: str
    title: str
    status: ShutdownStatus
    current_step: str | None = None
    waiting_for: str = ""
    detail: str = ""
    steps: list[StepLine] = field(default_factory=list)
    rehearsal: list[str] = field(default_factory=list)
    undone: list[str] = field(default_factory=list)


def describe(
    call: StepCall, *, rehearsal: bool = True, show: Callable[[str], str] = lambda t: t
) -> str:
    """``would call POST http://…`` / ``would run SQL …``. ``show`` fills in variables for
    display (secrets stay as ``${env:…}``, passwords are hidden)."""
    verb = "would " if rehearsal else ""
    if call.kind is StepKind.http:
        return f"{verb}call {call.method.upper()} {show(call.url or '')}"
    if call.kind is StepKind.sql:
        return f"{verb}run SQL on {show(call.database)}: {' '.join(show(call.sql or '').split())}"
    if call.kind is StepKind.command:
        return f"{verb}run {' '.join(show(a) for a in call.command or [])}"
    return f"{verb}ask a person to confirm: {call.instructions}"


def display_resolver(catalogue: Catalogue, source_url: str) -> Callable[[str], str]:
    """Variables filled in for people to read: no secrets, no database password."""
    from sqlalchemy.engine import make_url

    try:
        shown = make_url(source_url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - display only
        shown = "<source database>"

    def show(text: str) -> str:
        try:
            return catalogue.resolve(text, source_url=shown, secrets=False)
        except Exception:  # noqa: BLE001 - display only
            return text

    return show


def step_lines(
    records: ShutdownRecords,
    integ: Integration,
    *,
    rehearse: bool,
    show: Callable[[str], str],
) -> list[StepLine]:
    """Each step of ``integ`` as it stands in the ledger (the point of no return marked)."""
    recorded = records.il.steps(integ.name)
    out = []
    for k, s in enumerate(integ.steps):
        rec = recorded.get(s.id)
        note = "point of no return" if k == integ.ponr_index else ""
        if rec is not None and rec.detail:
            note = f"{note}; {rec.detail}" if note else rec.detail
        what = describe(s, rehearsal=rehearse, show=show)
        out.append(
            StepLine(
                s.id,
                s.phase.value,
                s.kind.value,
                rec.state.value if rec else StepState.pending.value,
                f"{s.title}: {what}" if s.title else what,
                scrub_identities(note, limit=200),
            )
        )
    return out
