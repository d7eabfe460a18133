"""The milestone table: one row per milestone instance, for the artifact and the CLI.

Plain functions: :func:`status_rows` builds rows from the instances, the ledger facts and the
gate verdicts; :func:`status_markdown` renders the ``phaseout-status`` artifact (header,
timeline picture, table). Milestones carry no personal data; decision comments are masked
when recorded (``models.identity.scrub_identities``).
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from models.milestone import MilestoneState
from tasks.reconcile import Facts, Instance, VerdictLike

#: How many days ahead a milestone counts as "due" (förfaller snart).
DUE_SOON_DAYS = 14


class Display(enum.StrEnum):
    """How a milestone is shown: the timeline's colours and the table's words."""

    done = "done"
    failed = "failed"
    blocked = "blocked"
    awaiting = "awaiting"
    overdue = "overdue"
    due = "due"
    pending = "pending"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    Display.done: "klar",
    Display.failed: "misslyckad",
    Display.blocked: "blockerad",
    Display.awaiting: "väntar på beslut",
    Display.overdue: "försenad",
    Display.due: "aktuell",
    Display.pending: "planerad",
}

STATE_LABELS = {
    MilestoneState.pending: "planerad",
    MilestoneState.blocked: "blockerad",
    MilestoneState.ready: "redo",
    MilestoneState.running: "pågår",
    MilestoneState.awaiting_approval: "väntar på beslut",
    MilestoneState.done: "klar",
    MilestoneState.failed: "misslyckad",
    MilestoneState.skipped: "överhoppad",
}

WORKSTREAM_LABELS = {
    "archive": "Arkivering",
    "extracts": "Uttag och registerutdrag",
    "integrations": "Integrationer",
    "statistics": "Statistik",
    "routines": "Rutiner",
    "security": "Säkerhet",
}


def workstream_label(ws: object) -> str:
    key = getattr(ws, "value", ws)
    return WORKSTREAM_LABELS.get(str(key), str(key))


def display_of(
    state: MilestoneState | None, due: date | None, as_of: date, projected: bool = False
) -> Display:
    """The display category: final and stuck states first, then the calendar. A
    ``projected`` date (it hangs on a transition that is only a projection) is never
    overdue: a passed one shows as current."""
    if state in (MilestoneState.done, MilestoneState.skipped):
        return Display.done
    if state is MilestoneState.failed:
        return Display.failed
    if state is MilestoneState.blocked:
        return Display.blocked
    if state is MilestoneState.awaiting_approval:
        return Display.awaiting
    if due is not None and due < as_of and not projected:
        return Display.overdue
    if state is MilestoneState.running or (
        due is not None and (due - as_of).days <= DUE_SOON_DAYS
    ):
        return Display.due
    return Display.pending


@dataclass(frozen=True)
class StatusRow:
    """One line of the milestone table."""

    id: str
    title: str
    owner: str
    workstream: str
    due: date | None
    state: MilestoneState
    display: Display
    gate: str | None
    gate_open: bool
    gate_reasons: tuple[str, ...]
    detail: str
    irreversible: bool
    days_left: int | None  # negative: overdue (unless projected)
    projected: bool = False  # the date hangs on a projection of the transition
    assumption: str = ""  # why this date, when the strategy does not give it


    @property
    def due_text(self) -> str:
        if self.due is None:
            return "–"
        text = f"{self.due} (prognos)" if self.projected else str(self.due)
        return text + (" *" if self.assumption else "")

    @property
    def days_text(self) -> str:
        if self.days_left is None or self.display is Display.done:
            return ""
        if self.days_left < 0 and self.projected:
            return "prognos"
        if self.days_left < 0:
            return f"{-self.days_left} d försenad"
        if self.days_left == 0:
            return "i dag"
        return f"om {self.days_left} d"

    @property
    def gate_text(self) -> str:
        if self.gate is None:
            return "–"
        if self.gate_open:
            return f"{self.gate}: uppfylld"
        return f"{self.gate}: inte uppfylld ({'; '.join(self.gate_reasons)})"


def status_rows(
    instances: Sequence[Instance],
    facts: Mapping[str, Facts],
    verdicts: Mapping[str, VerdictLike | None],
    as_of: date,
    projected: frozenset[str] = frozenset(),
) -> list[StatusRow]:
    """The table rows, in dependency order (the plan's order where it allows).
    ``projected``: the plan milestones whose date is a projection (``Schedule.projected``)."""
    rows = []
    for inst in instances:
        m = inst.milestone
        f = facts.get(inst.id, Facts())
        state = f.state or MilestoneState.pending
        v = verdicts.get(inst.base_id)
        guess = inst.base_id in projected
        title = m.title if inst.id == inst.base_id else f"{m.title} ({inst.id.split('@')[1]})"
        rows.append(
            StatusRow(
                id=inst.id,
                title=title,
                owner=str(getattr(m, "owner", "") or ""),
                workstream=str(getattr(getattr(m, "workstream", ""), "value", None)
                               or getattr(m, "workstream", "")),
                due=inst.due,
                state=state,
                display=display_of(state, inst.due, as_of, guess),
                gate=getattr(m, "gate", None),
                gate_open=True if v is None else bool(v.open),
                gate_reasons=tuple(v.reasons) if v is not None and not v.open else (),
                detail=f.detail,
                irreversible=bool(getattr(m, "irreversible", False)),
                days_left=(inst.due - as_of).days if inst.due else None,
                projected=guess,
                assumption=str(getattr(m, "assumption", "") or ""),
            )
        )
    return rows


def counts(rows: Sequence[StatusRow]) -> dict[Display, int]:
    out = {d: 0 for d in Display}
    for r in rows:
        out[r.display] += 1
    return out


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def status_table_markdown(rows: Sequence[StatusRow]) -> str:
    """The milestone table as markdown."""
    lines = [
        "| id | milstolpe | ansvarig | klart senast | status | förutsättning | dagar | kommentar |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        title = r.title + (" ⚠ oåterkallelig" if r.irreversible else "")
        lines.append(
            "| " + " | ".join(
                _cell(x) for x in (
                    f"`{r.id}`", title, r.owner, r.due_text, STATE_LABELS[r.state],
                    r.gate_text, r.days_text, r.detail,
                )
            ) + " |"
        )
    return "\n".join(lines)


def assumptions_markdown(rows: Sequence[StatusRow]) -> str:
    """The plan's assumptions behind the dates marked * in the table (one per milestone)."""
    seen = dict.fromkeys((r.id.split("@")[0], r.assumption) for r in rows if r.assumption)
    if not seen:
        return ""
    lines = ["**\\* Antaganden** (datum och tidsavstånd som strategin inte anger):", ""]
    lines += [f"- `{mid}`: {_cell(text)}" for mid, text in seen]
    return "\n".join(lines)


def svg_data_uri(svg: str) -> str:
    """An SVG as a ``data:`` URI, which the Prefect UI shows inside a markdown artifact."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def status_markdown(
    rows: Sequence[StatusRow],
    *,
    as_of: date,
    transition: date | None,
    transition_confirmed: bool,
    svg: str,
    rehearsal: bool = False,
    notes: Sequence[str] = (),
) -> str:
    """The whole ``phaseout-status`` artifact: header, timeline picture, table."""
    c = counts(rows)
    title = "Avveckling av SAMSA – " + ("REPETITION (inget sparat)" if rehearsal else "läget")
    trans = (
        f"{transition} ({'bekräftat' if transition_confirmed else 'prognos'})"
        if transition else "okänt"
    )
    summary = ", ".join(f"{d.label}: {c[d]}" for d in Display if c[d])
    parts = [
        f"# {title}",
        f"**Per datum:** {as_of} · **Övergång till efterträdaren:** {trans} · "
        f"**Milstolpar:** {len(rows)} ({summary})",
    ]
    if notes:
        parts.append("\n".join(f"- {n}" for n in notes))
    parts += [
        f"![Tidslinje för avvecklingen per {as_of}]({svg_data_uri(svg)})",
        status_table_markdown(rows),
    ]
    assumed = assumptions_markdown(rows)
    if assumed:
        parts.append(assumed)
    return "\n\n".join(parts) + "\n"
