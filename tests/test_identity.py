"""Identities: check digits, impossible dates, formats, masking, and no full number in errors."""

from __future__ import annotations

import random
from datetime import date

import pytest

from models.identity import (
    IdentityError,
    IdentityKind,
    luhn_check_digit,
    make_personnummer,
    make_reserve_number,
    mask,
    parse_identity,
    synthetic_identity,
)


@pytest.mark.parametrize(
    ("raw", "canonical", "kind"),
    [
        ("191212121212", "191212121212", IdentityKind.personnummer),
        ("19121212-1212", "191212121212", IdentityKind.personnummer),
        ("121212+1212", "191212121212", IdentityKind.personnummer),
        ("19810829M071", "19810829M071", IdentityKind.reservnummer),
        ("19810829m071", "19810829M071", IdentityKind.reservnummer),
    ],
)
def test_valid_identities_are_canonicalised(raw: str, canonical: str, kind: IdentityKind) -> None:
    ident = parse_identity(raw, today=date(2026, 11, 27))
    assert (ident.value, ident.kind) == (canonical, kind)


def test_ten_digit_form_takes_the_century_from_today() -> None:
    assert parse_identity("121212-1212", today=date(2026, 11, 27)).value == "201212121212"


def test_samordningsnummer_has_day_plus_60() -> None:
    value = make_personnummer(date(1990, 5, 3), 985, coordination=True)
    ident = parse_identity(value)
    assert ident.kind is IdentityKind.samordningsnummer
    assert ident.birth_date == date(1990, 5, 3)
    assert value[6:8] == "63"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("191212121213", "check_digit"),
        ("19121312-1212", "date"),  # month 13
        ("19990229-9801", "date"),  # 1999 is no leap year
        ("19120192-1234", "date"),  # day 92 is neither a day nor day+60
        ("19810829M072", "check_digit"),
        ("19810829Q071", "letter"),
        ("1912-12-12", "format"),
        ("hello", "format"),
        ("", "format"),
    ],
)
def test_each_kind_of_mistake_has_its_reason(raw: str, reason: str) -> None:
    with pytest.raises(IdentityError) as info:
        parse_identity(raw)
    assert info.value.reason == reason
    assert info.value.exit_code == 2


def test_errors_never_echo_the_full_number() -> None:
    with pytest.raises(IdentityError) as info:
        parse_identity("191212121213")
    text = str(info.value)
    assert "191212121213" not in text and "1213" not in text.split("-")[-1]
    assert "19121212-****" in text


def test_mask_and_str_hide_the_birth_number() -> None:
    ident = parse_identity("191212121212")
    assert mask("191212121212") == "19121212-****"
    assert str(ident) == "19121212-****" and "1212121212" not in repr(ident)


def test_generated_identities_all_validate() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        birth = date(rng.randint(1920, 2020), rng.randint(1, 12), rng.randint(1, 28))
        value, kind = synthetic_identity(rng, birth)
        assert parse_identity(value).kind is kind
    assert parse_identity(make_reserve_number(date(1981, 8, 29), "M", 7)).value == "19810829M071"


def test_unknown_format_shows_its_shape_not_its_digits() -> None:
    with pytest.raises(IdentityError) as info:
        parse_identity("1912121")
    text = str(info.value)
    assert "shaped NNNNNNN" in text and "1912121" not in text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("ring om 19121212-1212 i dag", "ring om 19121212-**** i dag"),
        ("121212+1212", "121212-****"),
        ("191212121212", "19121212-****"),
        ("reserv 19810829M071.", "reserv 19810829-****."),
    ],
)
def test_scrub_masks_every_identity_shape_in_free_text(text: str, masked: str) -> None:
    from models.identity import scrub_identities

    assert scrub_identities(text) == masked


def test_scrub_leaves_uuids_and_longer_numbers_alone() -> None:
    from models.identity import scrub_identities

    text = "run 12345678-1234-5678-9abc-def012345678 och 12345678901234567"
    assert scrub_identities(text) == text


@pytest.mark.parametrize(
    ("raw", "today", "canonical"),
    [
        # the whole date counts: on 30 November 2026, 15 December 26 has not come yet
        ("261215-9816", date(2026, 11, 30), "192612159816"),
        ("261130-9812", date(2026, 11, 30), "202611309812"),  # born today
        ("261201-9815", date(2026, 12, 1), "202612019815"),
        ("261201-9815", date(2026, 11, 30), "192612019815"),
        # a samordningsnummer's day (+60) is taken back before comparing
        ("261275-9814", date(2026, 12, 14), "192612759814"),
        ("261275-9814", date(2026, 12, 15), "202612759814"),
        # '+' adds another hundred years
        ("261215+9816", date(2026, 11, 30), "182612159816"),
    ],
)
def test_ten_digit_century_compares_the_whole_date(raw: str, today: date, canonical: str) -> None:
    check = str(luhn_check_digit(canonical[2:11]))  # the same for the 10-digit form
    assert parse_identity(raw[:-1] + check, today=today).value == canonical[:-1] + check


def test_plus_is_refused_in_the_twelve_digit_form() -> None:
    with pytest.raises(IdentityError) as info:
        parse_identity("19121212+1212")
    assert info.value.reason == "format"
    assert "10-digit form" in str(info.value) and "1212" not in str(info.value).split("-")[-1]


@pytest.mark.parametrize("raw", ["1212121212", "121212-1212", "121212+1212"])
def test_masking_a_ten_digit_number_shows_no_birth_number_digit(raw: str) -> None:
    assert mask(raw) == "121212-****"
