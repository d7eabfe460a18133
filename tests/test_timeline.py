"""The timeline picture and the status table (pure functions)."""

from __future__ import annotations

import base64
import re
from datetime import date

from lxml import etree

from models.milestone import MilestoneState as S
from tasks.status import (
    Display,
    StatusRow,
    display_of,
    status_markdown,
    svg_data_uri,
)
from tasks.timeline import COLOURS, timeline_svg

AS_OF = date(2026, 3, 1)
NS = {"s": "http://www.w3.org/2000/svg"}


def row(mid: str, due: date | None, state: S, ws: str = "archive", title: str | None = None,
        gate_open: bool = True) -> StatusRow:
    return StatusRow(
        id=mid, title=title or f"Milstolpe {mid}", owner="Projektledare", workstream=ws,
        due=due, state=state, display=display_of(state, due, AS_OF), gate="g" if not gate_open
        else None, gate_open=gate_open, gate_reasons=() if gate_open else ("Västra: pausad",),
        detail="", irreversible=False, days_left=(due - AS_OF).days if due else None,
    )


ROWS = [
    row("klar", date(2026, 1, 10), S.done),
    row("aktuell", date(2026, 3, 5), S.pending),
    row("sen", date(2026, 2, 1), S.running, ws="integrations"),
    row("spärrad", date(2026, 2, 20), S.blocked, ws="security", gate_open=False),
    row("beslut", date(2026, 2, 25), S.awaiting_approval, ws="routines"),
    row("fel", date(2026, 2, 26), S.failed, ws="routines"),
    row("senare", date(2026, 9, 30), S.pending, ws="statistics"),
    row("okänd", None, S.pending, ws="statistics", title="Datum <okänt> & oklart"),
]


def parse(svg: str) -> etree._Element:
    return etree.fromstring(svg.encode("utf-8"))


def test_display_categories_follow_state_then_calendar() -> None:
    assert display_of(S.done, date(2026, 1, 1), AS_OF) is Display.done
    assert display_of(S.blocked, date(2026, 1, 1), AS_OF) is Display.blocked
    assert display_of(S.awaiting_approval, date(2026, 1, 1), AS_OF) is Display.awaiting
    assert display_of(S.running, date(2026, 2, 28), AS_OF) is Display.overdue
    assert display_of(S.pending, date(2026, 3, 15), AS_OF) is Display.due
    assert display_of(S.pending, date(2026, 3, 16), AS_OF) is Display.pending
    assert display_of(S.running, date(2026, 9, 1), AS_OF) is Display.due


def test_svg_is_valid_and_shows_every_milestone_today_and_the_legend() -> None:
    svg = timeline_svg(ROWS, as_of=AS_OF, transition=date(2026, 6, 29))
    root = parse(svg)
    assert root.get("width") == "1000"
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for r in ROWS:
        assert r.title in texts  # the XML escaping round-trips, e.g. '<okänt> & oklart'
    assert "i dag 2026-03-01" in texts and "övergång 2026-06-29" in texts
    for label in ("klar", "aktuell", "försenad", "blockerad", "väntar på beslut",
                  "misslyckad", "planerad"):
        assert label in texts
    for ws in ("Arkivering", "Integrationer", "Säkerhet", "Rutiner", "Statistik"):
        assert ws in texts
    assert "datum okänt" in texts
    assert "<script" not in svg and "href" not in svg


def test_each_state_has_its_own_colour_in_the_picture() -> None:
    assert len(set(COLOURS.values())) == len(COLOURS)
    svg = timeline_svg(ROWS[:7], as_of=AS_OF)
    body = svg.split("</text>", 20)[-1]  # past the legend
    for d in (Display.done, Display.due, Display.overdue, Display.blocked, Display.awaiting,
              Display.failed, Display.pending):
        assert COLOURS[d] in body, d


def _marker_x(svg: str, mid: str) -> float:
    group = re.search(rf"<g><title>{re.escape(mid)}:.*?</g>", svg, re.S)
    assert group, mid
    m = re.search(r'(?:cx="|x="|x1="|d="M)([\d.]+)', group.group(0).split("</text>", 1)[1])
    assert m
    return float(m.group(1))


def test_markers_sit_in_date_order_and_today_line_between() -> None:
    svg = timeline_svg(ROWS, as_of=AS_OF)
    xs = [_marker_x(svg, mid) for mid in ("klar", "sen", "spärrad", "senare")]
    assert xs == sorted(xs)
    (today,) = re.findall(r'<line x1="([\d.]+)" y1="84" x2="[\d.]+" y2="\d+" '
                          r'stroke="#C00"', svg)
    today = float(today)
    assert xs[2] < today < xs[3]


def test_overdue_and_late_waiting_rows_get_a_bar_to_today() -> None:
    svg = timeline_svg(ROWS, as_of=AS_OF)
    late = re.search(r"<g><title>beslut:.*?</g>", svg, re.S).group(0)
    assert 'stroke-opacity="0.4"' in late
    done = re.search(r"<g><title>klar:.*?</g>", svg, re.S).group(0)
    assert 'stroke-opacity' not in done


def test_markdown_artifact_embeds_the_picture_and_the_table() -> None:
    svg = timeline_svg(ROWS, as_of=AS_OF)
    md = status_markdown(ROWS, as_of=AS_OF, transition=date(2026, 6, 29),
                         transition_confirmed=False, svg=svg, notes=["Etapp 4 pausad"])
    uri = re.search(r"!\[[^\]]*\]\((data:image/svg\+xml;base64,[A-Za-z0-9+/=]+)\)", md)
    assert uri and base64.b64decode(uri.group(1).split(",", 1)[1]).decode() == svg
    assert uri.group(1) == svg_data_uri(svg)
    assert "2026-06-29 (prognos)" in md and "- Etapp 4 pausad" in md
    assert "| `spärrad` |" in md and "g: inte uppfylld (Västra: pausad)" in md
    assert "| `sen` |" in md and "28 d försenad" in md
    assert "Datum <okänt> & oklart" in md  # markdown table cell; pipes would be escaped
