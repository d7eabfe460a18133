"""The plan file: every validation problem is reported at once, each with its line."""

from __future__ import annotations

import textwrap
from datetime import date
from pathlib import Path

import pytest

from models.errors import ValidationFailed
from models.plan import Workstream, load_plan, load_plan_text, parse_due, shift
from models.settings import PLAN_DIR

GOOD = """\
title: Test
phases:
  - id: p1
    title: Fas 1
gates:
  all:
    all_live: true
milestones:
  - id: a
    title: Första
    owner: PM
    workstream: routines
    phase: p1
    due: 2026-01-10
  - id: b
    title: Andra
    owner: PM
    workstream: archive
    due: after a + 14d
    depends_on: [a]
  - id: c
    title: Tredje
    owner: PM
    workstream: archive
    due: transition + 30d
    depends_on: [b]
    gate: all
    irreversible: true
    approver_channel: godkannare
"""


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """The 1-based line of the ``nth`` line containing ``needle``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[nth - 1]


def problems_of(text: str) -> list[str]:
    with pytest.raises(ValidationFailed) as info:
        load_plan_text(textwrap.dedent(text), "p.yaml")
    return [str(p) for p in info.value.problems]


def test_a_sound_plan_loads() -> None:
    plan = load_plan_text(GOOD, "p.yaml")
    assert plan.ids == ["a", "b", "c"]
    assert plan.gate_for("c") is plan.gates["all"]
    assert plan.gate_for("a") is None
    assert plan.milestone("b").due_spec.anchor == "a"


def test_unknown_key_is_named_with_its_line() -> None:
    text = GOOD.replace("    phase: p1\n", "    phase: p1\n    owener: typo\n")
    assert problems_of(text) == [
        f"p.yaml:{line_of(text, 'owener')}: milestones[0].owener: unknown key "
        "(not part of the format; check the spelling)"
    ]


def test_unknown_top_level_key_and_gate_key() -> None:
    text = GOOD.replace("    all_live: true\n", "    all_live: true\n    areas_: [south]\n")
    text += "extra: 1\n"
    found = problems_of(text)
    at = line_of(text, "areas_")
    assert any(p.startswith(f"p.yaml:{at}: gates.all.areas_: unknown key") for p in found), found
    assert any(p.startswith("p.yaml:") and "extra: unknown key" in p for p in found), found


def test_duplicate_milestone_id() -> None:
    text = GOOD.replace("  - id: b\n", "  - id: a\n").replace(
        "after a + 14d\n    depends_on: [a]", "2026-02-01"
    )
    text = text.replace("depends_on: [b]", "depends_on: [a]")
    assert problems_of(text) == [
        f"p.yaml:{line_of(text, 'id: a', 2)}: milestones[1].id: duplicate milestone id 'a' "
        f"(first defined at milestones[0], line {line_of(text, 'id: a')})"
    ]


def test_unknown_ids_everywhere_are_all_reported_with_near_matches() -> None:
    text = GOOD.replace("depends_on: [a]", "depends_on: [aa, zzz]").replace("gate: all", "gate: al")
    found = problems_of(text)
    dep, gate = line_of(text, "[aa, zzz]"), line_of(text, "gate: al")
    assert found == [
        f"p.yaml:{dep}: milestones[1].depends_on[0]: unknown milestone 'aa' (did you mean 'a'?)",
        f"p.yaml:{dep}: milestones[1].depends_on[1]: unknown milestone 'zzz'",
        f"p.yaml:{gate}: milestones[2].gate: unknown gate 'al' (did you mean 'all'?)",
    ]


def test_dependency_cycle_is_named() -> None:
    text = GOOD.replace("    phase: p1\n", "    phase: p1\n    depends_on: [c]\n")
    assert problems_of(text) == [
        f"p.yaml:{line_of(text, 'depends_on: [c]')}: milestones[0].depends_on: "
        "dependency cycle: a → c → b → a"
    ]


def test_self_dependency_is_a_cycle() -> None:
    text = GOOD.replace("depends_on: [b]", "depends_on: [c]")
    assert any("dependency cycle: c → c" in p for p in problems_of(text))


def test_unresolvable_relative_dates() -> None:
    text = GOOD.replace("due: 2026-01-10", "due: after c + 1d").replace(
        "due: transition + 30d", "due: before a - 3d"
    )
    found = problems_of(text)
    assert any("unresolvable relative date" in p and "a → c → a" in p for p in found), found
    text = GOOD.replace("due: after a + 14d", "due: after nowhere + 14d")
    assert problems_of(text) == [
        f"p.yaml:{line_of(text, 'nowhere')}: milestones[1].due: cannot resolve "
        "'after nowhere + 14d': unknown milestone 'nowhere'"
    ]


@pytest.mark.parametrize(
    ("due", "message"),
    [
        ("someday", "cannot read due date 'someday'"),
        ("after a - 3d", "'after' takes a '+' offset"),
        ("transition + 3y", "cannot read due date"),
        ("area middle + 3d", "unknown area 'middle'"),
    ],
)
def test_unreadable_due_expressions(due: str, message: str) -> None:
    text = GOOD.replace("due: after a + 14d", f"due: {due}")
    found = problems_of(text)
    at = line_of(text, f"due: {due}")
    assert len(found) == 1 and found[0].startswith(f"p.yaml:{at}: milestones[1].due: "), found
    assert message in found[0]


def test_irreversible_milestone_without_gate() -> None:
    text = GOOD.replace("    gate: all\n", "")
    assert problems_of(text) == [
        f"p.yaml:{line_of(text, 'irreversible')}: milestones[2].irreversible: milestone 'c' is "
        "irreversible but has no gate; nothing that cannot be undone may run without a gate on "
        "the successor's rollout"
    ]


def test_irreversible_milestone_without_its_approvers_channel() -> None:
    """The one-time code for an irreversible step goes to its approver's own channel: a plan
    that names none is refused, and a tag that reaches everyone is no approver's channel."""
    text = GOOD.replace("    approver_channel: godkannare\n", "")
    assert problems_of(text) == [
        f"p.yaml:{line_of(text, 'irreversible')}: milestones[2].irreversible: milestone 'c' is "
        "irreversible but names no approver_channel: give the notify tag of its approver's own "
        "channel, where the one-time code for the approval is sent"
    ]
    found = problems_of(GOOD.replace("approver_channel: godkannare", "approver_channel: always"))
    assert any("milestones[2].approver_channel: approver_channel 'always' reaches every channel"
               in line for line in found), found


def test_impossible_dates() -> None:
    # no 30 February
    found = problems_of(GOOD.replace("due: 2026-01-10", "due: 2026-02-30"))
    assert found == [
        f"p.yaml:{line_of(GOOD, '2026-01-10')}: milestones[0].due: impossible date "
        "'2026-02-30': no such day in the calendar"
    ]
    # due before what it depends on
    text = GOOD.replace("due: after a + 14d", "due: 2025-12-01")
    assert problems_of(text) == [
        f"p.yaml:{line_of(text, '2025-12-01')}: milestones[1].due: impossible date: due "
        "2025-12-01 but it depends on 'a', due 2026-01-10"
    ]
    # before a milestone it depends on
    text = GOOD.replace("due: after a + 14d", "due: before a - 1d")
    assert any("due before 'a', which it depends on" in p for p in problems_of(text))
    # a monthly day not every month has
    text = GOOD.replace(
        "    phase: p1\n", "    phase: p1\n    recurring: {every: month, day: 31, until: c}\n"
    )
    found = problems_of(text)
    assert found == [
        f"p.yaml:{line_of(text, 'day: 31')}: milestones[0].recurring.day: impossible day 31: "
        "a monthly milestone needs a day 1-28, which every month has"
    ]


def test_every_problem_at_once_in_file_order() -> None:
    text = (
        GOOD.replace("    phase: p1\n", "    phase: p9\n    colour: red\n")
        .replace("depends_on: [a]", "depends_on: [x]")
        .replace("    gate: all\n", "")
        .replace("workstream: archive", "workstream: arkiv", 1)
    )
    found = problems_of(text)
    assert len(found) == 5, found
    lines = [int(p.split(":")[1]) for p in found]
    assert lines == sorted(lines)
    joined = "\n".join(found)
    for expected in (
        "milestones[0].colour: unknown key",
        "milestones[0].phase: unknown phase 'p9'",
        "milestones[1].workstream: Input should be",
        "milestones[1].depends_on[0]: unknown milestone 'x'",
        "milestones[2].irreversible: milestone 'c' is irreversible but has no gate",
    ):
        assert expected in joined


def test_duplicate_yaml_key_is_not_silently_overwritten() -> None:
    text = GOOD.replace("    due: 2026-01-10\n", "    due: 2026-01-10\n    due: 2026-03-01\n")
    assert problems_of(text) == [
        f"p.yaml:{line_of(text, '2026-03-01')}: milestones[0].due: duplicate key 'due' "
        f"(first at line {line_of(text, '2026-01-10')}; YAML would silently keep only the last)"
    ]


def test_yaml_syntax_error_names_its_line() -> None:
    found = problems_of("milestones:\n  - id: a\n   title: [oops\n")
    assert len(found) == 1 and found[0].startswith("p.yaml:3: not valid YAML")


def test_empty_gate_and_integration_without_name() -> None:
    text = GOOD.replace("    all_live: true\n", "    description: nothing\n").replace(
        "    workstream: routines\n",
        "    workstream: routines\n    action: integration\n",
    )
    found = problems_of(text)
    assert any("gates.all: gate has no condition" in p for p in found), found
    assert any("action 'integration' needs action_params.integration" in p for p in found)


def test_budget_frame_running_backwards() -> None:
    text = GOOD + "budget:\n  total_per_year_sek: {2026: 1000}\n  frames_percent: {2026: [4, 2]}\n"
    assert any("frame 4.0-2.0 % runs backwards" in p for p in problems_of(text))


def test_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed) as info:
        load_plan(tmp_path / "nope.yaml")
    assert "plan file not found" in str(info.value)
    assert info.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "kind", "anchor", "amount", "unit"),
    [
        ("2026-03-31", "absolute", None, 0, "d"),
        ("transition", "transition", None, 0, "d"),
        ("transition + 90d", "transition", None, 90, "d"),
        ("before transition - 6m", "transition", None, -6, "m"),
        ("after x-y + 2w", "after", "x-y", 2, "w"),
        ("before z - 30d", "before", "z", -30, "d"),
        ("area west + 30d", "area", "west", 30, "d"),
    ],
)
def test_due_grammar(text: str, kind: str, anchor: str | None, amount: int, unit: str) -> None:
    spec = parse_due(text)
    assert (spec.kind, spec.anchor, spec.amount, spec.unit) == (kind, anchor, amount, unit)


def test_month_shift_clamps_to_month_end() -> None:
    assert shift(date(2027, 1, 31), 1, "m") == date(2027, 2, 28)
    assert shift(date(2027, 3, 27), 12, "m") == date(2028, 3, 27)
    assert shift(date(2027, 3, 27), -6, "m") == date(2026, 9, 27)


# -- the real plan -------------------------------------------------------------------------


def test_real_plan_is_valid_and_covers_the_phase_out() -> None:
    plan = load_plan(PLAN_DIR / "samsa-phaseout.yaml")
    assert len(plan.milestones) >= 25
    assert {m.workstream for m in plan.milestones} == set(Workstream)
    ids = set(plan.ids)
    for required in (
        "stop-new-development",
        "stop-new-connections",
        "final-monthly-statistics",
        "notice-all-users",
        "extracts-per-organisation-delivered",
        "extracts-all-receipted",
        "archive-package-delivered",
        "archive-accepted",
        "register-extract-routine-moved",
        "user-accounts-closed",
        "samsa-db-deleted",
        "decommissioning-completed",
    ):
        assert required in ids
    integrations = {
        m.action_params["integration"] for m in plan.milestones if m.action == "integration"
    }
    assert integrations >= {
        "elvis",
        "befreg",
        "population-register",
        "siths-hsa",
        "en-vag-in",
        "utdata",
        "larplattformen",
    }
    recurring = {m.id: m.recurring for m in plan.milestones if m.recurring}
    assert recurring["monthly-process-statistics"].until == "final-monthly-statistics"
    assert recurring["monthly-security-review"].until == "samsa-db-deleted"
    assert plan.budget.frames_percent == {2025: (2, 4), 2026: (2, 4), 2027: (1, 2)}


def test_real_plan_deletes_the_database_only_after_an_accepted_archive() -> None:
    plan = load_plan(PLAN_DIR / "samsa-phaseout.yaml")
    db = plan.milestone("samsa-db-deleted")
    assert db.irreversible and db.gate == "successor-stable"
    assert {"archive-accepted", "extracts-all-receipted"} <= set(db.depends_on)
    gate = plan.gates["successor-stable"]
    assert gate.all_live and gate.live_for_days >= 90
    assert all(m.gate for m in plan.milestones if m.irreversible)
    assert plan.milestone("decommissioning-completed").due == "transition + 12m"


def test_a_long_chain_of_milestones_loads_and_schedules() -> None:
    """No recursion limit: 1,500 milestones each anchored on the one before."""
    from models.rollout import Rollout, Stage
    from models.schedule import compute_schedule

    rows = ["milestones:"]
    for i in range(1500):
        due = "transition" if i == 0 else f"after m{i - 1} + 1d"
        deps = f"[m{i - 1}]" if i else "[]"
        rows.append(
            f"  - {{id: m{i}, title: M, owner: PM, workstream: archive, due: '{due}', "
            f"depends_on: {deps}}}"
        )
    plan = load_plan_text("\n".join(rows) + "\n", "long.yaml")
    live = Stage(
        id="s",
        name="S",
        areas=["south"],
        status="live",  # type: ignore[arg-type]
        actual_go_live=date(2026, 1, 1),
    )
    s = compute_schedule(plan, Rollout(stages=[live]), date(2026, 11, 27))
    assert s.due["m1499"] == date(2026, 1, 1) + (s.due["m1"] - s.due["m0"]) * 1499
    # and a cycle closing the chain is found and named
    with pytest.raises(ValidationFailed) as info:
        load_plan_text("\n".join(rows).replace("depends_on: []", "depends_on: [m1499]") + "\n")
    assert "dependency cycle: m0 → m1499 → m1498" in str(info.value)
