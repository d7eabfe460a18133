"""The pieces of completeness and type mapping on their own: the inventory read back from
metadata.xml, the count check of ``verify --deep``, PostgreSQL intervals as ``xs:duration``,
and the exclusion list's validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.errors import ValidationFailed
from tasks.archive.exclusions import load_exclusions
from tasks.archive.inventory import Inventory, comment_part, compare_counts, compare_inventories
from tasks.archive.types import _iso_interval


@pytest.mark.parametrize(
    ("iso", "duration"),
    [
        ("P1Y2M3DT4H5M6.5S", "P1Y2M3DT4H5M6.500000S"),
        ("PT0S", "P0DT0H0M0S"),
        ("P-3D", "-P3DT0H0M0S"),
        ("PT-1H-2M-0.25S", "-P0DT1H2M0.250000S"),
        ("P-1Y", "-P1Y0M0DT0H0M0S"),
    ],
)
def test_postgresql_intervals_become_one_signed_durations(iso: str, duration: str) -> None:
    assert _iso_interval(iso) == duration


def test_an_interval_with_parts_of_both_signs_has_no_duration() -> None:
    with pytest.raises(ValueError, match="different signs"):
        _iso_interval("P1M-1D")


def test_a_missing_or_extra_object_or_a_row_count_is_named() -> None:
    source = Inventory(schemas=["public", "vård"], tables={"public.a": 2, "vård.b": 1},
                       views=["vård.v"], columns=["public.a.id", "vård.b.id"])  # fmt: skip
    held = Inventory(schemas=["public"], tables={"public.a": 3}, columns=["public.a.id"])
    problems = compare_inventories(source, held)
    assert "completeness: schema vård is in the source, not in the archive" in problems
    assert "completeness: view vård.v is in the source, not in the archive" in problems
    assert "completeness: table vård.b is in the source, not in the archive" in problems
    assert (
        "completeness: table public.a had 2 rows in the source's inventory, the archive holds 3"
        in problems
    )
    assert compare_inventories(source, source) == []


def test_verify_deep_compares_the_recorded_counts() -> None:
    held = Inventory(schemas=["s"], views=["s.v"])
    recorded = Inventory.parse_summary("schemas=1 tables=0 views=2")
    assert compare_counts(recorded, held) == [
        "completeness: PREMIS records views=2, metadata.xml holds 1"
    ]
    assert Inventory.parse_summary(held.summary()) == held.counts()


def test_a_comment_is_the_part_of_a_description_before_the_generated_lines() -> None:
    assert comment_part("Enheter\nRetention: keep.", "Retention: ") == "Enheter"
    assert comment_part("Retention: keep.", "Retention: ") == ""


def test_an_exclusion_needs_a_reason_and_who_decided(tmp_path: Path) -> None:
    plan = tmp_path / "x.yaml"
    plan.write_text('exclusions:\n  - object: "vård.t"\n', encoding="utf-8")
    with pytest.raises(ValidationFailed) as err:
        load_exclusions(plan)
    text = str(err.value)
    assert "exclusions.0.reason" in text and "exclusions.0.decided_by" in text
    assert load_exclusions(None).exclusions == []  # the plan's file: nothing excluded
