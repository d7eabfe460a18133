"""Swedish person identities: personnummer, samordningsnummer, VGR reserve numbers.

- Personnummer: century + YYMMDD + three-digit birth number + Luhn check digit, stored as 12
  digits, shown as ``YYYYMMDD-NNNC``.
- Samordningsnummer: the same, with 60 added to the day of birth.
- VGR local reserve number: ``YYYYMMDD`` + sex letter (K, M, X) + two digits + check digit; the
  check digit is Luhn over YYMMDD, the letter as a digit (K=5, M=7, X=8) and the two digits.

An identity is personal data: errors and :func:`mask` never show it in full. Only the date
part is shown (``19121212-****``), which is what the project's logs and messages may carry.
"""

from __future__ import annotations

import enum
import random
import re
from dataclasses import dataclass
from datetime import date

from models import clock
from models.errors import InputError

RESERVE_LETTER_DIGIT = {"K": 5, "M": 7, "X": 8}

_PNR_12 = re.compile(r"^(\d{8})([-+]?)(\d{4})$")
_PNR_10 = re.compile(r"^(\d{6})([-+]?)(\d{4})$")
_RESERVE = re.compile(r"^(\d{8})[-]?([A-Za-z])(\d{2})(\d)$")


class IdentityKind(enum.StrEnum):
    personnummer = "personnummer"
    samordningsnummer = "samordningsnummer"
    reservnummer = "reservnummer"

    @property
    def label_sv(self) -> str:
        return {
            "personnummer": "personnummer",
            "samordningsnummer": "samordningsnummer",
            "reservnummer": "reservnummer (VGR)",
        }[self.value]


class IdentityError(InputError):
    """An identity is malformed. ``reason`` is one of: format, check_digit, date, letter.

    The message names what is wrong and shows at most the masked form.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    """A validated identity in its canonical 12-character form."""

    value: str
    kind: IdentityKind

    @property
    def birth_date(self) -> date:
        y, m, d = int(self.value[:4]), int(self.value[4:6]), int(self.value[6:8])
        if self.kind is IdentityKind.samordningsnummer:
            d -= 60
        return date(y, m, d)

    @property
    def masked(self) -> str:
        return mask(self.value)

    def __str__(self) -> str:  # never print the full number by accident
        return self.masked

    def __repr__(self) -> str:
        return f"Identity({self.masked!r}, {self.kind.value})"


def luhn_check_digit(digits: str) -> int:
    """The Luhn check digit for a string of digits (weights 2,1,2,1,… from the left)."""
    total = 0
    for i, ch in enumerate(digits):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        total += v // 10 + v % 10
    return (10 - total % 10) % 10


def mask(identity: str) -> str:
    """The shareable form: the date part kept, the rest replaced.

    ``19121212-1212`` → ``19121212-****``; a 10-digit form keeps its six date digits only
    (``121212-1212`` and ``1212121212`` → ``121212-****``), so no birth-number digit shows.
    """
    cleaned = re.sub(r"[\s+-]", "", identity or "")
    if len(cleaned) == 10 and cleaned.isdigit():
        return f"{cleaned[:6]}-****"
    if len(cleaned) >= 8 and cleaned[:8].isdigit():
        return f"{cleaned[:8]}-****"
    return "****"


#: Anything shaped like a personnummer, samordningsnummer or VGR reserve number inside a text
#: (10 or 12 digits with an optional separator, or 8 digits + letter + 3 digits); not a run
#: inside a longer number or a UUID.
IDENTITY_LIKE = re.compile(
    r"(?<![0-9A-Za-z])(\d{8}|\d{6})[-+ ]?(\d{4}|[A-Za-z]\d{3})(?![0-9]|-[0-9a-fA-F])"
)


def scrub_identities(text: str, *, limit: int | None = None) -> str:
    """``text`` with every identity-shaped run masked (``19121212-1212`` → ``19121212-****``),
    cut to ``limit`` characters (ending in ``…``) when given.

    The one place that keeps identities out of free text that may reach a log, an artifact, a
    notice, the ledger or an exception (form comments, program output, error messages).
    """
    text = IDENTITY_LIKE.sub(lambda m: f"{m.group(1)}-****", text)
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def person_name(raw: str) -> str:
    """A person's name as the ledger keeps it (whitespace collapsed); raise
    :class:`InputError` when it is empty or holds anything shaped like an identity number.

    The one rule for every approver and confirmer, in the UI's forms and on the CLI: the
    ledger records names, never personnummer."""
    name = " ".join((raw or "").split())
    if not name:
        raise InputError("approver: your name is required (godkännarens namn saknas)")
    if IDENTITY_LIKE.search(name):
        raise InputError(
            "approver: write your name, not an identity number (skriv ditt namn, inte ett "
            "personnummer)"
        )
    return name


def _valid_date(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
    except ValueError:
        return False
    return True


def parse_identity(raw: str, *, today: date | None = None) -> Identity:
    """Validate ``raw`` and return its canonical form; raise :class:`IdentityError`.

    Accepts ``YYYYMMDDNNNC``, ``YYYYMMDD-NNNC``, ``YYMMDD-NNNC`` / ``YYMMDD+NNNC`` (century from
    ``today``; ``+`` means 100 years or older) and reserve numbers ``YYYYMMDDLNNC``.
    """
    text = (raw or "").strip().replace(" ", "")
    if not text:
        raise IdentityError("format", "identity is empty")
    m = _RESERVE.match(text)
    if m:
        return _parse_reserve(m.group(1), m.group(2).upper(), m.group(3), m.group(4))
    m12 = _PNR_12.match(text)
    if m12:
        if m12.group(2) == "+":
            raise IdentityError(
                "format",
                f"{mask(m12.group(1) + m12.group(3))}: '+' (100 years or older) belongs only in "
                "the 10-digit form YYMMDD+NNNC; the 12-digit form carries the century itself",
            )
        return _parse_pnr(m12.group(1) + m12.group(3))
    m10 = _PNR_10.match(text)
    if m10:
        yymmdd, sep, rest = m10.groups()
        year = _century(yymmdd, today or clock.today())
        if sep == "+":
            year -= 100
        return _parse_pnr(f"{year:04d}{yymmdd[2:]}{rest}")
    shape = "".join("N" if c.isdigit() else "L" if c.isalpha() else c for c in text)
    raise IdentityError(
        "format",
        f"unknown identity format ({len(text)} characters, shaped {shape}); expected "
        "YYYYMMDD-NNNC (personnummer/samordningsnummer) or YYYYMMDDLNNC (VGR reserve number)",
    )


def _century(yymmdd: str, today: date) -> int:
    """The full year of a 10-digit number: the latest year whose birth date is not after
    ``today`` (the whole date counts, not only the year: on 2026-11-30, ``261215`` is born
    1926). A samordningsnummer's day (+60) is taken back first; an impossible date keeps
    the current century and is refused by the date check."""
    yy, month, day = int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:6])
    if 61 <= day <= 91:
        day -= 60
    year = (today.year // 100) * 100 + yy
    if not _valid_date(year, month, day):
        return year if year <= today.year else year - 100
    return year if date(year, month, day) <= today else year - 100


def _parse_pnr(twelve: str) -> Identity:
    y, m, d = int(twelve[:4]), int(twelve[4:6]), int(twelve[6:8])
    kind = IdentityKind.personnummer
    if 61 <= d <= 91:
        kind = IdentityKind.samordningsnummer
        d -= 60
    masked = mask(twelve)
    if not _valid_date(y, m, d):
        what = "day of birth (+60)" if kind is IdentityKind.samordningsnummer else "date of birth"
        raise IdentityError("date", f"{masked}: impossible {what} in a {kind.label_sv}")
    expected = luhn_check_digit(twelve[2:11])
    if int(twelve[11]) != expected:
        raise IdentityError(
            "check_digit", f"{masked}: wrong check digit for a {kind.label_sv} (last digit)"
        )
    return Identity(twelve, kind)


def _parse_reserve(yyyymmdd: str, letter: str, nn: str, check: str) -> Identity:
    value = f"{yyyymmdd}{letter}{nn}{check}"
    masked = mask(value)
    if letter not in RESERVE_LETTER_DIGIT:
        raise IdentityError(
            "letter", f"{masked}: the sex letter of a VGR reserve number must be K, M or X"
        )
    y, m, d = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8])
    if not _valid_date(y, m, d):
        raise IdentityError("date", f"{masked}: impossible date in a reserve number")
    digits = f"{yyyymmdd[2:]}{RESERVE_LETTER_DIGIT[letter]}{nn}"
    if int(check) != luhn_check_digit(digits):
        raise IdentityError("check_digit", f"{masked}: wrong check digit for a reserve number")
    return Identity(value, IdentityKind.reservnummer)


def is_valid_identity(raw: str) -> bool:
    try:
        parse_identity(raw)
    except IdentityError:
        return False
    return True


# -- generation of synthetic identities ------------------------------------------------------
def make_personnummer(birth: date, birth_number: int, *, coordination: bool = False) -> str:
    """A 12-digit personnummer (or samordningsnummer) with a correct check digit."""
    day = birth.day + (60 if coordination else 0)
    nine = f"{birth.year % 100:02d}{birth.month:02d}{day:02d}{birth_number:03d}"
    return f"{birth.year:04d}{birth.month:02d}{day:02d}{birth_number:03d}{luhn_check_digit(nine)}"


def make_reserve_number(birth: date, letter: str, nn: int) -> str:
    """A VGR reserve number with a correct check digit."""
    digits = f"{birth.year % 100:02d}{birth.month:02d}{birth.day:02d}"
    digits += f"{RESERVE_LETTER_DIGIT[letter]}{nn:02d}"
    return f"{birth:%Y%m%d}{letter}{nn:02d}{luhn_check_digit(digits)}"


def synthetic_identity(rng: random.Random, birth: date) -> tuple[str, IdentityKind]:
    """A synthetic identity: mostly personnummer (birth numbers 980–999), some
    samordningsnummer and VGR reserve numbers, all valid.

    The range is NOT a test-data marker: no range is safe, people born abroad before 1990 hold
    the birth numbers 930–999, so a synthetic number may be a real person's. Synthetic data is
    treated as personal data and stays on the machine (:mod:`tasks.synthetic.local`);
    ``dataset_info.synthetic`` is what marks it. Skatteverket's published test personnummer
    are not used: the list is not shipped with the product and cannot be fetched offline."""
    roll = rng.random()
    if roll < 0.9:
        return make_personnummer(birth, rng.randint(980, 999)), IdentityKind.personnummer
    if roll < 0.95:
        value = make_personnummer(birth, rng.randint(980, 999), coordination=True)
        return value, IdentityKind.samordningsnummer
    letter = rng.choice("KMX")
    return make_reserve_number(birth, letter, rng.randint(0, 99)), IdentityKind.reservnummer
