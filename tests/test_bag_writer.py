"""The streaming BagIt writer: bagit-python accepts its bags and catches any change to them."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import bagit
import pytest

from tasks.extracts.bag import BagWriter, bag_checksum


def _bag(root: Path) -> str:
    w = BagWriter(root)
    with_special = w.open_text("tabell med å och mellanslag.csv")
    with_special.write("id,text\r\n1,Åsa 👍\r\n")
    w.add_text("README.txt", "Innehåll: två filer.\n")
    result = w.finish({"External-Identifier": "42"}, bagging_date=date(2026, 11, 27))
    assert result.files == 2
    return result.sha256


def test_bag_validates_with_bagit_python_and_names_its_checksum(tmp_path: Path) -> None:
    sha = _bag(tmp_path / "bag")
    bag = bagit.Bag(str(tmp_path / "bag"))
    bag.validate()  # raises on any problem
    assert bag.info["External-Identifier"] == "42"
    assert bag.info["Bagging-Date"] == "2026-11-27"
    assert bag.info["Payload-Oxum"].endswith(".2")
    tagmanifest = (tmp_path / "bag" / "tagmanifest-sha256.txt").read_bytes()
    assert sha == hashlib.sha256(tagmanifest).hexdigest() == bag_checksum(tmp_path / "bag")


def test_a_changed_byte_is_caught(tmp_path: Path) -> None:
    _bag(tmp_path / "bag")
    readme = tmp_path / "bag" / "data" / "README.txt"
    data = bytearray(readme.read_bytes())
    data[0] ^= 0x01  # one bit of one byte: same size, so only the checksum can tell
    readme.write_bytes(bytes(data))
    with pytest.raises(bagit.BagValidationError) as info:
        bagit.Bag(str(tmp_path / "bag")).validate()
    assert [(d.path, d.algorithm) for d in info.value.details] == [
        ("data/README.txt", "sha256")
    ]


def test_an_extra_file_is_caught(tmp_path: Path) -> None:
    _bag(tmp_path / "bag")
    (tmp_path / "bag" / "data" / "smuggled.csv").write_text("x\n")
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(tmp_path / "bag")).validate()


def test_same_content_same_checksum(tmp_path: Path) -> None:
    assert _bag(tmp_path / "a") == _bag(tmp_path / "b")


@pytest.mark.parametrize("name", ["a%b.csv", "a\nb.csv", "../x.csv", "sub/x.csv"])
def test_names_other_tools_would_misread_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not allowed"):
        BagWriter(tmp_path / "bag").open_text(name)
