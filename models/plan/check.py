"""The plan's cross-reference checks: what no single model can see on its own.

:func:`check_plan` returns every problem of an already-parsed :class:`~models.plan.model.Plan`
at once, each placed by a :class:`~models.yamlsource.LineMap` (``samsa-phaseout.yaml:123:
milestones[4].depends_on: unknown milestone 'foo'``):

- duplicate phase or milestone ids; unknown milestones, gates and phases, with "did you mean"
  hints;
- gates without a condition (they would always be open) and irreversible milestones without
  a gate;
- dependency cycles and relative dates that hang on each other in a cycle (named);
- impossible orderings visible without the rollout (due before a milestone it depends on);
- budget frames that run backwards or lack a yearly total.

:func:`anchor_order` orders milestones so every date anchor comes before the milestones
hanging on it (the schedule resolves dates in that order).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from models.errors import Problem
from models.graph import find_cycles
from models.plan.model import Milestone, Plan, near_matches
from models.yamlsource import LineMap


def anchor_order(plan: Plan) -> list[str]:
    """Milestone ids ordered so that every date anchor (``after``/``before`` milestone, a
    recurring series' ``until``) comes before the milestones hanging on it. Anchors in a
    cycle or unknown are left out of the ordering constraints (validation reports them)."""
    ids = {m.id for m in plan.milestones}
    anchors: dict[str, list[str]] = {}
    for m in plan.milestones:
        found: list[str] = []
        try:
            spec = m.due_spec
        except ValueError:
            spec = None
        if spec is not None and spec.kind in ("after", "before") and spec.anchor in ids:
            found.append(spec.anchor)  # type: ignore[arg-type]
        if m.recurring is not None and m.recurring.until in ids:
            found.append(m.recurring.until)
        anchors.setdefault(m.id, []).extend(found)
    order: list[str] = []
    color: dict[str, int] = {}
    for root in anchors:
        if root in color:
            continue
        color[root] = 1
        stack = [(root, iter(anchors[root]))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                color[node] = 2
                order.append(node)
            elif nxt not in color:
                color[nxt] = 1
                stack.append((nxt, iter(anchors.get(nxt, []))))
    return order


def _static_dates(plan: Plan) -> dict[str, date]:
    """Dates that follow from absolute dates alone (no rollout needed)."""
    by_id = {m.id: m for m in plan.milestones}
    out: dict[str, date] = {}
    for mid in anchor_order(plan):
        if by_id[mid].recurring is not None:  # its date is its last occurrence
            continue
        try:
            spec = by_id[mid].due_spec
        except ValueError:
            continue
        if spec.kind == "absolute":
            out[mid] = spec.absolute  # type: ignore[assignment]
        elif spec.kind in ("after", "before") and spec.anchor in out:
            out[mid] = spec.apply(out[spec.anchor])  # type: ignore[index]
    return out


def check_plan(plan: Plan, lines: LineMap | None = None) -> list[Problem]:
    """Every cross-reference problem of an already-parsed plan (empty when it is sound)."""
    lm = lines or LineMap("plan")
    problems = _duplicate_phases(plan, lm)
    first_at, duplicates = _first_definitions(plan, lm)
    problems += duplicates
    problems += _empty_gates(plan, lm)
    deps, anchors, references = _references(plan, lm, set(first_at))
    problems += references
    problems += _cycles(deps, anchors, first_at, lm)
    problems += _impossible_orderings(plan, first_at, lm)
    problems += _budget_problems(plan, lm)
    return problems


def _duplicate_phases(plan: Plan, lm: LineMap) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, p in enumerate(plan.phases):
        if p.id in seen:
            problems.append(lm.problem(("phases", i, "id"), f"duplicate phase id '{p.id}'"))
        seen.add(p.id)
    return problems


def _first_definitions(plan: Plan, lm: LineMap) -> tuple[dict[str, int], list[Problem]]:
    """Each milestone id → the index of its first definition; a later one is a problem."""
    first_at: dict[str, int] = {}
    problems: list[Problem] = []
    for i, m in enumerate(plan.milestones):
        if m.id in first_at:
            first = lm.line(("milestones", first_at[m.id]))
            problems.append(
                lm.problem(
                    ("milestones", i, "id"),
                    f"duplicate milestone id '{m.id}' "
                    f"(first defined at milestones[{first_at[m.id]}]"
                    + (f", line {first})" if first else ")"),
                )
            )
        else:
            first_at[m.id] = i
    return first_at, problems


def _empty_gates(plan: Plan, lm: LineMap) -> list[Problem]:
    return [
        lm.problem(
            ("gates", name),
            "gate has no condition (give stages, areas, functions, organisations or "
            "all_live); an empty gate would always be open",
        )
        for name, gate in plan.gates.items()
        if not gate.has_conditions
    ]


def _references(
    plan: Plan, lm: LineMap, ids: set[str]
) -> tuple[dict[str, list[str]], dict[str, list[str]], list[Problem]]:
    """Each milestone's known dependencies and date anchors, and every reference that does
    not resolve (milestones, gates, phases) or is unsafe (irreversible without a gate)."""

    def unknown(word: str) -> str:
        return f"unknown milestone '{word}'" + _hint(near_matches(word, sorted(ids)))

    deps: dict[str, list[str]] = {}
    anchors: dict[str, list[str]] = {}
    problems: list[Problem] = []
    for i, m in enumerate(plan.milestones):
        here = ("milestones", i)
        if m.id not in deps:
            deps[m.id], anchors[m.id] = [], []
        for j, d in enumerate(m.depends_on):
            if d not in ids:
                problems.append(lm.problem((*here, "depends_on", j), unknown(d)))
            else:
                deps[m.id].append(d)
        spec = m.due_spec
        if spec.anchor is not None and spec.kind in ("after", "before"):
            if spec.anchor not in ids:
                problems.append(
                    lm.problem((*here, "due"), f"cannot resolve '{m.due}': {unknown(spec.anchor)}")
                )
            else:
                anchors[m.id].append(spec.anchor)
        if m.recurring is not None:
            until = m.recurring.until
            if until == m.id:
                problems.append(
                    lm.problem(
                        (*here, "recurring", "until"), "a recurring milestone cannot end at itself"
                    )
                )
            elif until not in ids:
                problems.append(lm.problem((*here, "recurring", "until"), unknown(until)))
            else:
                anchors[m.id].append(until)
        problems += _milestone_guards(plan, m, here, lm)
    return deps, anchors, problems


def _milestone_guards(
    plan: Plan, m: Milestone, here: tuple[str, int], lm: LineMap
) -> list[Problem]:
    """A milestone's gate and phase exist, and an irreversible one has a gate."""
    problems: list[Problem] = []
    if m.gate is not None and m.gate not in plan.gates:
        near = near_matches(m.gate, sorted(plan.gates))
        problems.append(
            lm.problem(
                (*here, "gate"),
                f"unknown gate '{m.gate}'"
                + (
                    _hint(near)
                    if near
                    else f" (known gates: {', '.join(sorted(plan.gates)) or 'none'})"
                ),
            )
        )
    if m.irreversible and m.gate is None:
        problems.append(
            lm.problem(
                (*here, "irreversible"),
                f"milestone '{m.id}' is irreversible but has no gate; nothing that cannot be "
                "undone may run without a gate on the successor's rollout",
            )
        )
    if m.irreversible and not m.approver_channel:
        problems.append(
            lm.problem(
                (*here, "irreversible"),
                f"milestone '{m.id}' is irreversible but names no approver_channel: give the "
                "notify tag of its approver's own channel, where the one-time code for the "
                "approval is sent",
            )
        )
    phase_ids = {p.id for p in plan.phases}
    if m.phase is not None and m.phase not in phase_ids:
        problems.append(
            lm.problem(
                (*here, "phase"),
                f"unknown phase '{m.phase}' (known: {', '.join(sorted(phase_ids)) or 'none'})",
            )
        )
    return problems


def _hint(near: list[str]) -> str:
    return f" (did you mean {', '.join(repr(n) for n in near)}?)" if near else ""


def _cycles(
    deps: dict[str, list[str]],
    anchors: dict[str, list[str]],
    first_at: dict[str, int],
    lm: LineMap,
) -> list[Problem]:
    problems: list[Problem] = []
    named: list[tuple[dict[str, list[str]], str, Callable[[list[str]], str]]] = [
        (deps, "depends_on", lambda cycle: "dependency cycle: " + " → ".join(cycle)),
        (
            anchors,
            "due",
            lambda cycle: (
                "unresolvable relative date: the dates hang on each other in a "
                "cycle: " + " → ".join(cycle)
            ),
        ),
    ]
    for graph, field, message in named:
        for cycle in find_cycles(graph):
            problems.append(lm.problem(("milestones", first_at[cycle[0]], field), message(cycle)))
    return problems


def _impossible_orderings(plan: Plan, first_at: dict[str, int], lm: LineMap) -> list[Problem]:
    """Orderings that are impossible already from the absolute dates (no rollout needed)."""
    problems: list[Problem] = []
    static = _static_dates(plan)
    for i, m in enumerate(plan.milestones):
        if first_at.get(m.id) != i or m.id not in static:
            continue
        for d in m.depends_on:
            if d in static and static[d] > static[m.id]:
                problems.append(
                    lm.problem(
                        ("milestones", i, "due"),
                        f"impossible date: due {static[m.id]} but it depends on '{d}', due "
                        f"{static[d]}",
                    )
                )
        spec = m.due_spec
        if spec.kind == "before" and spec.anchor in m.depends_on:
            problems.append(
                lm.problem(
                    ("milestones", i, "due"),
                    f"impossible date: due before '{spec.anchor}', which it depends on",
                )
            )
    return problems


def _budget_problems(plan: Plan, lm: LineMap) -> list[Problem]:
    problems: list[Problem] = []
    b = plan.budget
    for year, (low, high) in b.frames_percent.items():
        where = ("budget", "frames_percent", str(year))
        if low > high:
            problems.append(lm.problem(where, f"frame {low}-{high} % runs backwards"))
        if year not in b.total_per_year_sek:
            problems.append(lm.problem(where, f"no total_per_year_sek for {year}"))
    return problems
