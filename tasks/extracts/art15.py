"""What a registerutdrag must tell the person besides the data: GDPR art. 15.1 (a)–(h), in
Swedish. A TF request (and one about a deceased person, to whom GDPR does not apply) gets a
short note on that path instead.

The storage period invents no deletion date: records are kept or disposed of only under the
archive authority's disposal decision (gallringsbeslut, arkivlagen 10 §), and are kept
(bevaras) where there is none.
"""

from __future__ import annotations

from typing import Any

from models.extract_case import KIND_SV, RequestKind


def _recipients(doc: dict[str, Any]) -> str:
    names = sorted({o.get("name") or str(k) for k, o in doc.get("organisations", {}).items()})
    shown = ", ".join(names) if names else "inga"
    return (
        "Uppgifterna har lämnats mellan de organisationer som samverkar kring dig i SAMSA: "
        f"{shown}. När SAMSA avvecklas levereras uppgifterna till Regionarkivet för arkivering."
    )


def information(doc: dict[str, Any], kind: RequestKind) -> list[tuple[str, str]]:
    """The information sections as (heading, text), in the order the document shows them."""
    if kind is not RequestKind.gdpr_art15:
        return [
            (
                "Om begäran",
                f"Begäran har handlagts som {KIND_SV[kind]}: en begäran om att ta del av allmänna "
                "handlingar enligt tryckfrihetsförordningen 2 kap., prövad mot offentlighets- "
                "och sekretesslagen."
                + (
                    " Dataskyddsförordningen (GDPR) gäller inte uppgifter om avlidna personer."
                    if kind is RequestKind.tf_avliden
                    else ""
                ),
            )
        ]
    categories = ", ".join(
        [
            "identitet, namn och adress",
            "vårdtillfällen (inskrivning och utskrivning)",
            "meddelanden i samverkansprocessen",
            "samordnade individuella planer (SIP)",
            "samtycken",
            "bilagor",
            "åtkomstlogg",
        ]
    )
    return [
        (
            "a) Ändamål",
            "Uppgifterna behandlas för samverkan vid utskrivning från sluten hälso- och sjukvård "
            "(lag (2017:612)) och för samordnad individuell plan (SIP), och för att dokumentera "
            "vården och omsorgen enligt patientdatalagen och socialtjänstens regler.",
        ),
        ("b) Kategorier av uppgifter", f"Utdraget innehåller: {categories}."),
        ("c) Mottagare", _recipients(doc)),
        (
            "d) Hur länge uppgifterna sparas",
            "Uppgifter som en region eller kommun ansvarar för är allmänna handlingar. De "
            "bevaras eller gallras enbart enligt arkivmyndighetens gallringsbeslut (arkivlagen "
            "10 §); finns inget gallringsbeslut bevaras de. Uppgifter som en privat vårdgivare "
            "ansvarar för omfattas inte av arkivlagen. Journaluppgifter sparas alltid minst tio "
            "år efter sista anteckningen (patientdatalagen 3 kap. 17 §).",
        ),
        (
            "e) Dina rättigheter",
            "Du har rätt att begära rättelse av felaktiga uppgifter, radering, begränsning av "
            "behandlingen och att invända mot behandlingen. Allmänna handlingar som ska "
            "arkiveras kan inte raderas på begäran (GDPR art. 17.3 b och d).",
        ),
        (
            "f) Klagomål",
            "Du har rätt att lämna klagomål till Integritetsskyddsmyndigheten (IMY), www.imy.se.",
        ),
        (
            "g) Varifrån uppgifterna kommer",
            "Uppgifterna har registrerats av de vårdgivare och kommuner som deltar i "
            "samverkan; den ansvariga organisationen anges vid varje post.",
        ),
        (
            "h) Automatiserat beslutsfattande",
            "Inga automatiserade beslut, och ingen profilering, görs med uppgifterna i SAMSA.",
        ),
    ]
