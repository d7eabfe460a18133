"""The phase-out plan: phases, workstreams, milestones, gates and the budget frame, as data.

The plan lives in a version-controlled YAML file (``deploy/plan/samsa-phaseout.yaml``) that a
project manager edits. :func:`load_plan` reads it and reports **every** problem at once, each
with its place in the file (``samsa-phaseout.yaml:123: milestones[4].depends_on: unknown
milestone 'foo'``).

The package's parts:

- :mod:`models.plan.due`: a milestone's ``due`` date expression (``2026-03-31``,
  ``transition + 90d``, ``area south + 30d``, ``after <milestone> + 14d``, ``before
  <milestone> - 30d``) and the four rollout areas;
- :mod:`models.plan.model`: the pydantic models (:class:`Plan`, :class:`Milestone`,
  :class:`Gate`, :class:`Phase`, :class:`Budget`, …);
- :mod:`models.plan.check`: the cross-reference checks (unknown ids, cycles, impossible
  dates) and the order in which date anchors resolve;
- :mod:`models.plan.load`: reading the YAML file, salvaging broken entries so that every
  problem shows in one run.

This module is the domain's entry point to the plan: import from ``models.plan``.
"""

from models.plan.check import anchor_order, check_plan
from models.plan.due import AREA_NAMES, Area, DueSpec, parse_due, shift
from models.plan.load import load_plan, load_plan_text, parse_plan
from models.plan.model import (
    ID_PATTERN,
    Budget,
    Gate,
    Milestone,
    Phase,
    Plan,
    Recurring,
    Workstream,
    near_matches,
)

__all__ = [
    "AREA_NAMES",
    "ID_PATTERN",
    "Area",
    "Budget",
    "DueSpec",
    "Gate",
    "Milestone",
    "Phase",
    "Plan",
    "Recurring",
    "Workstream",
    "anchor_order",
    "check_plan",
    "load_plan",
    "load_plan_text",
    "near_matches",
    "parse_due",
    "parse_plan",
    "shift",
]
