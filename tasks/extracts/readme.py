"""The Swedish README that goes into every organisation's bag (``data/README.txt``)."""

from __future__ import annotations

from datetime import date
from typing import Any

#: Swedish descriptions of SAMSA's record types (unknown tables get a generic line).
TABLE_SV: dict[str, str] = {
    "person": "Personer som posterna gäller (identitet, namn, adress, skyddad identitet)",
    "access_log": "Åtkomstlogg: vilken användare som läst eller ändrat uppgifter, och när",
    "episode": "Vårdtillfällen (inskrivning och utskrivning i sluten vård)",
    "care_episode": "Vårdtillfällen (inskrivning och utskrivning i sluten vård)",
    "message": "Meddelanden i samverkansprocessen (inskrivningsmeddelande, kallelse m.m.)",
    "care_plan": "Samordnade individuella planer (SIP) och vårdplaner",
    "plan": "Samordnade individuella planer (SIP) och vårdplaner",
    "referral": "Remisser (t.ex. från En väg in)",
    "discharge": "Utskrivningsklar-meddelanden och utskrivningar",
    "consent": "Samtycken",
    "deviation": "Avvikelser i samverkan",
    "sip_plan": "Samordnade individuella planer (SIP)",
    "sip_participant": "Deltagare i SIP-möten",
    "sip_action": "Åtgärder som beslutats i SIP",
    "attachment": "Bilagor till meddelanden (innehållet i base64)",
    "monthly_statistic": "Månadsstatistik (Utdata SAMSA) för organisationen",
    "user_account": "Organisationens användare i SAMSA (HSA-id)",
    "access_right": "Behörigheter för organisationens användare",
}


def _describe(table: str) -> str:
    """The Swedish description of a file's records (received records marked as such)."""
    base = table.removeprefix("inkommen-")
    desc = TABLE_SV.get(base, f"Poster i tabellen {base}")
    return f"Inkomna till er: {desc[0].lower()}{desc[1:]}" if base != table else desc


def org_readme(org: Any, counts: dict[str, int], bagging_date: date, source_label: str) -> str:
    """The README text of one organisation's bag, in Swedish."""
    records = sum(n for t, n in counts.items() if t != "person")
    source_sv = "SAMSA:s databas" if source_label == "live" else "arkivpaketet (SIARD) från SAMSA"
    lines = [
        f"Uttag ur SAMSA IT-tjänst för {org.name or org.id}",
        "=" * 60,
        "",
        f"Organisation: {org.name} (id {org.id}"
        + (f", HSA-id {org.hsa_id}" if org.hsa_id else "")
        + ")",
        f"Framställt: {bagging_date.isoformat()} ur {source_sv}.",
        "",
        "Paketet innehåller de poster i SAMSA som er organisation är personuppgiftsansvarig",
        "för, det vill säga de poster som er organisation har skrivit. Poster som andra",
        "organisationer ansvarar för finns inte med.",
        "",
        "Dessutom innehåller det de poster som er organisation har tagit emot från andra",
        "(inkomna handlingar): meddelanden med er som mottagare och vårdtillfällen där ni är",
        "den kommun som ansvarar, till exempel inskrivningsmeddelanden och",
        "utskrivningsklar-meddelanden enligt lagen (2017:612) om samverkan vid utskrivning",
        "från sluten hälso- och sjukvård. De är allmänna handlingar hos er som inkomna och",
        "ligger i filerna som börjar med 'inkommen-' (t.ex. inkommen-message.csv).",
        "",
    ]
    if records == 0:
        lines += [
            "DETTA PAKET INNEHÅLLER INGA POSTER: SAMSA har inga poster som er organisation",
            "ansvarar för. CSV-filerna nedan har därför bara kolumnrubriker och JSON-filerna",
            "är tomma listor.",
            "",
        ]
    lines += [
        "Innehåll (en CSV-fil och en JSON-fil per posttyp, t.ex. message.csv och message.json):",
        "",
    ]
    width = max((len(t) for t in counts), default=10)
    for table, n in counts.items():
        desc = _describe(table)
        lines.append(f"  {table:<{width}}  {n:>10} rader  {desc}")
    lines.append(f"  {'Summa poster':<{width}}  {records:>10} rader  (utöver personerna)")
    lines += [
        "",
        "Format",
        "------",
        "CSV: UTF-8, kommaavgränsad, första raden är kolumnnamn, radslut CRLF. Tomt fält betyder",
        "att värdet saknas (i CSV syns ingen skillnad mellan saknad och tom text; i JSON är",
        "ett saknat värde null). Sanningsvärden skrivs true/false, tidpunkter enligt ISO 8601",
        "i UTC (slutar på Z).",
        "Enstaka fält (fritext, bilagor i base64) kan vara längre än 1 MB.",
        "JSON: en lista med ett objekt per rad och samma kolumnnamn som i CSV-filen.",
        "",
        "Skyddade personuppgifter",
        "------------------------",
        "Personer med skyddade personuppgifter (sekretessmarkering, skyddad folkbokföring)",
        "är markerade med",
        "protected_identity = true. Deras adressuppgifter är undanhållna (tomma) och",
        "kolumnen address_withheld är true. Hantera uppgifterna enligt era rutiner för",
        "skyddade personuppgifter.",
        "",
        "Kontroll och kvittens",
        "---------------------",
        "Paketet följer BagIt (RFC 8493). Filen manifest-sha256.txt anger SHA-256 för varje",
        "fil i data/, och tagmanifest-sha256.txt anger SHA-256 för manifestet och de andra",
        "beskrivande filerna. Paketets kontrollsumma är SHA-256 av tagmanifest-sha256.txt.",
        "Kontrollera paketet (t.ex. med bagit.py --validate) och kvittera mottagandet genom",
        "att lägga en fil <paketnamn>.receipt bredvid paketet som innehåller kontrollsumman,",
        "eller meddela projektet som bekräftar mottagandet i sitt formulär.",
        "",
    ]
    return "\n".join(lines)
