"""Gate evaluation: may a milestone run, given the successor's rollout on a given day?

:func:`evaluate_gate` is a pure function of (gate, rollout, date): no I/O, no clock. It answers
open or closed with reasons a project manager can read, in Swedish by default, e.g.
``Västra området: planerad 2026-10-15, ännu inte i drift``.

Fail-safe: anything the gate names that the rollout does not know (a stage, a function, an
organisation, an area without stages) keeps the gate closed and says so.

Patients cross areas: a gate on an area also requires every counterparty of the area (the
rollout's ``counterparties``: a hospital elsewhere that discharges the area's residents, the
municipalities a regional hospital notifies) to be covered by the successor, and names the
ones that are not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from models.plan import AREA_NAMES, Gate
from models.rollout import Rollout, Stage, StageStatus

Lang = Literal["sv", "en"]

_T: dict[str, dict[str, str]] = {
    "planned": {"sv": "planerad {d}, ännu inte i drift", "en": "planned {d}, not live yet"},
    "late": {
        "sv": "planerad {d}, försenad och ännu inte i drift",
        "en": "planned {d}, late and not live yet",
    },
    "no_date": {"sv": "inget planerat datum, inte i drift", "en": "no planned date, not live"},
    "paused": {"sv": "pausad sedan {d}, inte i drift", "en": "paused since {d}, not live"},
    "paused_planned": {
        "sv": "planerad {p}, pausad sedan {d}, inte i drift",
        "en": "planned {p}, paused since {d}, not live",
    },
    "paused_live": {
        "sv": "i drift {g} men pausad sedan {d}",
        "en": "went live {g} but paused since {d}",
    },
    "cancelled": {
        "sv": "avbruten, ingen ersättning i drift",
        "en": "cancelled, no replacement live",
    },
    "future_live": {
        "sv": "markerad i drift från {d}, den dagen har inte kommit",
        "en": "marked live from {d}, which has not come yet",
    },
    "live": {"sv": "i drift sedan {d}", "en": "live since {d}"},
    "live_short": {
        "sv": "i drift sedan {d}, {n} av {need} dagars stabil drift",
        "en": "live since {d}, {n} of {need} days of stable operation",
    },
    "live_long": {"sv": "i drift sedan {d} ({n} dagar)", "en": "live since {d} ({n} days)"},
    "unknown_stage": {
        "sv": "etappen '{s}' finns inte i utrullningsdata ({src})",
        "en": "stage '{s}' is not in the rollout data ({src})",
    },
    "no_stage_area": {
        "sv": "{a}: ingen etapp omfattar området",
        "en": "{a}: no stage covers this area",
    },
    "unknown_function": {
        "sv": "funktionen '{f}' finns inte i utrullningsdata",
        "en": "function '{f}' is not in the rollout data",
    },
    "function_missing": {
        "sv": "{a}: ingen etapp tar över {f}",
        "en": "{a}: no stage takes over {f}",
    },
    "org_missing": {
        "sv": "{o}: ingen etapp omfattar organisationen",
        "en": "{o}: no stage covers this organisation",
    },
    "org_not_live": {"sv": "{o}: {why}", "en": "{o}: {why}"},
    "no_stages": {"sv": "utrullningen har inga etapper", "en": "the rollout has no stages"},
    "no_gate": {
        "sv": "ingen förutsättning: får utföras när beroendena är klara",
        "en": "no gate: may run once its dependencies are done",
    },
    "empty_gate": {
        "sv": "förutsättningen har inga villkor och räknas därför som inte uppfylld",
        "en": "the gate has no conditions and is therefore kept closed",
    },
    "function_for": {"sv": "{f}", "en": "{f}"},
    "party_covered": {
        "sv": "{a}: motparten {p} täcks av efterträdaren ({why})",
        "en": "{a}: counterparty {p} is covered by the successor ({why})",
    },
    "party_uncovered": {
        "sv": "{a}: motparten {p} täcks inte av efterträdaren – {why}. {x}",
        "en": "{a}: counterparty {p} is not covered by the successor – {why}. {x}",
    },
    "party_unknown": {
        "sv": "ingen etapp omfattar motparten",
        "en": "no stage covers the counterparty",
    },
}


def _t(key: str, lang: Lang, **kw: object) -> str:
    return _T[key][lang].format(**kw)


@dataclass(frozen=True)
class Check:
    """One condition of a gate and whether it holds."""

    ok: bool
    text: str


@dataclass(frozen=True)
class GateVerdict:
    """Open or closed, and why. ``reasons`` explain the verdict: when closed, what blocks it;
    when open, what made it open. ``checks`` hold every condition evaluated."""

    open: bool
    reasons: list[str]
    checks: list[Check] = field(default_factory=list)
    gate_name: str | None = None
    as_of: date | None = None

    @property
    def blocking(self) -> list[str]:
        return [c.text for c in self.checks if not c.ok]


def area_name(area: str, lang: Lang = "sv") -> str:
    """``south`` → ``Södra området`` (or ``Southern area``)."""
    return AREA_NAMES.get(area, {}).get(lang, area)


def _stage_label(stage: Stage, rollout: Rollout, lang: Lang) -> str:
    """The area's name when the stage is the only one there, else the stage's own name."""
    if len(stage.areas) == 1 and len(rollout.stages_in(stage.areas[0])) == 1:
        return area_name(stage.areas[0], lang)
    if all(len(rollout.stages_in(a)) == 1 for a in stage.areas):
        return (
            " och ".join(area_name(a, lang) for a in stage.areas)
            if lang == "sv"
            else " and ".join(area_name(a, lang) for a in stage.areas)
        )
    return stage.name


def stage_check(
    stage: Stage, rollout: Rollout, as_of: date, need_days: int, lang: Lang = "sv"
) -> Check:
    """Whether one stage counts as live (long enough), with its readable status."""
    label = _stage_label(stage, rollout, lang)
    if stage.status is StageStatus.cancelled:
        return Check(False, f"{label}: {_t('cancelled', lang)}")
    if stage.status is StageStatus.paused:
        if stage.actual_go_live:
            why = _t("paused_live", lang, g=stage.actual_go_live, d=stage.paused_on)
        elif stage.planned_go_live:
            why = _t("paused_planned", lang, p=stage.planned_go_live, d=stage.paused_on)
        else:
            why = _t("paused", lang, d=stage.paused_on)
        return Check(False, f"{label}: {why}")
    if stage.status is StageStatus.planned:
        if stage.planned_go_live is None:
            return Check(False, f"{label}: {_t('no_date', lang)}")
        key = "late" if stage.planned_go_live < as_of else "planned"
        return Check(False, f"{label}: {_t(key, lang, d=stage.planned_go_live)}")
    # live
    since = stage.live_since
    assert since is not None
    if since > as_of:
        return Check(False, f"{label}: {_t('future_live', lang, d=since)}")
    days = stage.live_days(as_of)
    if need_days and days < need_days:
        text = _t("live_short", lang, d=since, n=days, need=need_days)
        return Check(False, f"{label}: {text}")
    if need_days:
        return Check(True, f"{label}: {_t('live_long', lang, d=since, n=days)}")
    return Check(True, f"{label}: {_t('live', lang, d=since)}")


def counterparty_checks(area: str, rollout: Rollout, as_of: date, lang: Lang = "sv") -> list[Check]:
    """Patients who cross areas: one check per counterparty of ``area`` (the parties outside
    it that SAMSA messages flow to or from), true when the successor covers it too. An
    organisation counts as covered when a stage naming it is live; another area, when every
    stage there is live. Unknown parties are not covered (fail-safe)."""
    out: list[Check] = []
    here = area_name(area, lang)
    for cp in rollout.counterparties.get(area, []):  # type: ignore[call-overload]
        if cp.area is not None:
            party = area_name(cp.area, lang)
            stages = rollout.stages_in(cp.area)
            verdicts = [stage_check(s, rollout, as_of, 0, lang) for s in stages]
            bad = next((v for v in verdicts if not v.ok), None)
            covered = bool(verdicts) and bad is None
            why_v = bad or (verdicts[0] if verdicts else None)
        else:
            party = cp.organisation or ""
            stages = [s for s in rollout.stages if party in s.organisations]
            verdicts = [stage_check(s, rollout, as_of, 0, lang) for s in stages]
            why_v = next((v for v in verdicts if v.ok), verdicts[0] if verdicts else None)
            covered = why_v is not None and why_v.ok
        why = why_v.text if why_v is not None else _t("party_unknown", lang)
        if covered:
            out.append(Check(True, _t("party_covered", lang, a=here, p=party, why=why)))
        else:
            out.append(
                Check(False, _t("party_uncovered", lang, a=here, p=party, x=cp.exchange, why=why))
            )
    return out


def evaluate_gate(
    gate: Gate | None,
    rollout: Rollout,
    as_of: date,
    lang: Lang = "sv",
    *,
    name: str | None = None,
) -> GateVerdict:
    """Open or closed on ``as_of``, with readable reasons. A None gate is open.

    Every condition the gate gives must hold (see :class:`models.plan.Gate`); the stages
    involved must have been live ``live_for_days`` days; a paused or cancelled stage involved
    keeps the gate closed and is named.
    """
    if gate is None:
        return GateVerdict(True, [_t("no_gate", lang)], [], name, as_of)
    if not gate.has_conditions:
        reason = _t("empty_gate", lang)
        return GateVerdict(False, [reason], [Check(False, reason)], name, as_of)
    need = gate.live_for_days
    checks: list[Check] = []
    involved: list[Stage] = []  # stages whose status is checked, in rollout order, once

    def involve(stage: Stage) -> None:
        if stage not in involved:
            involved.append(stage)

    if not rollout.stages:
        checks.append(Check(False, _t("no_stages", lang)))

    for sid in gate.stages:
        stage = rollout.stage(sid)
        if stage is None:
            checks.append(
                Check(False, _t("unknown_stage", lang, s=sid, src=rollout.source or "rollout"))
            )
        else:
            involve(stage)

    for area in gate.areas:
        in_area = rollout.stages_in(area)
        if not in_area:
            checks.append(Check(False, _t("no_stage_area", lang, a=area_name(area, lang))))
        for stage in in_area:
            involve(stage)

    for area in gate.areas:
        checks.extend(counterparty_checks(area, rollout, as_of, lang))

    wanted_functions = list(gate.functions)
    if gate.all_live:
        for stage in rollout.stages:
            involve(stage)
        wanted_functions += [f for f in rollout.functions if f not in wanted_functions]

    for f in wanted_functions:
        if rollout.functions and f not in rollout.functions:
            checks.append(Check(False, _t("unknown_function", lang, f=f)))
            continue
        fname = rollout.function_name(f)
        for covered in rollout.areas:
            carriers = [s for s in rollout.stages_in(covered) if f in s.functions]
            if not carriers:
                checks.append(
                    Check(False, _t("function_missing", lang, a=area_name(covered, lang), f=fname))
                )
            for stage in carriers:
                involve(stage)
        if not rollout.areas:
            checks.append(Check(False, _t("function_missing", lang, a="–", f=fname)))

    stage_checks = {s.id: stage_check(s, rollout, as_of, need, lang) for s in involved}
    checks.extend(stage_checks[s.id] for s in involved)

    for org in gate.organisations:
        carriers = [s for s in rollout.stages if org in s.organisations]
        if not carriers:
            checks.append(Check(False, _t("org_missing", lang, o=org)))
            continue
        verdicts = [stage_check(s, rollout, as_of, need, lang) for s in carriers]
        good = next((v for v in verdicts if v.ok), None)
        if good is not None:
            checks.append(Check(True, f"{org}: {good.text.split(': ', 1)[-1]}"))
        else:
            checks.append(
                Check(
                    False, _t("org_not_live", lang, o=org, why=verdicts[0].text.split(": ", 1)[-1])
                )
            )

    is_open = bool(checks) and all(c.ok for c in checks)
    reasons = [c.text for c in checks if c.ok] if is_open else [c.text for c in checks if not c.ok]
    return GateVerdict(is_open, _dedupe(reasons), checks, name, as_of)


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


__all__ = [
    "Check",
    "GateVerdict",
    "area_name",
    "counterparty_checks",
    "evaluate_gate",
    "stage_check",
]
