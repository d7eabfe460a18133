"""Sending a one-time code to the approver's own channel, and redeeming it.

Open-source Prefect has no users: whoever reaches the UI could type any name. So when a
decision waits, :func:`send_code` sends a random code to the notify tag the plan names as the
approver's channel (``approver_channel``), and the decision counts only with that code
(:func:`redeem_code`, used by the form and by ``samsa-decom approve``).

- The code is 8 characters from :mod:`secrets` (an alphabet without 0/O, 1/I/L), shown as
  ``ABCD-EFGH``; only its HMAC is stored (:mod:`models.ledger.codes`).
- It goes only to channels *tagged* with the approver's tag. A channel without tags (which
  receives every notice) or tagged ``always`` never gets a code: otherwise everyone on it
  could approve.
- It is sent straight through apprise, not through the notice outbox (whose rows keep a
  message's text): the code is never written anywhere in clear.
- The ledger and the audit chain record the *tag* it went to, never the URL or its secret.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from models.errors import InputError
from models.ledger import Ledger
from models.ledger.codes import IssuedCode
from models.settings import Settings, get_settings
from tasks.notify.channels import Channel, Router

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def new_code() -> str:
    """A fresh random code, ``ABCD-EFGH`` (about 40 bits; 5 tries before it locks)."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def approver_channels(router: Router, tag: str) -> list[Channel]:
    """The channels explicitly tagged ``tag`` (never an untagged or ``always`` channel)."""
    return [c for tags, c in router.channels if tag in tags and "always" not in tags]


@dataclass(frozen=True)
class CodeSent:
    """A code issued for a wait: which tag it went to, until when, and whether any channel
    accepted it."""

    issued: IssuedCode
    delivered: bool
    problem: str = ""


def send_code(
    ledger: Ledger,
    *,
    subject: str,
    wait: int,
    tag: str,
    what: str,
    how_to_answer: str,
    router: Router | None = None,
    settings: Settings | None = None,
) -> CodeSent:
    """Issue a code for wait ``wait`` of ``subject`` and send it to the channels tagged
    ``tag``. Raises :class:`InputError` when no channel carries that tag (nothing is issued).

    ``what`` names the decision (no personal data), ``how_to_answer`` where to type it."""
    settings = settings or get_settings()
    router = router or Router.from_settings(settings)
    channels = approver_channels(router, tag)
    if not channels:
        raise InputError(
            f"no notification channel is tagged '{tag}' (the approver's channel for {subject}): "
            f"add one to SAMSA_DECOM_APPRISE_URLS ('{tag}=mailto://…') or the apprise "
            "configuration; a channel without tags does not receive codes"
        )
    code = new_code()
    issued = ledger.codes.issue(
        subject, wait, code, tag, timedelta(hours=settings.decision_code_valid_hours)
    )
    body = (
        f"Engångskod för beslutet om {what}: {code}\n\n"
        f"Koden gäller en gång, till {issued.expires_at:%Y-%m-%d %H:%M} UTC, och bara så länge "
        f"beslutet väntar. {how_to_answer}\n\n"
        "Lämna aldrig ut koden: den visar att det är du som beslutar. Har du inte väntat dig "
        "den, meddela projektledningen."
    )
    problems = []
    delivered = False
    for channel in channels:
        ok, said = channel.send(f"samsa-decom: engångskod för {what}", body)
        delivered = delivered or ok
        if not ok:
            problems.append(f"{channel.label}: {said}")
    if not delivered:
        ledger.codes.withdraw(subject)  # nobody has it: the next ask sends a new one
    return CodeSent(issued, delivered, "; ".join(problems))


def redeem_code(ledger: Ledger, subject: str, code: str | None) -> str:
    """Accept ``code`` for the wait in progress on ``subject``; returns the tag it was sent
    to. A missing, wrong, reused, expired or locked code: :class:`InputError` (in Swedish)."""
    if not code or not code.strip():
        raise InputError(
            f"Engångskod krävs för beslutet om {subject}: den skickas till "
            "godkännarens egen kanal när beslutet börjar vänta."
        )
    return ledger.codes.redeem(subject, ledger.wait_in_progress(subject), code)
