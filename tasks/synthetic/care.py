"""Care in the synthetic SAMSA database: episodes, their messages, attachments and SIP plans.

A care episode follows the discharge process of Lag (2017:612): admitted at a ward, the
admission notice to the municipality within 24 hours (a few are late), ready for discharge
(utskrivningsklar), care planning, discharged, or interrupted. Each step sends its message
between ward and municipality; some messages carry an attachment (a few large, a few without
content), and some episodes lead to a SIP (samordnad individuell plan) with participants
and actions.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from tasks.synthetic.draw import Batch, Draw
from tasks.synthetic.vocabulary import long_text


def add_episode(draw: Draw, out: Batch, pid: int, ward: int, muni: int, centre: int | None) -> None:
    """One care episode of person ``pid`` at ``ward`` with its messages, perhaps an attachment,
    and perhaps a SIP plan with participants and actions."""
    rng = draw.rng
    text = draw.text
    eid = draw.next_id("care_episode")
    admitted = draw.moment()
    # Lag (2017:612): the admission notice goes out within 24 hours (a few are late).
    late = rng.random() < 0.02
    notice = admitted + timedelta(
        minutes=rng.randrange(60 * 24, 60 * 72) if late else rng.randrange(5, 60 * 24)
    )
    ready = notice + timedelta(hours=rng.randrange(12, 24 * 20)) if rng.random() < 0.92 else None
    planning = (
        ready + timedelta(hours=rng.randrange(1, 72)) if ready and rng.random() < 0.8 else None
    )
    interrupted = ready is None and rng.random() < 0.3
    discharged = None
    if ready and rng.random() < 0.95:
        discharged = (planning or ready) + timedelta(hours=rng.randrange(1, 24 * 5))
    status = (
        "interrupted" if interrupted else "discharged" if discharged
        else "planning" if planning else "ready_for_discharge" if ready else "admitted"
    )  # fmt: skip
    note = text(0.5, 0.08)
    if rng.random() < 0.0005:
        note = long_text(rng, 200_000)
    out["care_episode"].append(
        (eid, pid, ward, muni, centre, admitted, notice, ready, planning, discharged, status,
         interrupted, rng.randrange(1, 4), note)
    )  # fmt: skip
    moments = [(admitted, "admission_notice")]
    moments.append((notice, "invitation_to_care_planning"))
    if ready:
        moments.append((ready, "care_plan_short" if rng.random() < 0.5 else "care_plan_full"))
        moments.append((ready, "message_to_care_and_social_services"))
    if planning:
        moments.append((planning, "prepared_care_request"))
    if discharged:
        moments.append((discharged, "discharge_notice"))
        moments.append((discharged, "information_at_discharge"))
    if interrupted:
        moments.append((admitted + timedelta(days=1), "interruption"))
    if rng.random() < 0.05:
        moments.append((admitted, "en_vag_in_referral"))
    last_msg = None
    for at, kind in moments:
        mid = draw.next_id("message")
        sender, receiver = (ward, muni) if rng.random() < 0.7 else (muni, ward)
        body = text(0.15, 0.06)
        if rng.random() < 0.0003:
            body = long_text(rng, 120_000)
        out["message"].append(
            (mid, eid, pid, sender, receiver, kind, at + timedelta(seconds=rng.randrange(600)),
             kind.replace("_", " ").capitalize(), body, rng.random() < 0.8)
        )  # fmt: skip
        last_msg = (mid, sender)
    if last_msg and rng.random() < 0.08:
        mid, sender = last_msg
        size = rng.randrange(0, 3000)
        if rng.random() < 0.01:
            size = rng.randrange(100_000, 400_000)
        content: bytes | None = rng.randbytes(size) if rng.random() < 0.97 else None
        out["attachment"].append(
            (draw.next_id("attachment"), mid, pid, sender,
             f"bilaga_{mid}.{'pdf' if size % 2 else 'png'}",
             "application/pdf" if size % 2 else "image/png",
             size if content is not None else 0, content)
        )  # fmt: skip
    if planning and rng.random() < 0.5:
        plan_id = draw.next_id("sip_plan")
        out["sip_plan"].append(
            (plan_id, pid, muni, eid, planning, "SIP efter utskrivning", text(0.2, 0.08),
             "active" if rng.random() < 0.3 else "closed")
        )  # fmt: skip
        for role, org in (("patient", muni), ("kommun", muni), ("slutenvård", ward)):
            if rng.random() < 0.9:
                out["sip_participant"].append(
                    (draw.next_id("sip_participant"), plan_id, pid, org, role,
                     draw.name())
                )  # fmt: skip
        for _ in range(1 + rng.randrange(3)):
            out["sip_action"].append(
                (draw.next_id("sip_action"), plan_id, pid, muni if rng.random() < 0.6 else ward,
                 text(0.0, 0.08) or "Hemtjänst tre gånger dagligen",
                 (planning.date() + timedelta(days=rng.randrange(60))
                  if rng.random() < 0.8 else None),
                 rng.random() < 0.5,
                 Decimal(rng.randrange(0, 4000)) / 100 if rng.random() < 0.7 else None)
            )  # fmt: skip
