"""The timeline picture of the phase-out: a pure function from status rows to an SVG string.

Milestones are grouped by workstream, one row each, with a marker at the milestone's date.
Colour *and* shape tell the state (readable in greyscale and by colour-blind readers; the
palette is Okabe-Ito): done, due, overdue (with a bar from its date to today), blocked,
waiting for a decision, failed, planned. A dashed line marks today, a dotted one the
transition date; a milestone past its date and not done has a bar from its date to today.
1000 px wide, which fits the Prefect UI's artifact pane.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from xml.sax.saxutils import escape

from tasks.status import Display, StatusRow, workstream_label

WIDTH = 1000
LABEL_W = 330
PLOT_X0 = LABEL_W + 10
PLOT_X1 = WIDTH - 24
ROW_H = 20
GROUP_H = 24
TOP = 92

COLOURS: dict[Display, str] = {
    Display.done: "#009E73",  # bluish green
    Display.due: "#0072B2",  # blue
    Display.overdue: "#D55E00",  # vermillion
    Display.blocked: "#6B6B6B",  # dark grey
    Display.awaiting: "#E69F00",  # orange
    Display.failed: "#A50026",  # dark red
    Display.pending: "#9E9E9E",  # light grey (hollow)
}

_MONTHS = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]
_ORDER = ["archive", "extracts", "integrations", "statistics", "routines", "security"]


def _marker(display: Display, x: float, y: float) -> str:
    c = COLOURS[display]
    if display is Display.done:
        return (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{c}"/>'
                f'<path d="M{x-3:.1f},{y:.1f} l2.2,2.4 l4,-4.8" stroke="#fff" '
                'stroke-width="1.8" fill="none"/>')
    if display is Display.overdue:
        return (f'<path d="M{x:.1f},{y-7:.1f} L{x+7:.1f},{y+5:.1f} L{x-7:.1f},{y+5:.1f} Z" '
                f'fill="{c}"/>')
    if display is Display.blocked:
        return f'<rect x="{x-5.5:.1f}" y="{y-5.5:.1f}" width="11" height="11" fill="{c}"/>'
    if display is Display.awaiting:
        return (f'<path d="M{x:.1f},{y-7:.1f} L{x+7:.1f},{y:.1f} L{x:.1f},{y+7:.1f} '
                f'L{x-7:.1f},{y:.1f} Z" fill="{c}"/>')
    if display is Display.failed:
        return (f'<path d="M{x-5:.1f},{y-5:.1f} l10,10 M{x+5:.1f},{y-5:.1f} l-10,10" '
                f'stroke="{c}" stroke-width="3"/>')
    if display is Display.due:
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" fill="{c}"/>'
    return (f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="#fff" stroke="{c}" '
            'stroke-width="2"/>')


def _truncate(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def _month_starts(start: date, end: date) -> list[date]:
    d = date(start.year, start.month, 1)
    out = []
    while d <= end:
        if d >= start:
            out.append(d)
        d = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return out


def timeline_svg(
    rows: Sequence[StatusRow],
    *,
    as_of: date,
    transition: date | None = None,
    title: str | None = None,
) -> str:
    """The timeline as a standalone SVG document (UTF-8 text, no scripts, no external refs)."""
    dates = [r.due for r in rows if r.due] + [as_of] + ([transition] if transition else [])
    start = min(dates) - timedelta(days=20)
    end = max(dates) + timedelta(days=20)
    span = max((end - start).days, 1)

    def x_of(d: date) -> float:
        return PLOT_X0 + (PLOT_X1 - PLOT_X0) * (d - start).days / span

    groups: dict[str, list[StatusRow]] = {}
    for r in rows:
        groups.setdefault(r.workstream, []).append(r)
    order = sorted(groups, key=lambda w: (_ORDER.index(w) if w in _ORDER else 99, w))
    height = TOP + sum(GROUP_H + ROW_H * len(groups[w]) for w in order) + 54

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" '
        'font-size="12" role="img">',
        f"<title>{escape(title or f'Tidslinje för avvecklingen per {as_of}')}</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">'
        f"{escape(title or 'Avveckling av SAMSA – tidslinje')}</text>",
    ]
    # legend
    lx = 10.0
    for d in (Display.done, Display.due, Display.overdue, Display.blocked, Display.awaiting,
              Display.failed, Display.pending):
        out.append(_marker(d, lx + 7, 44))
        out.append(f'<text x="{lx + 18:.0f}" y="48">{escape(d.label)}</text>')
        lx += 34 + 6.4 * len(d.label)
    out.append(f'<line x1="{lx + 4:.0f}" y1="44" x2="{lx + 24:.0f}" y2="44" stroke="#C00" '
               'stroke-width="2" stroke-dasharray="5,3"/>')
    out.append(f'<text x="{lx + 30:.0f}" y="48">i dag</text>')
    lx += 72
    out.append(f'<line x1="{lx:.0f}" y1="44" x2="{lx + 20:.0f}" y2="44" stroke="#0072B2" '
               'stroke-width="2" stroke-dasharray="1,3"/>')
    out.append(f'<text x="{lx + 26:.0f}" y="48">övergång</text>')

    # month grid and labels
    months = _month_starts(start, end)
    step = 1 if len(months) <= 16 else 3 if len(months) <= 40 else 6
    body_top, body_bottom = TOP - 8, height - 44
    for m in months:
        x = x_of(m)
        out.append(f'<line x1="{x:.1f}" y1="{body_top}" x2="{x:.1f}" y2="{body_bottom}" '
                   'stroke="#E6E6E6"/>')
        if (m.month - 1) % step == 0:
            label = f"{_MONTHS[m.month - 1]} {m.year}" if m.month == 1 or step > 1 or m == \
                months[0] else _MONTHS[m.month - 1]
            out.append(f'<text x="{x + 2:.1f}" y="{TOP - 12}" fill="#555" font-size="11">'
                       f"{escape(label)}</text>")

    y = TOP
    for w in order:
        out.append(f'<rect x="0" y="{y}" width="{WIDTH}" height="{GROUP_H}" fill="#F3F5F8"/>')
        out.append(f'<text x="10" y="{y + 16}" font-weight="bold">'
                   f"{escape(workstream_label(w))}</text>")
        y += GROUP_H
        for r in groups[w]:
            cy = y + ROW_H / 2
            tip = f"{r.id}: {r.display.label}" + (f", {r.due}" if r.due else "") + (
                f" ({r.days_text})" if r.days_text else "")
            out.append(f"<g><title>{escape(tip)}</title>")
            out.append(f'<text x="18" y="{cy + 4:.1f}" fill="#222">'
                       f"{escape(_truncate(r.title, 48))}</text>")
            if r.due:
                x = x_of(r.due)
                if r.display is not Display.done and r.due < as_of:
                    # how late it is: a bar from its date to today, in its state's colour
                    out.append(f'<line x1="{x:.1f}" y1="{cy:.1f}" x2="{x_of(as_of):.1f}" '
                               f'y2="{cy:.1f}" stroke="{COLOURS[r.display]}" '
                               'stroke-width="4" stroke-opacity="0.4"/>')
                out.append(_marker(r.display, x, cy))
            else:
                out.append(f'<text x="{PLOT_X0}" y="{cy + 4:.1f}" fill="#777">datum okänt</text>')
            out.append("</g>")
            y += ROW_H

    tx = x_of(as_of)
    out.append(f'<line x1="{tx:.1f}" y1="{body_top}" x2="{tx:.1f}" y2="{body_bottom}" '
               'stroke="#C00" stroke-width="2" stroke-dasharray="5,3"/>')
    out.append(f'<text x="{tx:.1f}" y="{body_bottom + 16}" fill="#C00" text-anchor="middle" '
               f'font-weight="bold">i dag {as_of}</text>')
    if transition:
        vx = x_of(transition)
        out.append(f'<line x1="{vx:.1f}" y1="{body_top}" x2="{vx:.1f}" y2="{body_bottom}" '
                   'stroke="#0072B2" stroke-width="2" stroke-dasharray="1,3"/>')
        anchor = "end" if vx < tx else "start"
        off = -4 if vx < tx else 4
        # a second line when it would run into today's label
        ty = body_bottom + (32 if abs(vx - tx) < 150 else 16)
        out.append(f'<text x="{vx + off:.1f}" y="{ty}" fill="#0072B2" '
                   f'text-anchor="{anchor}">övergång {transition}</text>')
    out.append("</svg>")
    return "\n".join(out)
