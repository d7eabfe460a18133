"""The person's extract as documents: JSON (complete, machine-readable keys), HTML and PDF
(readable, in Swedish: Swedish field labels, times in Swedish local time to the minute).

Two kinds of document:

- the citizen's version, ``registerutdrag-<request id>.json|html|pdf``: what is released,
  after the secrecy review, with the case, the decision and the art. 15 information;
- the case officer's review copy, ``granskningsexemplar-<request id>.json|html|pdf``: the
  complete data, marked "lämnas inte ut", each record with its reference (``message:123``)
  and each third-party value flagged for the secrecy review.

File names carry the opaque request id only. HTML and PDF are drawn from the same blocks
(:func:`blocks`), so they say the same thing.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from models import clock
from tasks.extracts.readme import TABLE_SV
from tasks.extracts.review import CATEGORIES, CATEGORY_SV, Category

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_UTC_STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z$")
#: Longest value shown in full in the PDF; the JSON and HTML always hold every character.
PDF_VALUE_LIMIT = 4000
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
TITLE = "Registerutdrag ur SAMSA IT-tjänst"
TITLE_TF = "Allmänna handlingar ur SAMSA IT-tjänst"
TITLE_REVIEW = "GRANSKNINGSEXEMPLAR – lämnas inte ut"

ACTION_SV = {
    "read": "läste",
    "print": "skrev ut",
    "update": "ändrade",
    "search": "sökte",
}
SECTION_SV = {**TABLE_SV, "sip_plan": "Samordnade individuella planer (SIP)",
              "sip_participant": "Deltagare i SIP-möten", "sip_action": "Åtgärder i SIP",
              "care_episode": "Vårdtillfällen (inskrivning och utskrivning)",
              "attachment": "Bilagor", "consent": "Samtycken",
              "message": "Meddelanden i samverkansprocessen"}  # fmt: skip

#: Swedish labels of the fields a person reads (the JSON keeps SAMSA's column names).
FIELD_SV: dict[str, str] = {
    "id": "Post-id", "identity": "Identitet", "identity_kind": "Typ av identitet",
    "name": "Namn", "street_address": "Gatuadress", "postal_code": "Postnummer",
    "city": "Ort", "home_municipality_id": "Hemkommun (id)",
    "protected_identity": "Skyddade personuppgifter", "deceased_on": "Avliden",
    "person_id": "Person (id)", "org_id": "Ansvarig organisation (id)",
    "municipality_id": "Kommun (id)", "health_centre_id": "Vårdcentral (id)",
    "admitted_at": "Inskriven", "admission_notice_at": "Inskrivningsmeddelande skickat",
    "ready_for_discharge_at": "Utskrivningsklar", "planning_at": "Planering påbörjad",
    "discharged_at": "Utskriven", "status": "Status", "interrupted": "Avbrutet",
    "priority": "Prioritet", "note": "Anteckning", "episode_id": "Vårdtillfälle (id)",
    "receiver_org_id": "Mottagare (id)", "kind": "Typ", "sent_at": "Skickat",
    "subject": "Rubrik", "body": "Text", "read": "Läst", "plan_id": "SIP (id)",
    "created_at": "Skapad", "title": "Rubrik", "goal": "Mål", "role": "Roll",
    "participant_name": "Deltagarens namn", "description": "Beskrivning",
    "due_on": "Klart senast", "done": "Klar", "estimated_hours": "Beräknade timmar",
    "given": "Lämnat", "recorded_at": "Registrerat", "withdrawn_at": "Återkallat",
    "message_id": "Meddelande (id)", "filename": "Filnamn", "mime_type": "Filtyp",
    "size_bytes": "Storlek (byte)", "content": "Innehåll",
}  # fmt: skip
VALUE_SV: dict[str, str] = {
    "personnummer": "personnummer", "samordningsnummer": "samordningsnummer",
    "reservnummer": "reservnummer", "admitted": "inskriven",
    "ready_for_discharge": "utskrivningsklar", "planning": "planering",
    "discharged": "utskriven", "active": "aktiv", "closed": "avslutad",
    "admission_notice": "inskrivningsmeddelande",
    "invitation_to_care_planning": "kallelse till samordnad vårdplanering",
    "care_plan_short": "vårdplan (kort)", "care_plan_full": "vårdplan",
    "message_to_care_and_social_services": "meddelande till vård och omsorg",
    "prepared_care_request": "förberedd vårdbegäran", "discharge_notice": "utskrivningsmeddelande",
    "information_at_discharge": "information vid utskrivning", "interruption": "avbrott",
    "en_vag_in_referral": "remiss via En väg in", "patient": "patient",
}  # fmt: skip


def _decoded_size(b64: str) -> int:
    """The size in bytes of base64 text (its padding counted off)."""
    return len(b64) * 3 // 4 - b64[-2:].count("=")


def label(key: str) -> str:
    """The Swedish label of a field (its own name when none is known)."""
    return FIELD_SV.get(key, key)


def shown(key: str, value: Any) -> str:
    """A value as a person reads it: times in Swedish local time, ja/nej, Swedish words for
    SAMSA's codes, a byte count for attachment content."""
    if value is None:
        return "–"
    if value is True:
        return "ja"
    if value is False:
        return "nej"
    if key == "content" and value:
        return f"{_decoded_size(value)} byte (finns i JSON-filen)"
    if isinstance(value, str) and _UTC_STAMP.match(value):
        return clock.local_time_text(datetime.fromisoformat(value.removesuffix("Z")))
    if isinstance(value, str) and key in ("kind", "status", "identity_kind", "role"):
        value = VALUE_SV.get(value, value)
    return _CONTROL.sub("\ufffd", str(value))


@dataclass
class Block:
    """One piece of the readable document: a heading, a paragraph, a note, a list of
    labelled fields, or a table."""

    kind: str  # h1 | h2 | p | note | fields | table
    text: str = ""
    rows: list[tuple[str, str]] = field(default_factory=list)
    head: list[str] = field(default_factory=list)
    cells: list[list[str]] = field(default_factory=list)


def write_documents(
    doc: dict[str, Any], out_dir: Path, *, review_copy: bool = False
) -> dict[str, Path]:
    """Write the JSON, HTML and PDF files; return their paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{'granskningsexemplar' if review_copy else 'registerutdrag'}-{doc['request_id']}"
    paths = {k: out_dir / f"{stem}.{k}" for k in ("json", "html", "pdf")}
    paths["json"].write_text(
        json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    parts = blocks(doc, review_copy=review_copy)
    paths["html"].write_text(render_html(parts), encoding="utf-8")
    render_pdf(parts, paths["pdf"])
    return paths


def _title(doc: dict[str, Any], review_copy: bool) -> str:
    if review_copy:
        return TITLE_REVIEW
    return TITLE if doc.get("case", {}).get("kind", "gdpr-art15") == "gdpr-art15" else TITLE_TF


def _flagged(doc: dict[str, Any]) -> dict[tuple[str, Any, str], str]:
    """(table, id, field) → the review category, for the review copy's flags."""
    out: dict[tuple[str, Any, str], str] = {}
    for item in doc.get("review_items", []):
        table, _, rid = item["ref"].partition(":")
        out[(table, int(rid) if rid.isdigit() else rid, item["field"])] = item["category"]
    return out


def blocks(doc: dict[str, Any], *, review_copy: bool = False) -> list[Block]:
    """The readable document, in order (shared by the HTML and the PDF)."""
    case = doc.get("case", {})
    source = "SAMSA:s databas" if doc["source"] == "live" else "arkivpaketet från SAMSA"
    out = [Block("h1", _title(doc, review_copy))]
    if review_copy:
        out.append(
            Block(
                "note",
                "Granskningsexemplar för handläggaren: alla uppgifter, även om "
                "andra personer. Uppgifter om tredje man är märkta [granska]. "
                "Sekretessprövning enligt OSL 25 kap. 1 § görs innan något lämnas ut.",
            )
        )
    out += [
        Block("p", f"Begäran: {doc['request_id']}"),
        Block("p", f"Framställt: {doc['produced_on']} ur {source}."),
    ]
    if case:
        rows = [("Typ av begäran", case.get("kind_sv", case.get("kind", ""))),
                ("Inkom", case.get("received_on", "")), ("Klart senast", case.get("deadline", "")),
                ("Ärendets status", case.get("state", ""))]  # fmt: skip
        if case.get("decided_by"):
            rows.append(("Beslutat av", case["decided_by"]))
        out.append(Block("fields", "Ärendet", rows=rows))
    out.append(Block("p", "Utdraget visar uppgifterna om dig som finns i SAMSA IT-tjänst, vilka "
                     "organisationer som ansvarar för dem och vilka som har läst dina uppgifter "
                     "(åtkomstloggen)."))  # fmt: skip
    if not doc["found"]:
        out.append(Block("p", "SAMSA har inga uppgifter om den identitet som begäran gäller."))
    if case.get("decision"):
        out.append(Block("h2", "Beslut om delvis avslag"))
        out += [Block("p", part) for part in case["decision"].split("\n\n")]
    review = doc.get("review")
    if review and review.get("withheld"):
        out.append(
            Block(
                "note",
                "Vissa uppgifter om andra personer lämnas inte ut (sekretess). "
                "De är markerade i utdraget.",
            )
        )
    if any(p.get("protected_identity") for p in doc["person"]):
        out.append(Block("note", "Du har skyddade personuppgifter (sekretessmarkering, skyddad "
                         "folkbokföring). Utdraget innehåller dina adressuppgifter; förvara det "
                         "säkert."))  # fmt: skip
    for p in doc["person"]:
        out.append(Block("h2", "Personuppgifter"))
        out.append(Block("fields", rows=[(label(k), shown(k, v)) for k, v in p.items()]))
    flags = _flagged(doc) if review_copy else {}
    orgs = doc["organisations"]
    for table, rows in doc["records"].items():
        out.append(Block("h2", f"{SECTION_SV.get(table, table)} ({len(rows)})"))
        if not rows:
            out.append(Block("p", "Inga uppgifter."))
        for row in rows:
            org = orgs.get(str(row.get("org_id")), {}).get("name") or row.get("org_id")
            caption = f"Ansvarig: {shown('', org)}"
            if review_copy:
                caption = f"[{table}:{row.get('id')}] {caption}"
            fields = []
            for k, v in row.items():
                flag = flags.get((table, row.get("id"), k))
                fields.append((label(k), shown(k, v) + (f"  [granska: {flag}]" if flag else "")))
            out.append(Block("fields", caption, rows=fields))
    log = doc["access_log"]
    out.append(Block("h2", f"Åtkomstlogg: vem har läst dina uppgifter ({len(log)})"))
    if not log:
        out.append(Block("p", "Ingen har läst dina uppgifter enligt loggen."))
    else:
        with_hsa = any(a.get("user_hsa_id") for a in log)
        head = ["Tidpunkt (svensk tid)", "Användare", *(["HSA-id"] if with_hsa else []),
                "Organisation", "Åtgärd"]  # fmt: skip
        cells = []
        for a in log:
            user = shown("", a.get("user_name"))
            if review_copy and (("access_log", a.get("id"), "user_name") in flags):
                user += f"  [granska: access_log:{a.get('id')}]"
            cells.append(
                [
                    shown("at", a.get("at")),
                    user,
                    *([shown("", a.get("user_hsa_id"))] if with_hsa else []),
                    shown("", a.get("org_name")),
                    ACTION_SV.get(a.get("action") or "", shown("", a.get("action"))),
                ]
            )
        out.append(Block("table", head=head, cells=cells))
        if review and not review.get("staff_hsa_ids_shown"):
            out.append(Block("p", "Personalens HSA-id lämnas inte ut i detta utdrag."))
    if review_copy:
        out.append(Block("h2", "Att granska (uppgifter om tredje man)"))
        for category in Category:
            refs = [i["ref"] for i in doc.get("review_items", []) if i["category"] == category]
            places = ", ".join(f"{t}.{f}" for t, f in CATEGORIES[category])
            out.append(
                Block(
                    "p",
                    f"{category.value} – {CATEGORY_SV[category]} ({places}): "
                    f"{len(refs)} uppgifter" + (f": {', '.join(refs)}" if refs else ""),
                )
            )
    for info in doc.get("information", []):
        out.append(Block("h2", info["heading"]))
        out.append(Block("p", info["text"]))
    return out


def render_html(parts: list[Block]) -> str:
    """A self-contained, readable HTML document in Swedish."""
    e = html.escape
    title = parts[0].text if parts and parts[0].kind == "h1" else TITLE
    out = [
        "<!DOCTYPE html>",
        '<html lang="sv"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #bbb;"
        "padding:.2em .5em;vertical-align:top;text-align:left}th{background:#eee}"
        ".note{background:#fff4d6;padding:.5em 1em;border-left:4px solid #e0a800}"
        "td{white-space:pre-wrap;word-break:break-word}</style></head><body>",
    ]
    for b in parts:
        if b.kind in ("h1", "h2"):
            out.append(f"<{b.kind}>{e(b.text)}</{b.kind}>")
        elif b.kind == "p":
            out.append(f"<p>{e(b.text)}</p>")
        elif b.kind == "note":
            out.append(f'<p class="note">{e(b.text)}</p>')
        elif b.kind == "fields":
            out.append("<table>" + (f"<caption>{e(b.text)}</caption>" if b.text else ""))
            out += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in b.rows]
            out.append("</table>")
        elif b.kind == "table":
            out.append("<table><tr>" + "".join(f"<th>{e(h)}</th>" for h in b.head) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
                    for row in b.cells]  # fmt: skip
            out.append("</table>")
    out.append("</body></html>\n")
    return "\n".join(out)


def _fonts() -> tuple[str, str]:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    regular, bold = FONT_DIR / "DejaVuSans.ttf", FONT_DIR / "DejaVuSans-Bold.ttf"
    if not (regular.exists() and bold.exists()):
        return "Helvetica", "Helvetica-Bold"
    if "DejaVuSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("DejaVuSans", str(regular)))
        pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(bold)))
    return "DejaVuSans", "DejaVuSans-Bold"


def _cut(s: str) -> str:
    if len(s) > PDF_VALUE_LIMIT:
        return (
            s[:PDF_VALUE_LIMIT] + f" … (förkortat; hela texten, {len(s)} tecken, finns i "
            "JSON- och HTML-filen)"
        )
    return s


def render_pdf(parts: list[Block], path: Path) -> None:
    """The same content as the HTML, as a PDF (reportlab; values flow across pages)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    regular, bold = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=12)
    indented = ParagraphStyle("field", parent=body, leftIndent=8 * mm)
    styles = {
        "h1": ParagraphStyle("h1", fontName=bold, fontSize=16, leading=20, spaceAfter=6),
        "h2": ParagraphStyle(
            "h2", fontName=bold, fontSize=12, leading=15, spaceBefore=10, spaceAfter=4
        ),  # fmt: skip
        "h3": ParagraphStyle("h3", fontName=bold, fontSize=10, leading=13, spaceBefore=6),
    }

    def para(text: str, style: ParagraphStyle) -> Paragraph:
        safe = html.escape(text).replace("\r\n", "\n").replace("\r", "\n")
        return Paragraph(safe.replace("\n", "<br/>"), style)

    story: list[Any] = []
    for b in parts:
        if b.kind in ("h1", "h2"):
            story.append(para(b.text, styles[b.kind]))
        elif b.kind == "p":
            story.append(para(b.text, body))
        elif b.kind == "note":
            story.append(para(b.text, styles["h3"]))
        elif b.kind == "fields":
            if b.text:
                story.append(para(b.text, styles["h3"]))
            story += [para(f"{k}: {_cut(v)}", indented) for k, v in b.rows]
        elif b.kind == "table":
            story += [para(" · ".join(f"{h}: {c}" for h, c in zip(b.head, row, strict=True)),
                           indented) for row in b.cells]  # fmt: skip
    story.append(Spacer(1, 6 * mm))
    title = parts[0].text if parts and parts[0].kind == "h1" else TITLE
    pdf = SimpleDocTemplate(
        str(path), pagesize=A4, title=title, author="SAMSA IT-tjänst",
        leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm,
    )  # fmt: skip
    pdf.build(story)
