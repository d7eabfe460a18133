"""The person's extract as documents: JSON (complete), HTML and PDF (readable, in Swedish).

File names carry the opaque request id only: ``registerutdrag-<request id>.json|html|pdf``.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

from tasks.extracts.readme import TABLE_SV

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
#: Longest value shown in full in the PDF; the JSON and HTML always hold every character.
PDF_VALUE_LIMIT = 4000
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")

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


def _text(v: Any) -> str:
    if v is None:
        return "–"
    if v is True:
        return "ja"
    if v is False:
        return "nej"
    return _CONTROL.sub("\ufffd", str(v))


def write_documents(doc: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write the JSON, HTML and PDF files; return their paths by kind."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"registerutdrag-{doc['request_id']}"
    paths = {k: out_dir / f"{stem}.{k}" for k in ("json", "html", "pdf")}
    paths["json"].write_text(
        json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    paths["html"].write_text(render_html(doc), encoding="utf-8")
    render_pdf(doc, paths["pdf"])
    return paths


def _intro(doc: dict[str, Any]) -> list[str]:
    source = "SAMSA:s databas" if doc["source"] == "live" else "arkivpaketet från SAMSA"
    lines = [
        f"Begäran: {doc['request_id']}",
        f"Framställt: {doc['produced_on']} ur {source}.",
        "Utdraget visar alla uppgifter om dig som finns i SAMSA IT-tjänst, vilka organisationer "
        "som ansvarar för dem och vilka som har läst dina uppgifter (åtkomstloggen).",
    ]
    if not doc["found"]:
        lines.append("SAMSA har inga uppgifter om den identitet som begäran gäller.")
    return lines


def _protected(doc: dict[str, Any]) -> bool:
    return any(p.get("protected_identity") for p in doc["person"])


def render_html(doc: dict[str, Any]) -> str:
    """A self-contained, readable HTML document in Swedish."""
    e = html.escape
    orgs = doc["organisations"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="sv"><head><meta charset="utf-8">',
        "<title>Registerutdrag ur SAMSA IT-tjänst</title>",
        "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #bbb;"
        "padding:.2em .5em;vertical-align:top;text-align:left}th{background:#eee}"
        ".note{background:#fff4d6;padding:.5em 1em;border-left:4px solid #e0a800}"
        "td{white-space:pre-wrap;word-break:break-word}</style></head><body>",
        "<h1>Registerutdrag ur SAMSA IT-tjänst</h1>",
        *(f"<p>{e(line)}</p>" for line in _intro(doc)),
    ]
    if _protected(doc):
        parts.append(
            '<p class="note">Du har skyddade personuppgifter (sekretessmarkering, skyddad '
            "folkbokföring). Utdraget innehåller dina adressuppgifter; "
            "förvara det säkert.</p>"
        )
    for p in doc["person"]:
        parts.append("<h2>Personuppgifter</h2><table>")
        parts += [f"<tr><th>{e(k)}</th><td>{e(_text(v))}</td></tr>" for k, v in p.items()]
        parts.append("</table>")
    for table, rows in doc["records"].items():
        parts.append(f"<h2>{e(SECTION_SV.get(table, table))} ({len(rows)})</h2>")
        if not rows:
            parts.append("<p>Inga uppgifter.</p>")
            continue
        for row in rows:
            org = orgs.get(str(row.get("org_id")), {}).get("name") or row.get("org_id")
            parts.append(f"<table><caption>Ansvarig: {e(_text(org))}</caption>")
            for k, v in row.items():
                shown = v
                if k == "content" and v:
                    shown = f"{len(v) * 3 // 4} byte (finns i JSON-filen)"
                parts.append(f"<tr><th>{e(k)}</th><td>{e(_text(shown))}</td></tr>")
            parts.append("</table>")
    parts.append(f"<h2>Åtkomstlogg: vem har läst dina uppgifter ({len(doc['access_log'])})</h2>")
    if doc["access_log"]:
        parts.append(
            "<table><tr><th>Tidpunkt (UTC)</th><th>Användare</th><th>HSA-id</th>"
            "<th>Organisation</th><th>Åtgärd</th></tr>"
        )
        for a in doc["access_log"]:
            cells = (a["at"], a["user_name"], a["user_hsa_id"], a["org_name"],
                     ACTION_SV.get(a["action"], a["action"]))  # fmt: skip
            parts.append("<tr>" + "".join(f"<td>{e(_text(c))}</td>" for c in cells) + "</tr>")
        parts.append("</table>")
    else:
        parts.append("<p>Ingen har läst dina uppgifter enligt loggen.</p>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


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


def render_pdf(doc: dict[str, Any], path: Path) -> None:
    """The same content as the HTML, as a PDF (reportlab; values flow across pages)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    regular, bold = _fonts()
    body = ParagraphStyle("body", fontName=regular, fontSize=9.5, leading=12)
    field = ParagraphStyle("field", parent=body, leftIndent=8 * mm)
    h1 = ParagraphStyle("h1", fontName=bold, fontSize=16, leading=20, spaceAfter=6)
    h2 = ParagraphStyle("h2", fontName=bold, fontSize=12, leading=15, spaceBefore=10, spaceAfter=4)
    h3 = ParagraphStyle("h3", fontName=bold, fontSize=10, leading=13, spaceBefore=6)

    def para(text: str, style: ParagraphStyle) -> Paragraph:
        safe = html.escape(_text(text)).replace("\r\n", "\n").replace("\r", "\n")
        return Paragraph(safe.replace("\n", "<br/>"), style)

    def value(k: str, v: Any) -> str:
        if k == "content" and v:
            return f"{len(v) * 3 // 4} byte (finns i JSON-filen)"
        s = _text(v)
        if len(s) > PDF_VALUE_LIMIT:
            return s[:PDF_VALUE_LIMIT] + f" … (förkortat; hela texten, {len(s)} tecken, finns i " \
                "JSON- och HTML-filen)"
        return s

    story: list[Any] = [para("Registerutdrag ur SAMSA IT-tjänst", h1)]
    story += [para(line, body) for line in _intro(doc)]
    if _protected(doc):
        story.append(para("Du har skyddade personuppgifter (sekretessmarkering, skyddad "
                          "folkbokföring). Förvara utdraget säkert.", h3))
    for p in doc["person"]:
        story.append(para("Personuppgifter", h2))
        story += [para(f"{k}: {value(k, v)}", field) for k, v in p.items()]
    orgs = doc["organisations"]
    for table, rows in doc["records"].items():
        story.append(para(f"{SECTION_SV.get(table, table)} ({len(rows)})", h2))
        if not rows:
            story.append(para("Inga uppgifter.", body))
        for row in rows:
            org = orgs.get(str(row.get("org_id")), {}).get("name") or row.get("org_id")
            story.append(para(f"Post {row.get('id')} – ansvarig: {_text(org)}", h3))
            story += [para(f"{k}: {value(k, v)}", field) for k, v in row.items()]
    story.append(para(f"Åtkomstlogg: vem har läst dina uppgifter ({len(doc['access_log'])})", h2))
    if not doc["access_log"]:
        story.append(para("Ingen har läst dina uppgifter enligt loggen.", body))
    for a in doc["access_log"]:
        line = (f"{_text(a['at'])}: {_text(a['user_name'])} ({_text(a['user_hsa_id'])}), "
                f"{_text(a['org_name'])} – {ACTION_SV.get(a['action'], _text(a['action']))}")
        story.append(para(line, field))
    story.append(Spacer(1, 6 * mm))
    pdf = SimpleDocTemplate(
        str(path), pagesize=A4, title="Registerutdrag ur SAMSA IT-tjänst", author="SAMSA IT-tjänst",
        leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm,
    )  # fmt: skip
    pdf.build(story)
