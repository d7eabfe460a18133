"""Persons in the synthetic SAMSA database, and what SAMSA holds about each.

Persons carry valid identities (personnummer, samordningsnummer, VGR reserve numbers, from
:func:`models.identity.synthetic_identity`; they may be real people's numbers, so the database
stays on this machine),
unique across the database; about 1 % have a protected identity (no address), a few are
deceased, a few have nasty text as their name. Each has one or two care episodes
(:mod:`tasks.synthetic.care`) at a ward in their municipality's sub-region, perhaps consents,
and entries in the access log. The first batch also holds a showcase on person 1 so that
every nasty case occurs at any scale.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from models.identity import synthetic_identity
from tasks.synthetic.care import add_episode
from tasks.synthetic.draw import Batch, Draw, empty_batch
from tasks.synthetic.organisations import Organisations
from tasks.synthetic.vocabulary import (
    ACCESS_ACTIONS,
    CONSENT_KINDS,
    NASTY_TEXT,
    STREETS,
    long_text,
)


class Persons:
    """Draws ``count`` persons with their care, in batches."""

    def __init__(
        self, draw: Draw, orgs: Organisations, users: list[tuple[int, int]], count: int
    ) -> None:
        self.draw = draw
        self.orgs = orgs
        self.users = users  # (user_id, org_id)
        self.count = count
        self.seen_identities: set[str] = set()

    def person_batches(self, batch_size: int = 2000) -> Iterator[Batch]:
        """The persons, ``batch_size`` at a time, each batch with all that belongs to them."""
        for start in range(0, self.count, batch_size):
            out = empty_batch()
            for _ in range(min(batch_size, self.count - start)):
                self._person(out)
            if start == 0:
                self._showcase(out)
            yield out

    def _showcase(self, out: Batch) -> None:
        """Make sure every nasty case occurs at any scale: each nasty text as a message body,
        a very long text, an empty and a large BLOB (all on person 1, episode 1)."""
        draw = self.draw
        rng = draw.rng
        person = out["person"][0]
        episode = out["care_episode"][0]
        pid, ward, muni = person[0], episode[2], episode[3]
        bodies: list[str | None] = [*NASTY_TEXT, None, long_text(rng, 300_000)]
        for body in bodies:
            mid = draw.next_id("message")
            out["message"].append(
                (mid, episode[0], pid, ward, muni, "message_to_care_and_social_services",
                 episode[5] + timedelta(hours=1), "Testmeddelande ✓", body, False)
            )  # fmt: skip
        for content in (b"", rng.randbytes(300_000), bytes(range(256)) * 4):
            out["attachment"].append(
                (draw.next_id("attachment"), mid, pid, ward, "bilaga.bin",
                 "application/octet-stream", len(content), content)
            )  # fmt: skip

    def _identity(self) -> tuple[str, str]:
        draw = self.draw
        rng = draw.rng
        while True:
            birth = date(1920, 1, 1) + timedelta(days=rng.randrange(36500))
            value, kind = synthetic_identity(rng, birth)
            if value not in self.seen_identities:
                self.seen_identities.add(value)
                return value, str(kind)

    def _person(self, out: Batch) -> None:
        draw = self.draw
        rng = draw.rng
        text = draw.text
        orgs = self.orgs
        pid = draw.next_id("person")
        identity, kind = self._identity()
        protected = rng.random() < 0.01
        muni = orgs.municipalities[rng.randrange(len(orgs.municipalities))]
        region = orgs.municipality_region[muni]
        name = draw.name()
        if rng.random() < 0.002:
            name = NASTY_TEXT[rng.randrange(len(NASTY_TEXT))] or "Namnlös"
        if protected:
            street = postal = city = None
        else:
            street = f"{STREETS[rng.randrange(len(STREETS))]} {rng.randrange(1, 120)}"
            postal = f"4{rng.randrange(1000, 9999)}"
            city = orgs.rows[muni - 1][2].removesuffix(" kommun")
        deceased = (
            date(2020, 1, 1) + timedelta(days=rng.randrange(2300)) if rng.random() < 0.03 else None
        )
        out["person"].append(
            (pid, identity, kind, name, street, postal, city, muni, protected, deceased)
        )
        wards = orgs.wards_by_region[region]
        centres = orgs.health_centres_by_region[region]
        for _ in range(1 + (rng.random() < 0.5)):
            ward = wards[rng.randrange(len(wards))]
            centre = centres[rng.randrange(len(centres))] if rng.random() < 0.8 else None
            add_episode(draw, out, pid, ward, muni, centre)
        for _ in range(rng.randrange(2)):
            org = muni if rng.random() < 0.5 else ward
            out["consent"].append(
                (draw.next_id("consent"), pid, org, CONSENT_KINDS[rng.randrange(3)],
                 rng.random() < 0.9, draw.moment(), draw.moment() if rng.random() < 0.1 else None,
                 text(0.6, 0.1))
            )  # fmt: skip
        for _ in range(rng.randrange(8)):
            uid, uorg = self.users[rng.randrange(len(self.users))]
            out["access_log"].append(
                (draw.next_id("access_log"), uid, pid, uorg, draw.moment(),
                 ACCESS_ACTIONS[rng.randrange(len(ACCESS_ACTIONS))])
            )  # fmt: skip
