"""A property: whatever happens in whatever order (gate closing and opening, approvals and
refusals, failures, rollbacks, runs), no integration's point of no return runs without an
open gate and a fresh, audit-backed approval of the wait in progress.

Hypothesis drives random sequences against the real engine, a SQLite ledger and the HTTP
counterpart on loopback; the check reads the audit chain, as an auditor would.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from integrations_counterpart import AS_OF, Counterpart, World, make_world

from models.ledger.repository import WAIT_BEGAN, WAIT_ENDED

CODE_RE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b")

STEPS = st.lists(
    st.sampled_from(["run", "approve", "refuse", "pause", "resume", "fail-disable",
                     "heal", "rollback", "stray-approval"]),
    min_size=1, max_size=12,
)
SUBJECT = "integration:elvis:revoke"


def _act(w: World, op: str, live: list[bool]) -> bool:
    """Do ``op``; True when this op was a run while the gate was closed."""
    if op == "run":
        before = w.cp.count("POST", "/elvis/revoke")
        w.engine().run_one("elvis", as_of=AS_OF)
        return not live[0] and w.cp.count("POST", "/elvis/revoke") > before
    if op in ("approve", "refuse"):
        w.approve(yes=op == "approve")
    elif op == "stray-approval":  # genuine, but for no wait (given ahead of time)
        with w.ledger.unit_of_work() as s:
            w.ledger.record_approval(s, subject=SUBJECT, kind="approval",
                                     approver="Per Persson", approved=True)
    elif op in ("pause", "resume"):
        live[0] = op == "resume"
        w.set_rollout("live" if live[0] else "paused")
    elif op == "fail-disable":
        w.cp.fail["/elvis/disable"] = 500
    elif op == "heal":
        w.cp.fail.clear()
    elif op == "rollback":
        from models.ledger.integrations import IntegrationLedger, StepState

        if IntegrationLedger(w.ledger).steps("elvis").get("revoke") is None or (
            IntegrationLedger(w.ledger).steps("elvis")["revoke"].state
            not in (StepState.done, StepState.running)
        ):
            w.engine().rollback(w.catalogue.get("elvis"))
    return False


def _revoke_was_earned(w: World) -> None:
    """The audit shows, before the point of no return: an open gate, and an approval given
    after the wait in progress began, with no end of that wait in between."""
    entries = w.ledger.audit_entries()
    (basis,) = [e for e in entries if e.action == "integration.point_of_no_return.basis"]
    assert basis.details["gate_open"] is True
    waits = [e for e in entries if e.subject == SUBJECT and e.seq < basis.seq
             and e.action in (WAIT_BEGAN, WAIT_ENDED)]
    assert waits and waits[-1].action == WAIT_BEGAN
    began = waits[-1].seq
    approvals = [a for a in w.ledger.approvals(SUBJECT)
                 if a.audit_seq is not None and began < a.audit_seq < basis.seq]
    assert approvals and approvals[-1].approved


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=STEPS)
def test_no_point_of_no_return_without_open_gate_and_fresh_approval(ops: list[str]) -> None:
    cp = Counterpart().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            w = make_world(Path(tmp), f"sqlite:///{tmp}/samsa.sqlite", cp)
            live = [True]
            for op in [*ops, "run"]:
                assert not _act(w, op, live), f"revoked behind a closed gate: {ops}"
            revokes = w.cp.count("POST", "/elvis/revoke")
            assert revokes <= 1
            event(f"revoked: {bool(revokes)}")
            if revokes:
                _revoke_was_earned(w)
    finally:
        cp.stop()


CODE_STEPS = st.lists(
    st.sampled_from(["run", "run", "approve-with-code", "approve-with-code", "approve-wrong-code",
                     "approve-without-code", "refuse-with-code", "pause", "resume",
                     "fail-disable", "heal", "rollback"]),
    min_size=1, max_size=12,
)


def _act_with_codes(w: World, op: str, live: list[bool], inbox: Any) -> None:
    from tasks.integrations.hooks import Decision

    codes = CODE_RE.findall(" ".join(str(p.get("message")) for _, p in inbox.posts))
    newest = codes[-1] if codes else ""
    if op in ("approve-with-code", "refuse-with-code"):
        w.answers["elvis"] = Decision("Anna Andersson", op == "approve-with-code", "", newest)
    elif op == "approve-wrong-code":
        w.answers["elvis"] = Decision("Mallory Malm", True, "", "ABCD-EFGH")
    elif op == "approve-without-code":
        w.approve(who="Mallory Malm")  # as the form would, or straight into the ledger
    else:
        _act(w, op, live)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=CODE_STEPS)
@example(ops=["run", "approve-with-code"])  # the plain way through
@example(ops=["run", "approve-without-code", "approve-wrong-code"])
def test_no_point_of_no_return_without_the_approvers_code(ops: list[str]) -> None:
    """The same, when the catalogue names the approver's channel: besides an open gate and a
    fresh approval, the approval must have come with the one-time code sent to that tag."""
    import os

    from notify_receivers import HttpReceiver

    from models.settings import get_settings

    cp = Counterpart().start()
    inbox = HttpReceiver().start()
    os.environ["SAMSA_DECOM_APPRISE_URLS"] = f"godkannare={inbox.url('/kod')}"
    get_settings.cache_clear()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            w = make_world(Path(tmp), f"sqlite:///{tmp}/samsa.sqlite", cp,
                           approver_channel="godkannare")
            live = [True]
            for op in [*ops, "run"]:
                _act_with_codes(w, op, live, inbox)
            revokes = w.cp.count("POST", "/elvis/revoke")
            assert revokes <= 1
            event(f"revoked: {bool(revokes)}")
            if ops == ["run", "approve-with-code"]:
                assert revokes == 1  # the property is not kept by never revoking at all
            if revokes:
                _revoke_was_earned(w)
                entries = {e.seq: e for e in w.ledger.audit_entries()}
                (basis,) = [e for e in entries.values()
                            if e.action == "integration.point_of_no_return.basis"]
                approvals = [a for a in w.ledger.approvals(SUBJECT)
                             if a.audit_seq is not None and a.audit_seq < basis.seq]
                assert entries[approvals[-1].audit_seq].details.get("code_channel") == (
                    "godkannare"), ops
                assert approvals[-1].approver == "Anna Andersson", ops
    finally:
        os.environ.pop("SAMSA_DECOM_APPRISE_URLS", None)
        get_settings.cache_clear()
        inbox.stop()
        cp.stop()
