"""Delivery to the drops (atomic, idempotent), receipts by file and by a person, reminders."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from ledgers import upgraded

from models import clock
from models.errors import InputError, ValidationFailed
from models.ledger import Ledger
from models.ledger.extracts import DeliveryState
from tasks.extracts.deadlines import open_deadlines
from tasks.extracts.delivery import (
    confirm_receipt,
    current_deliveries,
    load_drops,
    scan_receipts,
)
from tasks.extracts.service import deliver_and_collect, produce_org_bags
from tasks.synthetic import generate


@pytest.fixture
def delivered(tmp_path: Path) -> tuple[Ledger, str, Path]:
    src = f"sqlite:///{tmp_path / 'samsa.sqlite'}"
    generate(src, scale=1500, seed=3)
    ledger = upgraded(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    drops_file = tmp_path / "drops.yaml"
    drops_file.write_text(
        "default: drops/{org_id}\norganisations:\n  '3': special/goteborg\n", encoding="utf-8"
    )
    drops = load_drops(drops_file, tmp_path)
    produce_org_bags(ledger, tmp_path / "bags", source_url=src)
    report = deliver_and_collect(ledger, drops, source_url=src)
    assert len(report.delivered) == len(current_deliveries(ledger)) > 100
    return ledger, src, tmp_path


def test_bags_land_complete_in_each_drop(delivered: tuple[Ledger, str, Path]) -> None:
    ledger, _, root = delivered
    rows = current_deliveries(ledger)
    assert all(r.state is DeliveryState.delivered for r in rows.values())
    assert Path(rows["3"].delivered_to or "") == root / "special/goteborg/samsa-registerutdrag-3"
    assert Path(rows["1"].delivered_to or "") == root / "drops/1/samsa-registerutdrag-1"
    leftovers = [p for p in (root / "drops").rglob(".*") if "partial" in p.name]
    assert leftovers == []
    import bagit

    bagit.Bag(rows["1"].delivered_to).validate()


def test_receipt_file_naming_the_checksum_confirms(delivered: tuple[Ledger, str, Path]) -> None:
    ledger, _, _ = delivered
    rows = current_deliveries(ledger)
    one, two = rows["1"], rows["2"]
    Path(one.delivered_to + ".receipt").write_text(
        json.dumps({"sha256": one.sha256, "received_by": "Anna, Ale kommun"}), encoding="utf-8"
    )
    Path(two.delivered_to + ".receipt").write_text("mottaget " + "0" * 64, encoding="utf-8")
    scan = scan_receipts(ledger)
    assert scan.confirmed == ["1"]
    assert len(scan.problems) == 1 and "names no checksum" in scan.problems[0].message
    after = current_deliveries(ledger)
    assert after["1"].state is DeliveryState.receipt_confirmed
    assert after["1"].receipt_by == "Anna, Ale kommun (kvittensfil)"
    assert after["2"].state is DeliveryState.delivered
    assert ledger.verify_audit().ok


def test_person_confirms_by_checksum_and_reminders_list_the_rest(
    delivered: tuple[Ledger, str, Path],
) -> None:
    ledger, _, _ = delivered
    rows = current_deliveries(ledger)
    confirm_receipt(ledger, rows["5"].sha256.upper(), by="Bo Berg", via="form")
    with pytest.raises(InputError, match="64 hexadecimal"):
        confirm_receipt(ledger, "abc", by="Bo Berg", via="form")
    with pytest.raises(InputError, match="no delivered bag"):
        confirm_receipt(ledger, "f" * 64, by="Bo Berg", via="form")
    deadlines = open_deadlines(ledger, clock.today())
    keys = {d.key for d in deadlines}
    assert "receipt:5" not in keys and "receipt:1" in keys
    assert all(d.due == clock.today() + timedelta(days=14) for d in deadlines)


def test_redelivery_of_the_same_bag_changes_nothing(delivered: tuple[Ledger, str, Path]) -> None:
    ledger, src, root = delivered
    before = {k: (v.id, v.sha256) for k, v in current_deliveries(ledger).items()}
    produce_org_bags(ledger, root / "bags", source_url=src)
    assert {k: (v.id, v.sha256) for k, v in current_deliveries(ledger).items()} == before


def test_bad_drops_file_lists_every_problem(tmp_path: Path) -> None:
    f = tmp_path / "drops.yaml"
    f.write_text("default: 3\norganisations:\n  '1': ''\nfolder: x\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as info:
        load_drops(f, tmp_path)
    assert len(info.value.problems) == 3


def test_cli_receipt_and_bad_arguments(
    delivered: tuple[Ledger, str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from deploy.cli import main

    ledger, src, root = delivered
    url = ledger.url
    sha = current_deliveries(ledger)["2"].sha256
    assert main(["extract", "receipt", "--sha256", sha, "--by", "Li", "--ledger", url]) == 0
    assert "mottagning bekräftad: " in (said := capsys.readouterr().out) and "av Li" in said
    assert main(["extract", "receipt", "--sha256", "zz", "--by", "Li", "--ledger", url]) == 2
    assert main(["extract", "orgs", "--source", src, "--archive", str(root), "--out",
                 str(root / "x")]) == 2  # fmt: skip
    assert main(["extract", "orgs", "--source", src, "--org", "nope", "--out",
                 str(root / "x"), "--ledger", url]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "exakt en av --source" in err and "--org nope" in err
