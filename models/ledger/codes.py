"""One-time codes for decisions: who approved, without single sign-on.

Open-source Prefect knows no users, so a name typed in a form proves nothing. When a decision
waits, a random code is sent to the approver's own notification channel (the plan's
``approver_channel`` tag); the form and ``samsa-decom approve`` accept the decision only with
that code. This module is the ledger's side (``ledger.codes``):

- only an HMAC of the code is stored, keyed with the audit key (kept outside the ledger), and
  bound to the subject and to the wait it answers (the seq of the wait's audit entry);
- a code is good once, until it expires, and only while its wait is in progress;
- every issue, acceptance and refusal is an audit entry naming the *tag* that received the
  code (never the channel's URL, never the code);
- after :data:`MAX_FAILURES` wrong tries the code is locked; a new one must be asked for.

Generating and sending the code is :mod:`tasks.decision_codes`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.errors import InputError
from models.ledger.base import Base, utcnow

if TYPE_CHECKING:
    from models.ledger.repository import Ledger

#: Wrong tries before a code is locked.
MAX_FAILURES = 5

LIVE, USED, LOCKED, REPLACED = "live", "used", "locked", "replaced"

CODE_SENT = "decision.code.sent"
CODE_ACCEPTED = "decision.code.accepted"
CODE_REFUSED = "decision.code.refused"


class DecisionCode(Base):
    """One code sent for one wait: its HMAC, the tag it went to, and what became of it."""

    __tablename__ = "decision_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(200), index=True)
    wait_seq: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=LIVE)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


def normalise_code(code: str) -> str:
    """A code as typed (any case, spaces or a dash in the middle) in its stored form."""
    return re.sub(r"[\s-]", "", code).upper()


def _aware(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


@dataclass(frozen=True)
class IssuedCode:
    """What :meth:`CodeRepository.issue` stored (the code itself is not kept)."""

    subject: str
    wait: int
    channel: str
    expires_at: datetime


@dataclass
class CodeRepository:
    """The decision codes of a ledger (``ledger.codes``)."""

    ledger: Ledger

    def _digest(self, subject: str, wait: int, code: str) -> str:
        msg = f"samsa-decom decision code\0{subject}\0{wait}\0{normalise_code(code)}"
        return hmac.new(self.ledger.key(), msg.encode(), hashlib.sha256).hexdigest()

    def issue(
        self, subject: str, wait: int, code: str, channel: str, valid_for: timedelta
    ) -> IssuedCode:
        """Store ``code`` (as its HMAC) for wait ``wait`` of ``subject``, replacing any live
        one, and audit which tag it is sent to. Committed before the code is sent."""
        now = utcnow()
        with self.ledger.unit_of_work() as s:
            for old in self._rows(s, subject, status=LIVE):
                old.status = REPLACED
            row = DecisionCode(
                subject=subject,
                wait_seq=wait,
                digest=self._digest(subject, wait, code),
                channel=channel,
                status=LIVE,
                failures=0,
                issued_at=now,
                expires_at=now + valid_for,
            )
            s.add(row)
            self.ledger.append_audit(
                s,
                actor="samsa-decom",
                action=CODE_SENT,
                subject=subject,
                details={
                    "wait": wait,
                    "channel": channel,
                    "expires_at": row.expires_at.isoformat(timespec="seconds"),
                },
            )
        return IssuedCode(subject, wait, channel, row.expires_at)

    def withdraw(self, subject: str) -> None:
        """Void the live code of ``subject`` (it never reached anyone): the next ask sends a
        new one."""
        with self.ledger.unit_of_work() as s:
            for row in self._rows(s, subject, status=LIVE):
                row.status = REPLACED

    def live(self, subject: str, wait: int) -> DecisionCode | None:
        """The code that may still answer wait ``wait`` of ``subject`` (None: none)."""
        with Session(self.ledger.engine) as s:
            now = utcnow()
            for row in self._rows(s, subject, status=LIVE):
                if row.wait_seq == wait and _aware(row.expires_at) > now:
                    return row
        return None

    def redeem(self, subject: str, wait: int | None, code: str) -> str:
        """Accept ``code`` for the wait in progress ``wait`` of ``subject`` once; returns the
        tag it was sent to. Otherwise :class:`InputError` in Swedish naming why; a wrong try is
        recorded (and audited) before the error is raised, and locks the code at the
        :data:`MAX_FAILURES`-th."""
        problem = ""
        with self.ledger.unit_of_work() as s:
            rows = self._rows(s, subject, for_update=True)
            now = utcnow()
            digest = self._digest(subject, wait, code) if wait is not None else ""
            live = [r for r in rows if r.status == LIVE]
            match = next((r for r in rows if hmac.compare_digest(r.digest, digest)), None)
            current = next((r for r in reversed(live) if r.wait_seq == wait), None)
            if wait is None:
                problem = f"Inget beslut väntar på {subject}: en engångskod kan inte användas nu."
            elif match is not None and match.status == USED:
                problem = f"Engångskoden för {subject} har redan använts: begär en ny kod."
                self._refused(s, match, "redan använd")
            elif current is None:
                problem = (
                    f"Ingen giltig engångskod väntar för {subject} (den har använts, "
                    "spärrats, ersatts eller väntan har avslutats): begär en ny kod."
                )
            elif _aware(current.expires_at) <= now:
                problem = (
                    f"Engångskoden för {subject} gick ut "
                    f"{_aware(current.expires_at):%Y-%m-%d %H:%M} UTC: begär en ny kod."
                )
            elif match is not current:
                current.failures += 1
                left = MAX_FAILURES - current.failures
                if left <= 0:
                    current.status = LOCKED
                    problem = (
                        f"Fel engångskod för {subject}. Koden är nu spärrad efter "
                        f"{MAX_FAILURES} felaktiga försök: begär en ny kod."
                    )
                else:
                    problem = f"Fel engångskod för {subject} ({left} försök kvar)."
                self._refused(s, current, "spärrad" if left <= 0 else "fel kod")
            else:
                current.status = USED
                current.used_at = now
                self.ledger.append_audit(
                    s,
                    actor="samsa-decom",
                    action=CODE_ACCEPTED,
                    subject=subject,
                    details={"wait": wait, "channel": current.channel},
                )
                return current.channel
        raise InputError(problem)

    def _refused(self, s: Session, row: DecisionCode, why: str) -> None:
        self.ledger.append_audit(
            s,
            actor="samsa-decom",
            action=CODE_REFUSED,
            subject=row.subject,
            details={
                "wait": row.wait_seq,
                "channel": row.channel,
                "why": why,
                "failures": row.failures,
            },
        )

    @staticmethod
    def _rows(
        s: Session, subject: str, *, status: str | None = None, for_update: bool = False
    ) -> list[DecisionCode]:
        q = select(DecisionCode).where(DecisionCode.subject == subject)
        if status is not None:
            q = q.where(DecisionCode.status == status)
        q = q.order_by(DecisionCode.id)
        if for_update:
            q = q.with_for_update()
        return list(s.execute(q).scalars())
