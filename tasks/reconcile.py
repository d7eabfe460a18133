"""What the daily reconciler should do, decided without side effects.

Given the plan's milestones (as :class:`Instance` objects: one per milestone, one per
occurrence of a recurring milestone), the schedule's dates, the gates' verdicts and what the
ledger says (:class:`Facts`), :func:`decide` returns the :class:`Transition` list to make.
The flow (``flows/phaseout.py``) applies it, runs the actions, and asks again until nothing
changes (:func:`settle` does the same in memory for a rehearsal).

The rules, in order, for a milestone that is not ``done``/``skipped``:

1. A dependency not done → ``blocked`` once its date has come, otherwise ``pending``.
2. Its gate closed → ``blocked`` with the gate's reasons (also when it was running or waiting
   for a person: a closing gate takes back every approval given before it).
3. Its date not come yet (and not started) → ``pending``.
4. Needs a person (``manual``: no registered action; or ``irreversible``): it waits in
   ``awaiting_approval`` for a decision given *after* it last entered that state. A yes runs
   the action (or, for a manual step, marks it ``done``); a no on an irreversible action
   ``blocks`` it until a person decides again; "not done yet" on a manual step keeps it
   waiting (and it is asked about again).
5. Otherwise → ``running`` and its action is (re)started. Actions are idempotent, so a run
   killed half-way simply calls the action again the next time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Protocol

from models.errors import InputError
from models.milestone import MilestoneState

FINAL = frozenset({MilestoneState.done, MilestoneState.skipped})
#: States in which the milestone has started: its date no longer holds it back.
STARTED = frozenset(
    {MilestoneState.running, MilestoneState.awaiting_approval, MilestoneState.failed}
)


class MilestoneLike(Protocol):
    """The parts of ``models.plan.Milestone`` the reconciler reads."""

    id: str
    title: str
    depends_on: list[str]
    gate: str | None
    irreversible: bool
    action: str
    action_params: dict[str, Any]


class VerdictLike(Protocol):
    """The parts of ``tasks.gates.GateVerdict`` the reconciler reads."""

    @property
    def open(self) -> bool: ...

    @property
    def reasons(self) -> list[str]: ...


@dataclass(frozen=True)
class Instance:
    """One thing the ledger tracks: a milestone, or one occurrence of a recurring milestone
    (``<id>@YYYY-MM``)."""

    id: str
    milestone: Any  # MilestoneLike
    due: date | None
    depends_on: tuple[str, ...] = ()

    @property
    def base_id(self) -> str:
        return self.milestone.id  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Decision:
    """A person's latest decision on a milestone, as the ledger holds it."""

    approver: str
    approved: bool
    at: datetime
    comment: str = ""
    kind: str = "approval"


@dataclass(frozen=True)
class Facts:
    """What the ledger knows about one milestone instance."""

    state: MilestoneState | None = None
    due: date | None = None
    #: when it last entered ``awaiting_approval`` (a decision must be newer to count)
    awaiting_since: datetime | None = None
    #: the newest decision given after ``awaiting_since`` (None: none valid)
    decision: Decision | None = None
    detail: str = ""


@dataclass(frozen=True)
class Transition:
    """One change the reconciler makes to one milestone instance."""

    milestone_id: str
    to_state: MilestoneState
    reason: str
    due: date | None = None
    #: start (or resume) the milestone's registered action after saving ``running``
    starts_action: bool = False
    #: ask a person for a decision (a ``confirm-milestone`` run), unless one is open
    request_decision: bool = False
    #: the state before (None: new to the ledger)
    from_state: MilestoneState | None = None
    #: a person's refusal blocks it: the refusal stays the answer to its wait (not ended)
    keeps_wait: bool = False

    @property
    def changes_state(self) -> bool:
        return self.from_state != self.to_state

    @property
    def only_reason(self) -> bool:
        """Same state, nothing to run or ask: only the reason to store has changed (e.g. a
        closed gate now names other stages)."""
        return not (self.changes_state or self.starts_action or self.request_decision)


def needs_person(milestone: Any, has_action: Callable[[str], bool]) -> bool:
    """True when a person must confirm (manual) or approve (irreversible) the milestone."""
    return bool(milestone.irreversible) or not has_action(milestone.action)


def decision_kind(milestone: Any) -> str:
    """``approval`` for an irreversible step, ``confirmation`` for a manual one."""
    return "approval" if milestone.irreversible else "confirmation"


def subject_of(milestone_id: str) -> str:
    """The ledger subject of a decision on a milestone instance."""
    return f"milestone:{milestone_id}"


def valid_decision(current: MilestoneState | None, d: Decision | None) -> Decision | None:
    """The decision that still counts in state ``current``.

    ``Facts.decision`` is already the newest decision given after the milestone last entered
    ``awaiting_approval``. It counts while the milestone waits, runs or failed after a yes.
    In ``blocked`` only a refusal counts (that refusal is why it is blocked): a yes followed
    by ``blocked`` means the gate or a dependency closed after the approval, which takes the
    approval back. Before it ever waited (pending), nothing counts.
    """
    if d is None:
        return None
    if current in (MilestoneState.awaiting_approval, MilestoneState.running,
                   MilestoneState.failed):
        return d
    if current is MilestoneState.blocked and not d.approved:
        return d
    return None


def decide_one(
    inst: Instance,
    facts: Facts,
    states: Mapping[str, MilestoneState | None],
    verdict: VerdictLike | None,
    as_of: date,
    has_action: Callable[[str], bool],
) -> Transition | None:
    """The transition for one instance, or None when it should stay exactly as it is."""
    current = facts.state
    if current in FINAL:
        return None
    m = inst.milestone
    date_come = inst.due is not None and inst.due <= as_of
    started = current in STARTED

    def to(state: MilestoneState, reason: str, **kw: bool) -> Transition | None:
        t = Transition(inst.id, state, reason, inst.due, from_state=current, **kw)
        if (not t.changes_state and not t.starts_action and not t.request_decision
                and reason == facts.detail):
            return None
        return t

    missing = [d for d in inst.depends_on if states.get(d) not in FINAL]
    if missing:
        reason = "väntar på " + ", ".join(missing)
        if date_come or started:
            return to(MilestoneState.blocked, reason)
        return to(MilestoneState.pending, reason)
    if verdict is not None and not verdict.open:
        why = "; ".join(verdict.reasons or ["skäl saknas"])
        reason = "förutsättningen är inte uppfylld: " + why
        if date_come or started:
            return to(MilestoneState.blocked, reason)
        return to(MilestoneState.pending, f"planerad {inst.due}; " + reason)
    if not date_come and not started:
        reason = f"planerad {inst.due}" if inst.due else "datum ännu okänt"
        return to(MilestoneState.pending, reason)

    if needs_person(m, has_action):
        kind = decision_kind(m)
        d = valid_decision(current, facts.decision)
        if d is None:
            what = "godkännande" if kind == "approval" else "bekräftelse"
            return to(MilestoneState.awaiting_approval, f"väntar på {what}", request_decision=True)
        if d.approved:
            if has_action(m.action):
                return to(
                    MilestoneState.running, f"godkänt av {d.approver}; åtgärden körs",
                    starts_action=True,
                )
            return to(MilestoneState.done, f"bekräftat klart av {d.approver}")
        if has_action(m.action):  # an irreversible action refused
            note = f": {d.comment}" if d.comment else ""
            return to(MilestoneState.blocked, f"avslaget av {d.approver}{note}", keeps_wait=True)
        # a manual step that is "not done yet": keep waiting and ask again
        return to(
            MilestoneState.awaiting_approval, f"inte klart ännu enligt {d.approver}",
            request_decision=True,
        )
    reason = "åtgärden körs" if current is not MilestoneState.failed else "nytt försök"
    return to(MilestoneState.running, reason, starts_action=True)


def decide(
    instances: Sequence[Instance],
    facts: Mapping[str, Facts],
    verdicts: Mapping[str, VerdictLike | None],
    as_of: date,
    has_action: Callable[[str], bool],
    apply: Callable[[Transition], MilestoneState] | None = None,
) -> list[Transition]:
    """Every transition to make now, in dependency order.

    ``verdicts`` is keyed by the *plan* milestone id (occurrences share their milestone's
    gate). Without ``apply`` this is pure: a started action leaves its milestone ``running``,
    so its dependants wait. With ``apply``, each transition is handed over as soon as it is
    decided and the state it returns (e.g. ``done`` once the action finished) is what the
    milestones after it see, so a chain of steps advances in one pass.
    """
    states = {i.id: facts.get(i.id, Facts()).state for i in instances}
    out: list[Transition] = []
    for inst in instances:
        t = decide_one(
            inst, facts.get(inst.id, Facts()), states, verdicts.get(inst.base_id), as_of,
            has_action,
        )
        if t is not None:
            out.append(t)
            states[inst.id] = apply(t) if apply is not None else t.to_state
    return out


# -- building the instances ---------------------------------------------------------------


def occurrence_id(milestone_id: str, when: date) -> str:
    """The ledger id of one occurrence of a recurring milestone: ``<id>@YYYY-MM``."""
    return f"{milestone_id}@{when:%Y-%m}"


def build_instances(
    milestones: Iterable[Any],
    due: Mapping[str, date],
    occurrences: Mapping[str, list[date]],
    as_of: date,
    done_on: Mapping[str, date],
    states: Mapping[str, MilestoneState | None] | None = None,
) -> list[Instance]:
    """The milestone instances in dependency order.

    A recurring milestone becomes one instance per occurrence (``<id>@YYYY-MM``): the latest
    one whose date has come, every earlier one since the series was first recorded in the
    ledger that is not done yet, and the next one ahead. So adopting the reconciler late
    does not ask about two years of past months at once, and once it runs daily no month is
    skipped. No occurrences after its ``until`` milestone is done (``done_on``).
    ``states`` are the ledger's states by id. Raises :class:`InputError` on a dependency
    cycle or an unknown dependency.
    """
    known = states or {}
    ordered = _topological(list(milestones))
    out: list[Instance] = []
    for m in ordered:
        deps = tuple(m.depends_on or ())
        rec = getattr(m, "recurring", None)
        if rec is None:
            out.append(Instance(m.id, m, due.get(m.id), deps))
            continue
        until = _attr(rec, "until")
        stop = done_on.get(until) if until else None
        dates = [d for d in sorted(occurrences.get(m.id, [])) if stop is None or d <= stop]
        past = [d for d in dates if d <= as_of]
        ahead = [d for d in dates if d > as_of][:1]
        recorded = [d for d in past if occurrence_id(m.id, d) in known]
        first = min(recorded) if recorded else (past[-1] if past else None)
        keep = [
            d for d in past
            if first is not None and d >= first
            and (d == past[-1] or known.get(occurrence_id(m.id, d)) not in FINAL)
        ]
        for when in keep + ahead:
            out.append(Instance(occurrence_id(m.id, when), m, when, deps))
    return out


def _attr(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def _topological(milestones: list[Any]) -> list[Any]:
    by_id = {m.id: m for m in milestones}
    done: dict[str, bool] = {}
    out: list[Any] = []

    def visit(mid: str, path: tuple[str, ...]) -> None:
        if done.get(mid):
            return
        if mid in path:
            raise InputError("dependency cycle in the plan: " + " → ".join((*path, mid)))
        m = by_id.get(mid)
        if m is None:
            raise InputError(f"milestone {path[-1]!r} depends on unknown milestone {mid!r}")
        for dep in m.depends_on or ():
            visit(dep, (*path, mid))
        done[mid] = True
        out.append(m)

    for m in milestones:
        visit(m.id, ())
    return out


def expand_dependencies(instances: list[Instance]) -> list[Instance]:
    """Dependencies on a recurring milestone mean: every occurrence so far is done."""
    per_base: dict[str, list[str]] = {}
    for i in instances:
        if i.id != i.base_id:
            per_base.setdefault(i.base_id, []).append(i.id)
    if not per_base:
        return instances
    out = []
    for i in instances:
        deps: list[str] = []
        for d in i.depends_on:
            deps.extend(per_base.get(d, [d]))
        out.append(replace(i, depends_on=tuple(deps)))
    return out


# -- rehearsal ------------------------------------------------------------------------------


@dataclass
class Rehearsal:
    """What a run would do, worked out in memory: the transitions in order and the end state."""

    transitions: list[Transition] = field(default_factory=list)
    facts: dict[str, Facts] = field(default_factory=dict)


def settle(
    instances: Sequence[Instance],
    facts: Mapping[str, Facts],
    verdicts: Mapping[str, VerdictLike | None],
    as_of: date,
    has_action: Callable[[str], bool],
    *,
    action_outcome: Callable[[Instance], MilestoneState] = lambda _i: MilestoneState.done,
    max_rounds: int = 100,
) -> Rehearsal:
    """What a run would do, in memory: :func:`decide` until nothing changes.

    Each started action is assumed to end in ``action_outcome(instance)`` (``done`` by
    default: "if every step succeeds"). Nobody answers a decision request. Nothing is written.
    """
    current = dict(facts)
    by_id = {i.id: i for i in instances}
    result = Rehearsal()
    ran: set[str] = set()

    def apply(t: Transition) -> MilestoneState:
        state, reason = t.to_state, t.reason
        if t.changes_state or (t.starts_action and t.milestone_id not in ran):
            result.transitions.append(t)
        if t.starts_action and t.milestone_id not in ran:
            ran.add(t.milestone_id)
            state = action_outcome(by_id[t.milestone_id])
            if state is not t.to_state:
                reason = f"åtgärden skulle ge: {state.value}"
                result.transitions.append(
                    replace(t, from_state=t.to_state, to_state=state, starts_action=False,
                            request_decision=False, reason=reason)
                )
        f = current.get(t.milestone_id, Facts())
        current[t.milestone_id] = replace(f, state=state, due=t.due, detail=reason)
        return state

    for _ in range(max_rounds):
        before = len(result.transitions)
        decide(instances, current, verdicts, as_of, has_action, apply)
        if len(result.transitions) == before:
            break
    result.facts = current
    return result

