"""The words of the synthetic SAMSA database: names, places, kinds and free text.

Names, streets, roles and kinds look like SAMSA's (Swedish, with a few from elsewhere).
:data:`NASTY_TEXT` holds what breaks naive archivers: Swedish letters, emoji, control
characters, backslashes, runs of spaces, CR/LF, markup characters, empty strings; every one
of them occurs at any scale. :class:`FreeText` draws free text (mostly ordinary sentences,
sometimes nasty, sometimes NULL) and :func:`long_text` very long text.
"""

from __future__ import annotations

import random

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


def long_text(rng: random.Random, chars: int) -> str:
    """About ``chars`` characters of care-planning words, emoji among them."""
    words = ("vårdplanering", "utskrivningsklar", "hemtjänst", "läkemedelslista", "SIP-möte",
             "kommunens sjuksköterska", "anhörig", "överrapportering", "🩺", "åtgärd")  # fmt: skip
    out: list[str] = []
    n = 0
    while n < chars:
        w = words[rng.randrange(len(words))]
        out.append(w)
        n += len(w) + 1
    return " ".join(out)[:chars]


class FreeText:
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
