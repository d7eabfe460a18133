"""The words of every notice, in Swedish (default) and English.

Pure functions: each returns ``(subject, body)``. Dates are written the Swedish way in words
("15 mars 2027"; "15 March 2027" in English) and days left are counted in Swedish working
days (weekends, public holidays and the de facto holidays midsommarafton, julafton and
nyårsafton excluded, from the ``holidays`` package) beside calendar days.

No personal data goes in: titles, owners and gate reasons come from the plan and the
rollout; ``scrub_identities`` masks anything that looks like a personnummer as a last guard.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

from models.identity import scrub_identities

Lang = Literal["sv", "en"]

_MONTHS = {
    "sv": "januari februari mars april maj juni juli augusti september oktober november december",
    "en": "January February March April May June July August September October November December",
}

def format_date(d: date, lang: Lang = "sv") -> str:
    """``15 mars 2027`` (sv) or ``15 March 2027`` (en)."""
    return f"{d.day} {_MONTHS[lang].split()[d.month - 1]} {d.year}"


@lru_cache(maxsize=64)
def _holidays(year: int) -> frozenset[date]:
    import holidays

    days = holidays.country_holidays(
        "SE", years=year, categories=("public", "de_facto"), include_sundays=False
    )
    return frozenset(days.keys())


def is_working_day(d: date) -> bool:
    """A Swedish working day: Monday-Friday and not a (de facto) public holiday."""
    return d.weekday() < 5 and d not in _holidays(d.year)


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when end < start)."""
    if end == start:
        return 0
    sign = 1 if end > start else -1
    lo, hi = (start, end) if sign > 0 else (end, start)
    n = 0
    d = lo + timedelta(days=1)
    while d <= hi:
        n += is_working_day(d)
        d += timedelta(days=1)
    return sign * n


def _days(n: int, lang: Lang, working: bool) -> str:
    if lang == "sv":
        word = (
            ("arbetsdag" if n == 1 else "arbetsdagar")
            if working
            else ("dag" if n == 1 else "dagar")
        )
    else:
        word = (
            ("working day" if n == 1 else "working days")
            if working
            else ("day" if n == 1 else "days")
        )
    return f"{n} {word}"


@dataclass(frozen=True)
class MilestoneWords:
    """What a milestone notice says about the milestone (no personal data)."""

    id: str
    title: str
    owner: str
    due: date | None
    gate: str | None = None
    gate_open: bool = True
    gate_reasons: tuple[str, ...] = ()
    #: the date hangs on a projection of the transition (a paused rollout): it may move
    projected: bool = False


_L = {
    "sv": {
        "milestone": "Milstolpe",
        "due": "Klart senast",
        "left": "Kvar",
        "over": "Försenad",
        "owner": "Ansvarig",
        "gate": "Förutsättning",
        "open": "uppfylld",
        "closed": "inte uppfylld",
        "link": "Länk",
        "today": "i dag",
        "calendar": "kalenderdagar",
        "s_due": "Milstolpe om {days}: {title} ({date})",
        "s_today": "Milstolpe i dag: {title} ({date})",
        "s_over": "Försenad milstolpe ({days}): {title}",
        "s_esc": "Eskalering, försenad milstolpe ({days}): {title}",
        "s_slip": "Datum flyttat: {title} {old} → {new}",
        "s_slips": "Datum flyttade för {n} milstolpar",
        "moved": "Nya datum (tidigare → nytt)",
        "s_gate_open": "Förutsättning uppfylld: {gate}",
        "s_gate_closed": "Förutsättning inte längre uppfylld: {gate}",
        "s_approval": "Väntar på godkännande: {title}",
        "s_confirmation": "Väntar på bekräftelse: {title}",
        "s_deadline": "Tidsfristen går ut om {days}: {title} ({date})",
        "s_deadline_today": "Tidsfristen går ut i dag: {title} ({date})",
        "s_deadline_over": "Tidsfristen har gått ut ({days}): {title}",
        "s_digest": "Sammanfattning: {n} aviseringar",
        "old": "Tidigare datum",
        "new": "Nytt datum",
        "shift": "Förskjutning",
        "why": "Orsak",
        "affects": "Berör milstolpar",
        "waiting_since": "Väntar sedan",
        "act_approval": (
            "Ett oåterkalleligt steg väntar på ditt godkännande i Prefect (Resume-formuläret)."
        ),
        "act_confirmation": (
            "Ett manuellt steg väntar på din bekräftelse i Prefect (Resume-formuläret)."
        ),
        "gate_opened": (
            "Förutsättningen är nu uppfylld: milstolparna som beror på den får genomföras."
        ),
        "gate_closed": (
            "Förutsättningen är inte längre uppfylld: milstolparna som beror på den väntar."
        ),
        "deadline": "Tidsfrist",
        "projection": "prognos",
    },
    "en": {
        "milestone": "Milestone",
        "due": "Due date",
        "left": "Left",
        "over": "Overdue",
        "owner": "Owner",
        "gate": "Gate",
        "open": "open",
        "closed": "closed",
        "link": "Link",
        "today": "today",
        "calendar": "calendar days",
        "s_due": "Milestone in {days}: {title} ({date})",
        "s_today": "Milestone due today: {title} ({date})",
        "s_over": "Overdue milestone ({days}): {title}",
        "s_esc": "Escalation, overdue milestone ({days}): {title}",
        "s_slip": "Date moved: {title} {old} → {new}",
        "s_slips": "Dates moved for {n} milestones",
        "moved": "New dates (previous → new)",
        "s_gate_open": "Gate opened: {gate}",
        "s_gate_closed": "Gate closed: {gate}",
        "s_approval": "Waiting for your approval: {title}",
        "s_confirmation": "Waiting for your confirmation: {title}",
        "s_deadline": "Deadline in {days}: {title} ({date})",
        "s_deadline_today": "Deadline today: {title} ({date})",
        "s_deadline_over": "Deadline passed ({days}): {title}",
        "s_digest": "Digest: {n} notices",
        "old": "Previous date",
        "new": "New date",
        "shift": "Shift",
        "why": "Reason",
        "affects": "Affects milestones",
        "waiting_since": "Waiting since",
        "act_approval": (
            "An irreversible step waits for your approval in Prefect (the Resume form)."
        ),
        "act_confirmation": (
            "A manual step waits for your confirmation in Prefect (the Resume form)."
        ),
        "gate_opened": "The gate is now open: the milestones behind it may go ahead.",
        "gate_closed": "The gate is now closed: the milestones behind it wait.",
        "deadline": "Deadline",
        "projection": "projection",
    },
}


def _milestone_lines(m: MilestoneWords, lang: Lang) -> list[str]:
    t = _L[lang]
    lines = [f"{t['milestone']}: {m.title} ({m.id})"]
    if m.due is not None:
        lines.append(f"{t['due']}: {_date_of(m, lang)}")
    if m.owner:
        lines.append(f"{t['owner']}: {m.owner}")
    if m.gate:
        state = t["open"] if m.gate_open else t["closed"]
        lines.append(f"{t['gate']}: {m.gate} ({state})")
        lines.extend(f"  - {r}" for r in m.gate_reasons)
    return lines


def _date_of(m: MilestoneWords, lang: Lang) -> str:
    """The milestone's date, marked as a projection when it is one."""
    assert m.due is not None
    date_text = format_date(m.due, lang)
    return f"{date_text} ({_L[lang]['projection']})" if m.projected else date_text


def _finish(subject: str, lines: Iterable[str], link: str, lang: Lang) -> tuple[str, str]:
    body = "\n".join([*lines, f"{_L[lang]['link']}: {link}"])
    return scrub_identities(subject), scrub_identities(body)


def _left_line(due: date, as_of: date, lang: Lang) -> str:
    t = _L[lang]
    cal = (due - as_of).days
    work = working_days_between(as_of, due)
    if cal >= 0:
        return f"{t['left']}: {_days(work, lang, True)} ({cal} {t['calendar']})"
    return f"{t['over']}: {_days(-work, lang, True)} ({-cal} {t['calendar']})"


def due_text(m: MilestoneWords, as_of: date, link: str, lang: Lang = "sv") -> tuple[str, str]:
    """A reminder before (or on) the due date."""
    assert m.due is not None
    t = _L[lang]
    cal = (m.due - as_of).days
    fmt = {"title": m.title, "date": _date_of(m, lang), "days": _days(cal, lang, False)}
    subject = (t["s_today"] if cal == 0 else t["s_due"]).format(**fmt)
    return _finish(
        subject, [*_milestone_lines(m, lang), _left_line(m.due, as_of, lang)], link, lang
    )


def overdue_text(
    m: MilestoneWords, as_of: date, link: str, lang: Lang = "sv", *, escalated: bool = False
) -> tuple[str, str]:
    """A reminder that a milestone is late (``escalated``: the wording for the second tag)."""
    assert m.due is not None
    t = _L[lang]
    over = (as_of - m.due).days
    subject = (t["s_esc"] if escalated else t["s_over"]).format(
        title=m.title, days=_days(over, lang, False)
    )
    return _finish(
        subject, [*_milestone_lines(m, lang), _left_line(m.due, as_of, lang)], link, lang
    )


def slip_text(
    m: MilestoneWords,
    old: date,
    new: date,
    link: str,
    lang: Lang = "sv",
    reasons: Sequence[str] = (),
) -> tuple[str, str]:
    """A moved due date: old and new side by side, with why dates move (if known)."""
    t = _L[lang]
    subject = t["s_slip"].format(
        title=m.title, old=format_date(old, lang), new=format_date(new, lang)
    )
    lines = [
        f"{t['milestone']}: {m.title} ({m.id})",
        f"{t['old']}: {format_date(old, lang)}",
        f"{t['new']}: {format_date(new, lang)}",
        f"{t['shift']}: {_shift(old, new)} {t['calendar']}",
    ]
    if m.owner:
        lines.append(f"{t['owner']}: {m.owner}")
    why = [*reasons, *(m.gate_reasons if m.gate and not m.gate_open else ())]
    if why:
        lines.append(f"{t['why']}:")
        lines.extend(f"  - {r}" for r in dict.fromkeys(why))
    return _finish(subject, lines, link, lang)


def _shift(old: date, new: date) -> str:
    days = (new - old).days
    return f"+{days}" if days > 0 else str(days)


def slips_text(
    moved: Sequence[tuple[MilestoneWords, date, date]],
    reasons: Sequence[str],
    link: str,
    lang: Lang = "sv",
) -> tuple[str, str]:
    """Several milestones moved in one go (a rollout slip): one line each, old → new."""
    t = _L[lang]
    subject = t["s_slips"].format(n=len(moved))
    lines = [f"{t['moved']}:"]
    for m, old, new in moved:
        lines.append(
            f"  - {m.title} ({m.id}): {format_date(old, lang)} → {format_date(new, lang)} "
            f"({_shift(old, new)} {t['calendar']})"
        )
    if reasons:
        lines.append(f"{t['why']}:")
        lines.extend(f"  - {r}" for r in reasons)
    return _finish(subject, lines, link, lang)


def gate_text(
    gate: str,
    opened: bool,
    reasons: Sequence[str],
    milestones: Sequence[MilestoneWords],
    link: str,
    lang: Lang = "sv",
) -> tuple[str, str]:
    """A gate opened or closed; lists the milestones behind it and the reasons."""
    t = _L[lang]
    subject = (t["s_gate_open"] if opened else t["s_gate_closed"]).format(gate=gate)
    lines = [t["gate_opened"] if opened else t["gate_closed"]]
    if reasons:
        lines.append(f"{t['why']}:")
        lines.extend(f"  - {r}" for r in reasons)
    lines.append(f"{t['affects']}:")
    for m in milestones:
        due = f", {format_date(m.due, lang)}" if m.due else ""
        lines.append(f"  - {m.title} ({m.id}{due})")
    return _finish(subject, lines, link, lang)


def waiting_text(
    m: MilestoneWords,
    kind: Literal["approval", "confirmation"],
    since: date,
    link: str,
    lang: Lang = "sv",
) -> tuple[str, str]:
    """A person's decision is awaited (approval of an irreversible step, or a confirmation)."""
    t = _L[lang]
    subject = t[f"s_{kind}"].format(title=m.title)
    lines = [
        t[f"act_{kind}"],
        *_milestone_lines(m, lang),
        f"{t['waiting_since']}: {format_date(since, lang)}",
    ]
    return _finish(subject, lines, link, lang)


def deadline_text(
    title: str, due: date, as_of: date, link: str, lang: Lang = "sv"
) -> tuple[str, str]:
    """A deadline of a delivery receipt or an extract request nears or has passed."""
    t = _L[lang]
    cal = (due - as_of).days
    fmt = {"title": title, "date": format_date(due, lang), "days": _days(abs(cal), lang, False)}
    key = "s_deadline_today" if cal == 0 else ("s_deadline" if cal > 0 else "s_deadline_over")
    lines = [
        f"{t['deadline']}: {title}",
        f"{t['due']}: {format_date(due, lang)}",
        _left_line(due, as_of, lang),
    ]
    return _finish(t[key].format(**fmt), lines, link, lang)


def digest_text(items: Sequence[tuple[str, str]], lang: Lang = "sv") -> tuple[str, str]:
    """One message carrying several notices (subject and body each)."""
    subject = _L[lang]["s_digest"].format(n=len(items))
    parts = []
    for i, (s, b) in enumerate(items, 1):
        parts.append(f"{i}. {s}\n{b}")
    return subject, "\n\n".join(parts)
