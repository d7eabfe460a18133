"""The organisations of the synthetic SAMSA database, their users and their statistics.

The 49 municipalities of Västra Götaland by sub-region (synthetic organisation numbers
``2120009xxx``), VGR's hospitals with their wards and Närhälsan health centres (HSA-style ids
under VGR's organisation number 232100-0131), and a few private providers. Users of SAMSA
belong to an organisation and hold access rights there; monthly statistics are kept per
municipality and measure from 2019-01 on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from tasks.synthetic.draw import Batch, Draw, empty_batch
from tasks.synthetic.vocabulary import ROLES

SUB_REGIONS: dict[str, tuple[str, ...]] = {
    "Göteborgsregionen": (
        "Ale", "Alingsås", "Göteborg", "Härryda", "Kungälv", "Lerum", "Lilla Edet",
        "Mölndal", "Partille", "Stenungsund", "Tjörn", "Öckerö",
    ),
    "Fyrbodal": (
        "Bengtsfors", "Dals-Ed", "Färgelanda", "Lysekil", "Mellerud", "Munkedal", "Orust",
        "Sotenäs", "Strömstad", "Tanum", "Trollhättan", "Uddevalla", "Vänersborg", "Åmål",
    ),
    "Skaraborg": (
        "Essunga", "Falköping", "Grästorp", "Gullspång", "Götene", "Hjo", "Karlsborg",
        "Lidköping", "Mariestad", "Skara", "Skövde", "Tibro", "Tidaholm", "Töreboda", "Vara",
    ),
    "Sjuhärad": (
        "Bollebygd", "Borås", "Herrljunga", "Mark", "Svenljunga", "Tranemo", "Ulricehamn",
        "Vårgårda",
    ),
}  # fmt: skip

HOSPITALS: tuple[tuple[str, str], ...] = (
    ("Sahlgrenska Universitetssjukhuset", "Göteborgsregionen"),
    ("Kungälvs sjukhus", "Göteborgsregionen"),
    ("Alingsås lasarett", "Göteborgsregionen"),
    ("NU-sjukvården, NÄL", "Fyrbodal"),
    ("NU-sjukvården, Uddevalla sjukhus", "Fyrbodal"),
    ("Skaraborgs Sjukhus Skövde", "Skaraborg"),
    ("Skaraborgs Sjukhus Lidköping", "Skaraborg"),
    ("Södra Älvsborgs Sjukhus", "Sjuhärad"),
)
WARDS = ("Medicinavdelning 1", "Medicinavdelning 2", "Geriatrik", "Ortopedi", "Kirurgi")
PRIVATE_PROVIDERS = (
    "Vårdcentralen Hälsan AB", "Capio Vårdcentral Lundby", "Närhälsan Plus AB",
    "Hemsjukvård Väst AB", "Omsorgsbolaget Åsen AB", "Läkarhuset Öster AB",
)  # fmt: skip


@dataclass
class Organisations:
    """The organisations' rows and their ids by role and sub-region."""

    rows: list[tuple[Any, ...]]
    municipalities: list[int]
    municipality_region: dict[int, str]
    wards_by_region: dict[str, list[int]]
    health_centres_by_region: dict[str, list[int]]
    private: list[int]


def organisations() -> Organisations:
    """The 49 municipalities, VGR's hospitals (with wards) and health centres, and the private
    providers (no random draws: the same at every seed)."""
    rows: list[tuple[Any, ...]] = []
    municipalities: list[int] = []
    muni_region: dict[int, str] = {}
    wards: dict[str, list[int]] = {r: [] for r in SUB_REGIONS}
    centres: dict[str, list[int]] = {r: [] for r in SUB_REGIONS}
    private: list[int] = []
    oid = 0
    # Municipalities: organisation numbers are synthetic (2120009xxx) and marked as such.
    for region, names in SUB_REGIONS.items():
        for name in names:
            oid += 1
            rows.append((oid, "municipality", f"{name} kommun", f"SE2120009{oid:03d}-E000000000001",
                         region, "kommun", None))  # fmt: skip
            municipalities.append(oid)
            muni_region[oid] = region
    # VGR (organisation number 232100-0131): hospitals with wards, health centres.
    for hospital, region in HOSPITALS:
        oid += 1
        hid = oid
        rows.append((hid, "region_unit", hospital, f"SE2321000131-E{hid:012d}", region,
                     "sjukhus", None))  # fmt: skip
        for ward in WARDS:
            oid += 1
            rows.append((oid, "region_unit", f"{hospital}, {ward}", f"SE2321000131-S{oid:012d}",
                         region, "vårdavdelning", hid))  # fmt: skip
            wards[region].append(oid)
    for region, names in SUB_REGIONS.items():
        for name in names[::2]:
            oid += 1
            rows.append((oid, "region_unit", f"Närhälsan {name} vårdcentral",
                         f"SE2321000131-F{oid:012d}", region, "vårdcentral", None))  # fmt: skip
            centres[region].append(oid)
    for i, name in enumerate(PRIVATE_PROVIDERS):
        oid += 1
        region = list(SUB_REGIONS)[i % 4]
        rows.append((oid, "private_provider", name, f"SE5560009{oid:03d}-P000000000001", region,
                     "privat vårdgivare", None))  # fmt: skip
        private.append(oid)
        centres[region].append(oid)
    return Organisations(rows, municipalities, muni_region, wards, centres, private)


def reference_rows(
    draw: Draw, orgs: Organisations, scale: int, persons: int
) -> tuple[Batch, list[tuple[int, int]]]:
    """The organisations, users with their access rights, and the monthly statistics; and the
    users as (user id, organisation id)."""
    rng = draw.rng
    out = empty_batch()
    users: list[tuple[int, int]] = []
    out["organisation"] = list(orgs.rows)
    all_orgs = [r[0] for r in orgs.rows]
    n_users = max(10, persons // 50)
    for _ in range(n_users):
        uid = draw.next_id("user_account")
        org = all_orgs[rng.randrange(len(all_orgs))]
        name = draw.name()
        out["user_account"].append(
            (uid, f"SE2321000131-U{uid:012d}", name, org, rng.random() < 0.9, draw.moment())
        )
        users.append((uid, org))
        for _ in range(1 + rng.randrange(2)):
            start = date(2019, 1, 1) + timedelta(days=rng.randrange(2000))
            end = start + timedelta(days=rng.randrange(900)) if rng.random() < 0.3 else None
            out["access_right"].append(
                (draw.next_id("access_right"), uid, org, ROLES[rng.randrange(4)], start, end)
            )
    # Monthly statistics per municipality and measure, 2019-01 .. 2026-06.
    measures = ("utskrivningsklara", "dagar_till_utskrivning", "sip_moten", "avbrott")
    month = date(2019, 1, 1)
    months: list[date] = []
    n_months = max(1, min(90, scale // (10 * 49 * len(measures))))
    while len(months) < n_months:
        months.append(month)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    for m in months:
        for org in orgs.municipalities:
            for measure in measures:
                avg = (
                    Decimal(rng.randrange(0, 2000)) / 100
                    if measure == "dagar_till_utskrivning"
                    else None
                )
                out["monthly_statistic"].append(
                    (draw.next_id("monthly_statistic"), m, org, measure, rng.randrange(500), avg)
                )
    return out, users
