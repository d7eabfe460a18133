"""The synthetic SAMSA database: a seeded, deterministic rehearsal copy of SAMSA's content.

``generate(url, scale=N, seed=S)`` creates the SAMSA source schema (models/source.py) in the
database at ``url`` (SQLite or PostgreSQL) and fills it with about ``N`` rows in total:
the 49 municipalities by sub-region, VGR hospitals and health centres, private providers,
persons with test-style identities (personnummer with birth numbers 980-999,
samordningsnummer, VGR reserve numbers; some with protected identity), care episodes that
follow the 24-hour rule of Lag (2017:612), messages, SIP plans with participants and actions,
consents, users and access rights, the access log, monthly statistics and attachments.

Free text deliberately contains what breaks naive archivers: Swedish letters, emoji, control
characters, backslashes, runs of spaces, CR/LF, markup characters, very long text, empty
strings and NULLs. Same seed and scale give the same database, value for value.

Rows go in through the fastest ordinary path: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, create_engine, inspect, text

from models.errors import InputError
from models.identity import synthetic_identity
from models.source import TABLE_ORDER, SourceBase

GENERATOR = "samsa-decom demo-data 1"

#: About this many rows are generated per person (all tables together); scale / this = persons.
ROWS_PER_PERSON = 19

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

MESSAGE_KINDS = (
    "admission_notice",
    "prepared_care_request",
    "care_request",
    "message_to_care_and_social_services",
    "invitation_to_care_planning",
    "care_plan_full",
    "care_plan_short",
    "discharge_notice",
    "interruption",
    "information_at_discharge",
    "en_vag_in_referral",
)
ROLES = ("read", "report_analysis", "closing_cases", "log_review")
ACCESS_ACTIONS = ("read", "read", "read", "print", "update", "search")
CONSENT_KINDS = ("share_information", "sip_participation", "relative_access")
GIVEN = ("Anna", "Åsa", "Örjan", "Björn", "Märta", "Lars", "Zoë", "Ngozi", "Jürgen", "Émilie",
         "Mohammed", "Li", "Sven-Åke", "Ebba", "Noah")  # fmt: skip
FAMILY = ("Andersson", "Öberg", "Ängström", "Johansson", "Nguyen", "O'Connor", "Karlsson",
          "Ålund", "Şahin", "Müller", "Lindqvist", "Pettersson")  # fmt: skip
STREETS = ("Storgatan", "Kungsgatan", "Östra Hamngatan", "Ängsvägen", "Åsvägen", "Björkgatan")

#: Free text that archivers get wrong. NUL is left out: PostgreSQL text cannot hold it.
NASTY_TEXT: tuple[str, ...] = (
    "Åsa Öberg får ärendet; Ängelholmsvägen 3, Göteborg",
    "Patienten mår bra 👍🏥 😀 — tack!",
    "Kontroll\x01tecken\x07 och \x1b[31mANSI\x1b[0m och \x08backsteg",
    "DEL\x7f och C1-tecken\x80\x85\x9f",
    "C:\\temp\\samsa\\fil.txt och \\u00e5 bokstavligt och \\\\dubbel",
    "Flera    mellanslag   och\ttabb\t\ti rad",
    " inledande och avslutande blanksteg ",
    "Rad 1\nRad 2\r\nRad 3\rRad 4\n",
    "<b>taggar</b> & \"citat\" 'apostrof' ]]> &amp; &#x41;",
    "",
    " ",
    "\x0b\x0c vertikal tab och sidmatning",
    "Nollbredd\u200bmellanslag och RTL \u202etext\u202c",
    "Kombinerande a\u030a mot å, ﬁ-ligatur",
    "Utanför BMP \U0001f600 \U0010fffd och icke-tecken \ufffe\uffff",
    "\\",
    "\t",
)


@dataclass(frozen=True)
class GenerationReport:
    """What was generated: rows per table and the time it took."""

    url_dialect: str
    seed: int
    scale: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


# -- text helpers ------------------------------------------------------------------------------
def _long_text(rng: random.Random, chars: int) -> str:
    words = ("vårdplanering", "utskrivningsklar", "hemtjänst", "läkemedelslista", "SIP-möte",
             "kommunens sjuksköterska", "anhörig", "överrapportering", "🩺", "åtgärd")  # fmt: skip
    out: list[str] = []
    n = 0
    while n < chars:
        w = words[rng.randrange(len(words))]
        out.append(w)
        n += len(w) + 1
    return " ".join(out)[:chars]


class _Text:
    """Free-text source: mostly ordinary Swedish sentences, sometimes nasty, sometimes NULL."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.plain = tuple(
            f"{a} {b}."
            for a in ("Patienten", "Brukaren", "Hemtjänsten", "Vårdcentralen", "Avdelningen")
            for b in ("är utskrivningsklar", "behöver hemsjukvård", "har fått ny läkemedelslista",
                      "önskar att anhöriga informeras", "kallas till SIP-möte", "äter själv")
        )  # fmt: skip

    def __call__(self, null_share: float = 0.1, nasty_share: float = 0.05) -> str | None:
        r = self.rng.random()
        if r < null_share:
            return None
        if r < null_share + nasty_share:
            return NASTY_TEXT[self.rng.randrange(len(NASTY_TEXT))]
        return self.plain[self.rng.randrange(len(self.plain))]


# -- the organisations ----------------------------------------------------------------------
@dataclass
class _Orgs:
    rows: list[tuple[Any, ...]]
    municipalities: list[int]
    municipality_region: dict[int, str]
    wards_by_region: dict[str, list[int]]
    health_centres_by_region: dict[str, list[int]]
    private: list[int]


def _organisations() -> _Orgs:
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
    return _Orgs(rows, municipalities, muni_region, wards, centres, private)


# -- row generation --------------------------------------------------------------------------
EPOCH = datetime(2019, 1, 1, tzinfo=UTC)
SPAN_SECONDS = int((datetime(2026, 6, 30, tzinfo=UTC) - EPOCH).total_seconds())


def _ts(rng: random.Random) -> datetime:
    return EPOCH + timedelta(
        seconds=rng.randrange(SPAN_SECONDS), microseconds=rng.randrange(1000000)
    )


Batch = dict[str, list[tuple[Any, ...]]]


class _Generator:
    def __init__(self, seed: int, scale: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.scale = scale
        self.text = _Text(self.rng)
        self.orgs = _organisations()
        stats = 49 * 4 * max(1, min(90, scale // (10 * 49 * 4)))
        self.persons = max(20, (scale - stats) // ROWS_PER_PERSON)
        self.users: list[tuple[int, int]] = []  # (user_id, org_id)
        self.ids: dict[str, int] = {t: 0 for t in TABLE_ORDER}
        self.seen_identities: set[str] = set()

    def _next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def fixed_rows(self) -> Batch:
        rng = self.rng
        generated_at = datetime(2026, 7, 1, tzinfo=UTC) + timedelta(seconds=self.seed % 86400)
        out: Batch = {t: [] for t in TABLE_ORDER}
        out["dataset_info"].append(
            (1, True, self.seed, self.scale, generated_at, GENERATOR,
             "SYNTETISK testdatabas – inga verkliga personer. Synthetic rehearsal data.")
        )  # fmt: skip
        out["organisation"] = list(self.orgs.rows)
        all_orgs = [r[0] for r in self.orgs.rows]
        n_users = max(10, self.persons // 50)
        for _ in range(n_users):
            uid = self._next("user_account")
            org = all_orgs[rng.randrange(len(all_orgs))]
            name = f"{GIVEN[rng.randrange(len(GIVEN))]} {FAMILY[rng.randrange(len(FAMILY))]}"
            out["user_account"].append(
                (uid, f"SE2321000131-U{uid:012d}", name, org, rng.random() < 0.9, _ts(rng))
            )
            self.users.append((uid, org))
            for _ in range(1 + rng.randrange(2)):
                start = date(2019, 1, 1) + timedelta(days=rng.randrange(2000))
                end = start + timedelta(days=rng.randrange(900)) if rng.random() < 0.3 else None
                out["access_right"].append(
                    (self._next("access_right"), uid, org, ROLES[rng.randrange(4)], start, end)
                )
        # Monthly statistics per municipality and measure, 2019-01 .. 2026-06.
        measures = ("utskrivningsklara", "dagar_till_utskrivning", "sip_moten", "avbrott")
        month = date(2019, 1, 1)
        months: list[date] = []
        n_months = max(1, min(90, self.scale // (10 * 49 * len(measures))))
        while len(months) < n_months:
            months.append(month)
            month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        for m in months:
            for org in self.orgs.municipalities:
                for measure in measures:
                    avg = (
                        Decimal(rng.randrange(0, 2000)) / 100
                        if measure == "dagar_till_utskrivning"
                        else None
                    )
                    out["monthly_statistic"].append(
                        (self._next("monthly_statistic"), m, org, measure, rng.randrange(500), avg)
                    )
        return out

    def person_batches(self, batch_size: int = 2000) -> Iterator[Batch]:
        for start in range(0, self.persons, batch_size):
            out: Batch = {t: [] for t in TABLE_ORDER}
            for _ in range(min(batch_size, self.persons - start)):
                self._person(out)
            if start == 0:
                self._showcase(out)
            yield out

    def _showcase(self, out: Batch) -> None:
        """Make sure every nasty case occurs at any scale: each nasty text as a message body,
        a very long text, an empty and a large BLOB (all on person 1, episode 1)."""
        rng = self.rng
        person = out["person"][0]
        episode = out["care_episode"][0]
        pid, ward, muni = person[0], episode[2], episode[3]
        bodies: list[str | None] = [*NASTY_TEXT, None, _long_text(rng, 300_000)]
        for body in bodies:
            mid = self._next("message")
            out["message"].append(
                (mid, episode[0], pid, ward, muni, "message_to_care_and_social_services",
                 episode[5] + timedelta(hours=1), "Testmeddelande ✓", body, False)
            )  # fmt: skip
        for content in (b"", rng.randbytes(300_000), bytes(range(256)) * 4):
            out["attachment"].append(
                (self._next("attachment"), mid, pid, ward, "bilaga.bin",
                 "application/octet-stream", len(content), content)
            )  # fmt: skip

    def _identity(self) -> tuple[str, str]:
        rng = self.rng
        while True:
            birth = date(1920, 1, 1) + timedelta(days=rng.randrange(36500))
            value, kind = synthetic_identity(rng, birth)
            if value not in self.seen_identities:
                self.seen_identities.add(value)
                return value, str(kind)

    def _person(self, out: Batch) -> None:
        rng = self.rng
        text = self.text
        orgs = self.orgs
        pid = self._next("person")
        identity, kind = self._identity()
        protected = rng.random() < 0.01
        muni = orgs.municipalities[rng.randrange(len(orgs.municipalities))]
        region = orgs.municipality_region[muni]
        name = f"{GIVEN[rng.randrange(len(GIVEN))]} {FAMILY[rng.randrange(len(FAMILY))]}"
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
            self._episode(out, pid, ward, muni, centre)
        for _ in range(rng.randrange(2)):
            org = muni if rng.random() < 0.5 else ward
            out["consent"].append(
                (self._next("consent"), pid, org, CONSENT_KINDS[rng.randrange(3)],
                 rng.random() < 0.9, _ts(rng), _ts(rng) if rng.random() < 0.1 else None,
                 text(0.6, 0.1))
            )  # fmt: skip
        for _ in range(rng.randrange(8)):
            uid, uorg = self.users[rng.randrange(len(self.users))]
            out["access_log"].append(
                (self._next("access_log"), uid, pid, uorg, _ts(rng),
                 ACCESS_ACTIONS[rng.randrange(len(ACCESS_ACTIONS))])
            )  # fmt: skip

    def _episode(self, out: Batch, pid: int, ward: int, muni: int, centre: int | None) -> None:
        rng = self.rng
        text = self.text
        eid = self._next("care_episode")
        admitted = _ts(rng)
        # Lag (2017:612): the admission notice goes out within 24 hours (a few are late).
        late = rng.random() < 0.02
        notice = admitted + timedelta(
            minutes=rng.randrange(60 * 24, 60 * 72) if late else rng.randrange(5, 60 * 24)
        )
        ready = (
            notice + timedelta(hours=rng.randrange(12, 24 * 20)) if rng.random() < 0.92 else None
        )
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
            note = _long_text(rng, 200_000)
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
            mid = self._next("message")
            sender, receiver = (ward, muni) if rng.random() < 0.7 else (muni, ward)
            body = text(0.15, 0.06)
            if rng.random() < 0.0003:
                body = _long_text(rng, 120_000)
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
                (self._next("attachment"), mid, pid, sender,
                 f"bilaga_{mid}.{'pdf' if size % 2 else 'png'}",
                 "application/pdf" if size % 2 else "image/png",
                 size if content is not None else 0, content)
            )  # fmt: skip
        if planning and rng.random() < 0.5:
            plan_id = self._next("sip_plan")
            out["sip_plan"].append(
                (plan_id, pid, muni, eid, planning, "SIP efter utskrivning", text(0.2, 0.08),
                 "active" if rng.random() < 0.3 else "closed")
            )  # fmt: skip
            for role, org in (("patient", muni), ("kommun", muni), ("slutenvård", ward)):
                if rng.random() < 0.9:
                    out["sip_participant"].append(
                        (self._next("sip_participant"), plan_id, pid, org, role,
                         f"{GIVEN[rng.randrange(len(GIVEN))]} {FAMILY[rng.randrange(len(FAMILY))]}")
                    )  # fmt: skip
            for _ in range(1 + rng.randrange(3)):
                out["sip_action"].append(
                    (self._next("sip_action"), plan_id, pid, muni if rng.random() < 0.6 else ward,
                     text(0.0, 0.08) or "Hemtjänst tre gånger dagligen",
                     (planning.date() + timedelta(days=rng.randrange(60))
                      if rng.random() < 0.8 else None),
                     rng.random() < 0.5,
                     Decimal(rng.randrange(0, 4000)) / 100 if rng.random() < 0.7 else None)
                )  # fmt: skip


# -- writing ---------------------------------------------------------------------------------
def _columns(engine: Engine) -> dict[str, list[str]]:
    return {t: [c.name for c in SourceBase.metadata.tables[t].columns] for t in TABLE_ORDER}


def _sqlite_value(v: Any) -> Any:
    """The storage form SQLAlchemy's SQLite dialect uses (so SQLAlchemy reads it back equal)."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    return v


def _writer_sqlite(
    engine: Engine,
) -> tuple[Callable[[str, list[tuple[Any, ...]]], None], Callable[[], None]]:
    raw = engine.raw_connection()
    dbapi = raw.driver_connection
    assert dbapi is not None
    dbapi.execute("PRAGMA synchronous=OFF")
    dbapi.execute("PRAGMA journal_mode=MEMORY")
    dbapi.execute("BEGIN")
    cols = _columns(engine)

    def write(table: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = cols[table]
        sql = f'INSERT INTO "{table}" ({", ".join(names)}) VALUES ({", ".join("?" * len(names))})'
        dbapi.executemany(sql, [tuple(_sqlite_value(v) for v in r) for r in rows])

    def finish() -> None:
        dbapi.execute("COMMIT")
        raw.close()

    return write, finish


def _writer_postgresql(
    engine: Engine,
) -> tuple[Callable[[str, list[tuple[Any, ...]]], None], Callable[[], None]]:
    raw = engine.raw_connection()
    conn = raw.driver_connection
    assert conn is not None
    cur = conn.cursor()
    cols = _columns(engine)

    def write(table: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(f'"{c}"' for c in cols[table])
        with cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for r in rows:
                copy.write_row(r)

    def finish() -> None:
        conn.commit()
        cur.execute("ANALYZE")
        conn.commit()
        raw.close()

    return write, finish


def _mysql_value(v: Any) -> Any:
    """What PyMySQL should send: timestamps as naive UTC (the DATETIME(6) columns hold UTC)."""
    if isinstance(v, datetime):
        return v.astimezone(UTC).replace(tzinfo=None)
    return v


def _writer_mysql(
    engine: Engine,
) -> tuple[Callable[[str, list[tuple[Any, ...]]], None], Callable[[], None]]:
    """MariaDB/MySQL: multi-row INSERTs (PyMySQL's executemany) in one transaction."""
    raw = engine.raw_connection()
    conn = raw.driver_connection
    assert conn is not None
    cur = conn.cursor()
    cur.execute("SET SESSION time_zone = '+00:00', foreign_key_checks = 0, unique_checks = 0")
    cols = _columns(engine)

    def write(table: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        names = ", ".join(f"`{c}`" for c in cols[table])
        marks = ", ".join(["%s"] * len(cols[table]))
        cur.executemany(
            f"INSERT INTO `{table}` ({names}) VALUES ({marks})",
            [tuple(_mysql_value(v) for v in r) for r in rows],
        )

    def finish() -> None:
        conn.commit()
        cur.execute("SET SESSION foreign_key_checks = 1, unique_checks = 1")
        for table in TABLE_ORDER:
            cur.execute(f"ANALYZE TABLE `{table}`")
            cur.fetchall()
        raw.close()

    return write, finish


def _prepare_schema(engine: Engine, replace: bool) -> None:
    existing = set(inspect(engine).get_table_names())
    ours = set(TABLE_ORDER)
    if existing & ours:
        if not replace:
            raise InputError(
                "the target database already has SAMSA tables "
                f"({', '.join(sorted(existing & ours))}); use --replace to regenerate a "
                "synthetic database"
            )
        if "dataset_info" not in existing:
            raise InputError("refusing to replace: the target has SAMSA tables but no dataset_info")
        with engine.connect() as c:
            flags = [bool(r[0]) for r in c.execute(text("SELECT synthetic FROM dataset_info"))]
        if not flags or not all(flags):
            raise InputError(
                "refusing to replace: dataset_info does not mark this database as synthetic"
            )
        SourceBase.metadata.drop_all(engine)
    if engine.dialect.name in ("mysql", "mariadb"):
        # text compares byte for byte, as on PostgreSQL (unique HSA-ids differing in case)
        with engine.begin() as c:
            c.exec_driver_sql("ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    SourceBase.metadata.create_all(engine)


def generate(url: str, *, scale: int, seed: int, replace: bool = False,
             progress: Callable[[int, int], None] | None = None) -> GenerationReport:  # fmt: skip
    """Create and fill a synthetic SAMSA database at ``url`` with about ``scale`` rows.

    ``progress(done_persons, total_persons)`` is called after each batch.
    """
    import time

    if scale < 1:
        raise InputError(f"scale must be at least 1 (got {scale})")
    t0 = time.perf_counter()
    engine = create_engine(url)
    try:
        dialect = engine.dialect.name
        writers = {
            "sqlite": _writer_sqlite, "postgresql": _writer_postgresql,
            "mysql": _writer_mysql, "mariadb": _writer_mysql,
        }  # fmt: skip
        if dialect not in writers:
            raise InputError(f"demo-data writes SQLite, PostgreSQL or MariaDB/MySQL, not {dialect}")
        _prepare_schema(engine, replace)
        gen = _Generator(seed, scale)
        write, finish = writers[dialect](engine)
        counts = {t: 0 for t in TABLE_ORDER}

        def emit(batch: Batch) -> None:
            for t in TABLE_ORDER:
                write(t, batch[t])
                counts[t] += len(batch[t])

        emit(gen.fixed_rows())
        done = 0
        for batch in gen.person_batches():
            emit(batch)
            done += len(batch["person"])
            if progress:
                progress(done, gen.persons)
        finish()
    finally:
        engine.dispose()
    return GenerationReport(dialect, seed, scale, counts, time.perf_counter() - t0)


def fingerprint(report: GenerationReport) -> str:
    """A short, stable label for a generated dataset (seed + scale + row counts)."""
    h = hashlib.sha256(repr((report.seed, report.scale, sorted(report.rows.items()))).encode())
    return h.hexdigest()[:12]
