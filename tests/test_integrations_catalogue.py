"""The integrations catalogue: the shipped file is valid and complete; a bad file gets every
problem listed at once, each with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.errors import ValidationFailed
from models.integrations import ShutdownPhase, load_integrations, parse_integrations
from models.settings import PLAN_DIR

BAD = """\
variables:
  base: https://gw.example
integrations:
  - name: elvis
    title: Elvis
    counterpart: VGR
    direction: both
    protocol: HTTPS
    colour: blue
    gate: no-such-gate
    shutdown_after: [befreg]
    point_of_no_return: revoke
    steps:
      - id: freeze
        phase: freeze
        kind: http
        reversible: true
        idempotent: true
      - id: announce
        phase: announce
        kind: manual
        instructions: Tell them
      - id: revoke
        phase: revoke
        kind: sql
        sql: DELETE FROM cert WHERE host = '${host}'
        idempotent: true
  - name: befreg
    title: Befreg
    counterpart: VGR
    direction: outbound
    protocol: HTTPS
    shutdown_after: [elvis, nobody]
    steps:
      - id: stop
        phase: disable
        kind: command
  - name: elvis
    title: Elvis again
    counterpart: VGR
    direction: sideways
    protocol: HTTPS
    point_of_no_return: off
    steps:
      - id: off
        phase: disable
        kind: command
        command: ["true"]
        idempotent: true
"""


def test_the_shipped_catalogue_is_valid_and_matches_the_plan() -> None:
    path = PLAN_DIR / "integrations.yaml"
    plan_path = PLAN_DIR / "samsa-phaseout.yaml"
    gate_names = None
    if plan_path.exists():
        from models.plan import load_plan

        plan = load_plan(plan_path)
        gate_names = list(plan.gates)
    cat = load_integrations(path, gate_names=gate_names)
    names = {i.name for i in cat.integrations}
    # every integration the seed names
    assert {
        "elvis",
        "befreg",
        "population-register",
        "siths-hsa",
        "sambi",
        "inera-coordinated-planning",
        "en-vag-in",
        "utdata",
        "larplattformen",
    } <= names
    for integ in cat.integrations:
        assert integ.point_of_no_return, integ.name
        phases = [s.phase for s in integ.steps]
        assert phases == sorted(phases, key=lambda p: p.rank), integ.name
        if integ.connected:
            assert {ShutdownPhase.announce, ShutdownPhase.revoke, ShutdownPhase.confirm} <= set(
                phases
            )
    if plan_path.exists():
        wanted = {
            m.action_params["integration"] for m in plan.milestones if m.action == "integration"
        }
        assert wanted <= names, f"plan names integrations the catalogue lacks: {wanted - names}"
    # SITHS/HSA authentication goes last: everything else is shut down before it
    order = [i.name for i in cat.shutdown_order()]
    assert order[-1] == "siths-hsa"


def test_every_problem_is_listed_at_once_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "integrations.yaml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        load_integrations(path, gate_names=["successor-covers-all"])
    text = str(info.value)
    where = str(path)
    expected = [
        (9, "unknown key 'colour'"),
        (10, "unknown gate 'no-such-gate'"),
        (11, "dependency cycle: elvis → befreg → elvis"),
        (14, "an http step needs `url`"),
        (14, "declared reversible but has no `undo`"),
        (20, "phase announce comes after a later phase"),
        (23, "unknown variable ${host}"),
        (28, "missing `point_of_no_return`"),
        (33, "unknown integration 'nobody'"),
        (35, "a command step needs `command`"),
        (35, "declare a `check` or `idempotent: true`"),
        (38, "duplicate integration name 'elvis'"),
        (41, "direction: input should be 'inbound', 'outbound' or 'both'"),
        (43, "point_of_no_return: reads as yes/no (False); put the text in quotes"),
        (45, "id: reads as yes/no (False); put the text in quotes"),
    ]
    assert len(info.value.problems) == len(expected), text
    assert [p.where for p in info.value.problems] == sorted(
        (p.where for p in info.value.problems), key=lambda w: int(w.rsplit(":", 1)[1])
    )
    for line, message in expected:
        assert any(
            p.where == f"{where}:{line}" and message in p.message for p in info.value.problems
        ), (line, message, text)
    assert info.value.exit_code == 2


def test_yaml_errors_and_duplicate_keys_have_lines() -> None:
    with pytest.raises(ValidationFailed) as info:
        parse_integrations("integrations:\n  - name: a\n    name: b\n", "x.yaml")
    assert any(
        p.where == "x.yaml:3" and "duplicate key 'name'" in p.message for p in info.value.problems
    )
    with pytest.raises(ValidationFailed) as info:
        parse_integrations("integrations: [\n", "y.yaml")
    assert "not valid YAML" in str(info.value)


def test_a_step_past_the_point_of_no_return_cannot_be_reversible() -> None:
    text = (
        BAD.split("  - name: befreg")[0]
        .replace("colour: blue\n    ", "")
        .replace("gate: no-such-gate\n    shutdown_after: [befreg]\n    ", "")
    )
    text = text.replace(
        "        sql: DELETE FROM cert WHERE host = '${host}'\n",
        "        sql: DELETE FROM cert\n        reversible: true\n"
        "        undo: {kind: sql, sql: SELECT 1}\n",
    )
    with pytest.raises(ValidationFailed) as info:
        parse_integrations(text, "z.yaml")
    assert any(
        "at or after the point of no return a step cannot be reversible" in p.message
        for p in info.value.problems
    ), str(info.value)


def test_variables_resolve_from_catalogue_environment_and_settings() -> None:
    cat = parse_integrations(
        "variables: {gw: 'https://gw'}\nintegrations:\n"
        "  - {name: a, title: A, counterpart: C, direction: inbound, protocol: P,\n"
        "     point_of_no_return: s, steps: [{id: s, phase: revoke, kind: http,\n"
        "     url: '${gw}/x', idempotent: true}]}\n",
        "v.yaml",
    )
    assert cat.resolve("${gw}/x", source_url="sqlite://", env={}) == "https://gw/x"
    assert cat.resolve("${gw}", source_url="", env={"SAMSA_DECOM_VAR_GW": "http://o"}) == "http://o"
    assert (
        cat.resolve("${source_url}", source_url="postgresql://h/db", env={}) == "postgresql://h/db"
    )
    assert cat.resolve("Bearer ${env:TOKEN}", source_url="", env={"TOKEN": "t"}) == "Bearer t"
    assert (
        cat.resolve("Bearer ${env:TOKEN}", source_url="", env={}, secrets=False)
        == "Bearer ${env:TOKEN}"
    )
