"""Gate evaluation: open only when the successor really covers what the gate asks for."""

from __future__ import annotations

from datetime import date
from typing import Any

from models.plan import Gate, load_plan
from models.rollout import Rollout, Stage
from models.settings import PLAN_DIR
from tasks.gates import evaluate_gate
from tasks.rollout_source import load_rollout

AS_OF = date(2026, 11, 27)
FUNCS = {"inskrivning": "Inskrivningsmeddelande", "en-vag-in": "Remisser från En väg in"}


def stage(sid: str, areas: list[str], status: str, **kw: Any) -> Stage:
    data = {
        "id": sid,
        "name": f"Etapp {sid}",
        "areas": areas,
        "status": status,
        "functions": list(FUNCS),
        **kw,
    }
    return Stage.model_validate(data)


def rollout(*stages: Stage) -> Rollout:
    return Rollout(stages=list(stages), functions=FUNCS, source="test")


SOUTH_1 = stage("s1", ["south"], "live", actual_go_live="2026-09-01", organisations=["Borås"])
SOUTH_2 = stage("s2", ["south"], "live", actual_go_live="2026-11-20", organisations=["Vårgårda"])
NORTH_EAST = stage(
    "ne", ["north", "east"], "planned", planned_go_live="2027-04-15", organisations=["Uddevalla"]
)
WEST = stage("w", ["west"], "planned", planned_go_live="2026-10-15", organisations=["Göteborg"])


def test_no_gate_is_open() -> None:
    verdict = evaluate_gate(None, rollout(), AS_OF)
    assert verdict.open
    assert verdict.reasons == ["ingen förutsättning: får utföras när beroendena är klara"]


def test_live_area_opens_its_gate() -> None:
    verdict = evaluate_gate(Gate(areas=["south"]), rollout(SOUTH_1, SOUTH_2, WEST), AS_OF)
    assert verdict.open
    assert verdict.reasons == [
        "Etapp s1: i drift sedan 2026-09-01",
        "Etapp s2: i drift sedan 2026-11-20",
    ]


def test_planned_area_keeps_it_closed_with_a_readable_reason() -> None:
    r = rollout(SOUTH_1, SOUTH_2, NORTH_EAST, WEST)
    verdict = evaluate_gate(Gate(areas=["west"]), r, date(2026, 10, 1))
    assert not verdict.open
    assert verdict.reasons == ["Västra området: planerad 2026-10-15, ännu inte i drift"]
    late = evaluate_gate(Gate(areas=["west"]), r, AS_OF)
    assert late.reasons == ["Västra området: planerad 2026-10-15, försenad och ännu inte i drift"]
    english = evaluate_gate(Gate(areas=["west"]), r, date(2026, 10, 1), lang="en")
    assert english.reasons == ["Western area: planned 2026-10-15, not live yet"]


def test_partially_live_area_is_closed() -> None:
    half = stage("s2", ["south"], "planned", planned_go_live="2026-12-10")
    verdict = evaluate_gate(Gate(areas=["south"]), rollout(SOUTH_1, half), AS_OF)
    assert not verdict.open
    assert verdict.reasons == ["Etapp s2: planerad 2026-12-10, ännu inte i drift"]
    assert [c.ok for c in verdict.checks] == [True, False]


def test_paused_stage_keeps_the_gate_closed() -> None:
    paused = stage(
        "s1",
        ["south"],
        "paused",
        planned_go_live="2024-11-12",
        actual_go_live="2024-11-12",
        paused_on="2024-11-15",
    )
    verdict = evaluate_gate(Gate(areas=["south"]), rollout(paused), AS_OF)
    assert not verdict.open
    assert verdict.reasons == ["Södra området: i drift 2024-11-12 men pausad sedan 2024-11-15"]


def test_cancelled_stage_keeps_the_gate_closed() -> None:
    gone = stage("w", ["west"], "cancelled", planned_go_live="2026-10-15")
    verdict = evaluate_gate(Gate(all_live=True), rollout(SOUTH_1, SOUTH_2, gone), AS_OF)
    assert not verdict.open
    assert verdict.reasons == ["Västra området: avbruten, ingen ersättning i drift"]


def test_live_for_days_waits_for_stable_operation() -> None:
    gate = Gate(areas=["south"], live_for_days=30)
    r = rollout(SOUTH_1, SOUTH_2)
    verdict = evaluate_gate(gate, r, AS_OF)
    assert not verdict.open
    assert verdict.reasons == ["Etapp s2: i drift sedan 2026-11-20, 7 av 30 dagars stabil drift"]
    assert evaluate_gate(gate, r, date(2026, 12, 20)).open
    assert not evaluate_gate(gate, r, date(2026, 12, 19)).open


def test_a_go_live_date_still_ahead_does_not_count() -> None:
    future = stage("w", ["west"], "live", actual_go_live="2027-09-13")
    verdict = evaluate_gate(Gate(areas=["west"]), rollout(future), AS_OF)
    assert not verdict.open
    assert verdict.reasons == [
        "Västra området: markerad i drift från 2027-09-13, den dagen har inte kommit"
    ]
    assert evaluate_gate(Gate(areas=["west"]), rollout(future), date(2027, 9, 13)).open


def test_all_live_needs_every_stage_and_every_function_everywhere() -> None:
    west_live = stage("w", ["west"], "live", actual_go_live="2026-10-15", functions=["inskrivning"])
    r = rollout(SOUTH_1, SOUTH_2, west_live)
    verdict = evaluate_gate(Gate(all_live=True), r, AS_OF)
    assert not verdict.open
    assert verdict.reasons == ["Västra området: ingen etapp tar över Remisser från En väg in"]
    ok = rollout(SOUTH_1, SOUTH_2, stage("w", ["west"], "live", actual_go_live="2026-10-15"))
    assert evaluate_gate(Gate(all_live=True), ok, AS_OF).open


def test_function_gate_checks_every_stage_carrying_it() -> None:
    r = rollout(SOUTH_1, SOUTH_2, NORTH_EAST)
    verdict = evaluate_gate(Gate(functions=["en-vag-in"]), r, AS_OF)
    assert not verdict.open
    assert verdict.reasons == [
        "Norra området och Östra området: planerad 2027-04-15, ännu inte i drift"
    ]
    unknown = evaluate_gate(Gate(functions=["fax"]), r, AS_OF)
    assert unknown.reasons == ["funktionen 'fax' finns inte i utrullningsdata"]


def test_organisation_gate() -> None:
    r = rollout(SOUTH_1, SOUTH_2, WEST)
    assert evaluate_gate(Gate(organisations=["Borås", "Vårgårda"]), r, AS_OF).open
    verdict = evaluate_gate(Gate(organisations=["Borås", "Göteborg", "Ankeborg"]), r, AS_OF)
    assert not verdict.open
    assert verdict.reasons == [
        "Göteborg: planerad 2026-10-15, försenad och ännu inte i drift",
        "Ankeborg: ingen etapp omfattar organisationen",
    ]


def test_unknown_stage_and_empty_rollout_fail_closed() -> None:
    verdict = evaluate_gate(Gate(stages=["etapp-9"]), rollout(SOUTH_1), AS_OF)
    assert not verdict.open
    assert verdict.reasons == ["etappen 'etapp-9' finns inte i utrullningsdata (test)"]
    assert not evaluate_gate(Gate(all_live=True), rollout(), AS_OF).open
    assert not evaluate_gate(Gate(areas=["north"]), rollout(SOUTH_1), AS_OF).open
    assert not evaluate_gate(Gate(), rollout(SOUTH_1), AS_OF).open


def test_every_gate_of_the_real_plan_is_closed_today() -> None:
    plan = load_plan(PLAN_DIR / "samsa-phaseout.yaml")
    real = load_rollout(PLAN_DIR / "rollout.yaml")
    for name, gate in plan.gates.items():
        verdict = evaluate_gate(gate, real, AS_OF, name=name)
        assert not verdict.open, name
        assert all("pausad" in r or "ingen" in r for r in verdict.reasons), verdict.reasons


def test_resumed_scenario_opens_gates_as_time_passes() -> None:
    plan = load_plan(PLAN_DIR / "samsa-phaseout.yaml")
    resumed = load_rollout(PLAN_DIR / "rollout-resumed.yaml")

    def open_gates(day: date) -> set[str]:
        return {n for n, g in plan.gates.items() if evaluate_gate(g, resumed, day).open}

    # each area's gate waits for its counterparty, the western area (live 2027-09-13)
    assert open_gates(AS_OF) == set()
    assert open_gates(date(2027, 4, 14)) == set()
    areas = {"area-south-live", "area-north-live", "area-east-live", "area-west-live"}
    assert areas <= open_gates(date(2027, 10, 13))
    assert "successor-stable" not in open_gates(date(2027, 12, 11))
    assert open_gates(date(2027, 12, 12)) == set(plan.gates)


RESUMED = stage(
    "s1", ["south"], "live", actual_go_live="2024-11-12", paused_on="2024-11-15",
    resumed_on="2026-03-16", organisations=["Borås"],
)  # fmt: skip


def test_a_resumed_stage_counts_its_days_live_from_the_resumption() -> None:
    """Live 2024-11-12, paused three days later, live again 2026-03-16: a 30-day gate must
    not open on the day of the resumption because of the first go-live 16 months earlier."""
    gate = Gate(areas=["south"], live_for_days=30)
    on_resumption = evaluate_gate(gate, rollout(RESUMED), date(2026, 3, 16))
    assert not on_resumption.open
    assert on_resumption.reasons == [
        "Södra området: i drift sedan 2026-03-16, 0 av 30 dagars stabil drift"
    ]
    assert not evaluate_gate(gate, rollout(RESUMED), date(2026, 4, 14)).open  # 29 days
    assert evaluate_gate(gate, rollout(RESUMED), date(2026, 4, 15)).open  # 30 days
    assert RESUMED.live_days(date(2026, 4, 15)) == 30


def test_a_live_stage_paused_after_going_live_must_say_when_it_resumed() -> None:
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="set resumed_on"):
        stage("s1", ["south"], "live", actual_go_live="2024-11-12", paused_on="2024-11-15")
    with pytest.raises(ValidationError, match="needs an earlier paused_on"):
        stage("s1", ["south"], "live", actual_go_live="2024-11-12", paused_on="2025-02-01",
              resumed_on="2025-01-01")  # fmt: skip
    with pytest.raises(ValidationError, match="set status 'live'"):
        stage("s1", ["south"], "paused", actual_go_live="2024-11-12", paused_on="2024-11-15",
              resumed_on="2026-03-16")  # fmt: skip


# -- patients who cross areas (issue 16 §4) ---------------------------------------------------

SOUTH_LIVE = stage("s", ["south"], "live", actual_go_live="2026-09-01",
                   organisations=["VGR Södra området", "Borås"])  # fmt: skip
WEST_FROM_MARCH = stage("w", ["west"], "live", actual_go_live="2027-03-01",
                     organisations=["VGR Västra området", "Göteborg"])  # fmt: skip
BORAS_RESIDENTS = {
    "organisation": "VGR Västra området",
    "exchange": "Sahlgrenska skriver ut Boråsbor",
}


def crossing(*stages: Stage, counterparties: dict[str, list[dict[str, str]]]) -> Rollout:
    return Rollout.model_validate(
        {"stages": list(stages), "functions": FUNCS, "source": "test",
         "counterparties": counterparties}
    )  # fmt: skip


def test_a_boras_resident_discharged_in_the_west_keeps_the_south_in_samsa() -> None:
    """The south is live; Sahlgrenska in the western area still uses SAMSA to tell Borås that
    a Borås resident is ready for discharge. The south may not leave SAMSA yet."""
    r = crossing(SOUTH_LIVE, WEST_FROM_MARCH, counterparties={"south": [BORAS_RESIDENTS]})
    verdict = evaluate_gate(Gate(areas=["south"], live_for_days=30), r, AS_OF)
    assert not verdict.open
    assert verdict.blocking == [
        "Södra området: motparten VGR Västra området täcks inte av efterträdaren – "
        "Västra området: markerad i drift från 2027-03-01, den dagen har inte kommit. "
        "Sahlgrenska skriver ut Boråsbor"
    ]
    # once the west is live, the same gate opens and says why
    later = evaluate_gate(Gate(areas=["south"], live_for_days=30), r, date(2027, 3, 2))
    assert later.open
    assert (
        "Södra området: motparten VGR Västra området täcks av efterträdaren" in (later.reasons[0])
    )


def test_the_west_waits_for_every_area_it_notifies_and_names_each() -> None:
    r = crossing(
        stage("w", ["west"], "live", actual_go_live="2026-09-01", organisations=["Göteborg"]),
        SOUTH_LIVE,
        NORTH_EAST,
        counterparties={"west": [
            {"area": "south", "exchange": "Sahlgrenska skickar till kommunerna i söder"},
            {"area": "north", "exchange": "Sahlgrenska skickar till kommunerna i norr"},
        ]},
    )  # fmt: skip
    verdict = evaluate_gate(Gate(areas=["west"]), r, AS_OF)
    assert not verdict.open
    assert len(verdict.blocking) == 1
    assert verdict.blocking[0].startswith(
        "Västra området: motparten Norra området täcks inte av efterträdaren"
    )
    assert any("motparten Södra området täcks av" in c.text for c in verdict.checks if c.ok)


def test_an_area_gate_cannot_be_opened_by_a_paused_counterparty_or_an_unknown_one() -> None:
    paused_west = stage("w", ["west"], "paused", actual_go_live="2026-09-01",
                        paused_on="2026-09-03", organisations=["VGR Västra området"])  # fmt: skip
    r = crossing(SOUTH_LIVE, paused_west, counterparties={"south": [BORAS_RESIDENTS]})
    assert not evaluate_gate(Gate(areas=["south"]), r, AS_OF).open
    # a counterparty area with no stage at all is not covered (fail-safe)
    r = crossing(SOUTH_LIVE, counterparties={"south": [{"area": "east", "exchange": "x"}]})
    verdict = evaluate_gate(Gate(areas=["south"]), r, AS_OF)
    assert not verdict.open and "ingen etapp omfattar motparten" in verdict.blocking[0]


def test_a_counterparty_that_is_in_no_stage_is_a_rollout_error() -> None:
    import pytest

    from models.errors import ValidationFailed
    from models.rollout import parse_rollout
    from models.yamlsource import LineMap

    data = {
        "functions": FUNCS,
        "stages": [SOUTH_LIVE.model_dump(mode="json")],
        "counterparties": {"south": [{"organisation": "Sahlgrensk", "exchange": "x"}]},
    }
    with pytest.raises(ValidationFailed) as caught:
        parse_rollout(data, LineMap("rollout.yaml"))
    assert "'Sahlgrensk' is in no stage's organisations" in str(caught.value)
    data["counterparties"] = {"south": [{"organisation": "Borås", "area": "west",
                                         "exchange": "x"}]}  # fmt: skip
    with pytest.raises(ValidationFailed, match="either `organisation` or `area`"):
        parse_rollout(data, LineMap("rollout.yaml"))


def test_the_real_rollout_names_the_west_as_the_souths_counterparty() -> None:
    real = load_rollout(PLAN_DIR / "rollout.yaml")
    assert [c.organisation for c in real.counterparties["south"]] == ["VGR Västra området"]
    assert {c.area for c in real.counterparties["west"]} == {"south", "north", "east"}
