"""SIARD string escaping: every string a database can hold survives XML unchanged."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from tasks.archive.escaping import decode_text, encode_text
from tasks.synthetic.vocabulary import NASTY_TEXT


def _through_xml(value: str) -> str:
    parsed = etree.fromstring(f"<c>{encode_text(value)}</c>".encode()).text or ""
    return decode_text(parsed)


def test_escapes_as_siard_prescribes() -> None:
    assert encode_text("a\\b") == "a\\u005Cb"
    assert encode_text("x\x01y\x7f\x9f") == "x\\u0001y\\u007F\\u009F"
    assert encode_text("a\rb") == "a\\u000Db"
    assert encode_text(" a  b ") == "\\u0020a \\u0020b\\u0020"
    assert encode_text("<&>") == "&lt;&amp;&gt;"
    assert encode_text("Åsa 👍\tok\n") == "Åsa 👍\tok\n"


def test_the_nasty_texts_survive() -> None:
    for value in NASTY_TEXT:
        assert _through_xml(value) == value


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")))
def test_any_text_survives(value: str) -> None:
    assert _through_xml(value) == value
