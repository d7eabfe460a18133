"""SIARD 2.2 string escaping (G_3.3-4), both ways.

Text cells must survive XML unchanged, so characters XML cannot hold (or would normalise) are
written as ``\\u00XX`` escapes, exactly as SIARD prescribes and as the SFA tools write them:

- control characters U+0000-U+0008, U+000B-U+001F (this includes CR, which an XML parser would
  turn into LF), U+007F-U+009F, and the non-characters U+FFFE/U+FFFF;
- the backslash itself (``\\u005C``), so every backslash in a cell starts an escape;
- a space at the start or end of a value and every space that follows another space (runs of
  spaces), so no whitespace handling can change the value.

``&`` ``<`` ``>`` become XML entities. Tab and LF stay literal (XML keeps them in content).
:func:`decode_text` undoes the ``\\uXXXX`` escapes of text that an XML parser has already
read (entities resolved).
"""

from __future__ import annotations

import re

_SIARD_ESCAPE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\\\\\ufffe\uffff]|^ | \\Z|(?<= ) ")
_DECODE = re.compile(r"\\u([0-9A-Fa-f]{4})")


def _escape_char(m: re.Match[str]) -> str:
    return f"\\u{ord(m.group()):04X}"


def siard_escape(value: str) -> str:
    """The SIARD lexical form of ``value`` (escapes only; no XML entities)."""
    return _SIARD_ESCAPE.sub(_escape_char, value)


def encode_text(value: str) -> str:
    """``value`` ready to be written as the content of a table cell element."""
    if _SIARD_ESCAPE.search(value):
        value = _SIARD_ESCAPE.sub(_escape_char, value)
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    return value


def encode_text_one_line(value: str) -> str:
    """:func:`encode_text` with LF and TAB as the character references ``&#10;`` / ``&#9;``
    (the same value to an XML parser): each row on one line, as PostgreSQL's COPY paths write
    it, so a table written by the generic path has the same bytes as one written by them."""
    value = encode_text(value)
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#9;")
    return value


def decode_text(text: str) -> str:
    """The original value from a cell's parsed text (XML entities already resolved)."""
    if "\\" not in text:
        return text
    return _DECODE.sub(lambda m: chr(int(m.group(1), 16)), text)
