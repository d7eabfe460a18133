"""The words of the CLI that case officers and project managers read: Swedish by default,
English by the setting ``SAMSA_DECOM_LANGUAGE=en`` (or a command's ``--lang``).

One catalogue, one function: ``say(key, lang, **values)``. A command module adds its own
words once, at import, with :func:`add` (the extract commands can do so without touching this
file)::

    from deploy.cli.words import add, language, say

    add({"bags": {"sv": "{n} uttag", "en": "{n} bags"}})
    lang = language(lang_option)          # --lang, else the setting; bad input is exit 2
    out.print(say("bags", lang, n=len(bags)))

A key missing in one language falls back to the other, so a forgotten translation shows
words, never a ``KeyError``; a key missing altogether is a programming error and fails.
"""

from __future__ import annotations

from collections.abc import Mapping

from models.errors import InputError
from models.settings import get_settings

LANGUAGES = ("sv", "en")

_WORDS: dict[str, dict[str, str]] = {
    # -- plan and gate -------------------------------------------------------------------
    "transition": {"sv": "Övergång till efterträdaren", "en": "Transition to the successor"},
    "confirmed": {"sv": "bekräftad", "en": "confirmed"},
    "projected": {"sv": "prognos, ej bekräftad", "en": "projection, not confirmed"},
    "as_of": {"sv": "per", "en": "as of"},
    "id": {"sv": "id", "en": "id"},
    "title": {"sv": "milstolpe", "en": "milestone"},
    "ws": {"sv": "arbetsområde", "en": "workstream"},
    "due": {"sv": "klart senast", "en": "due"},
    "spec": {"sv": "beräknas från", "en": "computed from"},
    "state": {"sv": "läge", "en": "state"},
    "gate": {"sv": "förutsättning", "en": "gate"},
    "open": {"sv": "uppfylld", "en": "open"},
    "closed": {"sv": "inte uppfylld", "en": "closed"},
    "irreversible": {"sv": "oåterkallelig", "en": "irreversible"},
    "irreversible_note": {
        "sv": "Oåterkallelig: kräver dessutom ett registrerat godkännande.",
        "en": "Irreversible: also needs a recorded approval.",
    },
    "overdue": {"sv": "försenad", "en": "overdue"},
    "projection": {"sv": "prognos", "en": "projection"},
    "next": {"sv": "nästa", "en": "next"},
    "budget": {
        "sv": "Budget: uppskattade kostnader mot ramen",
        "en": "Budget: cost estimates against the frame",
    },
    "year": {"sv": "år", "en": "year"},
    "cost": {"sv": "≈ kr", "en": "≈ SEK"},
    "assumptions": {
        "sv": "Antaganden (datum och tidsavstånd som strategin inte anger)",
        "en": "Assumptions (dates and offsets the strategy does not give)",
    },
    "parallel_run": {
        "sv": "Förlängd parallelldrift: varje månad som övergången skjuts upp kostar "
        "≈ {sek} kr (uppskattning)",
        "en": "Prolonged parallel running: each month the transition slips costs "
        "≈ {sek} SEK (estimate)",
    },
    "slip_so_far": {
        "sv": "övergången ligger {months} månader efter utrullningens plan ({planned}): ≈ {sek} kr",
        "en": "the transition lies {months} months beyond the rollout's plan ({planned}): "
        "≈ {sek} SEK",
    },
    "estimate": {"sv": "uppskattning (kr)", "en": "estimate (SEK)"},
    "frame": {"sv": "ram (kr)", "en": "frame (SEK)"},
    "verdict": {"sv": "bedömning", "en": "verdict"},
    "within": {"sv": "inom ramen", "en": "within"},
    "over": {"sv": "över ramen", "en": "over"},
    "under": {"sv": "under ramen", "en": "under"},
    "no-frame": {"sv": "ingen ram", "en": "no frame"},
    "warnings": {"sv": "Att se över", "en": "To look at"},
    "no_gate": {"sv": "ingen förutsättning", "en": "no gate"},
    "stage": {"sv": "etapp", "en": "stage"},
    "from": {"sv": "från", "en": "from"},
    "areas": {"sv": "områden", "en": "areas"},
    "status": {"sv": "status", "en": "status"},
    "planned": {"sv": "planerad", "en": "planned"},
    "actual": {"sv": "i drift", "en": "went live"},
    "counts_as": {"sv": "räknas som", "en": "counts as"},
    "updated": {"sv": "uppdaterad", "en": "updated"},
    "stale": {"sv": "mer än 14 dagar gammal", "en": "older than 14 days"},
    "ledger_missing": {
        "sv": "beslutsloggen finns inte än; alla lägen visas som planerade",
        "en": "no ledger yet; every state shows as pending",
    },
    # -- codes shown in tables (the --json output keeps the codes) -------------------------
    "stage_planned": {"sv": "planerad", "en": "planned"},
    "stage_live": {"sv": "i drift", "en": "live"},
    "stage_paused": {"sv": "pausad", "en": "paused"},
    "stage_cancelled": {"sv": "avbruten", "en": "cancelled"},
    "basis_actual": {"sv": "i drift", "en": "actual"},
    "basis_planned": {"sv": "planerad", "en": "planned"},
    "basis_late": {"sv": "försenad", "en": "late"},
    "basis_restart-notice": {"sv": "omstartsvarsel", "en": "restart notice"},
    "basis_unknown": {"sv": "okänd", "en": "unknown"},
    # -- status and approve ---------------------------------------------------------------
    "status_empty": {
        "sv": "Beslutsloggen har inga milstolpar än: den dagliga avstämningen "
        "(reconcile-phaseout) har inte körts mot den.",
        "en": "The ledger has no milestones yet: the daily reconciliation "
        "(reconcile-phaseout) has not run against it.",
    },
    "owner": {"sv": "ansvarig", "en": "owner"},
    "days": {"sv": "dagar", "en": "days"},
    "last": {"sv": "senast", "en": "last"},
    "today": {"sv": "i dag", "en": "today"},
    "in_days": {"sv": "om {n} d", "en": "in {n} d"},
    "days_late": {"sv": "{n} d försenad", "en": "{n} d overdue"},
    "done_on": {"sv": "klar {d}", "en": "done {d}"},
    "projection_mark": {"sv": "{d} (prognos)", "en": "{d} (projection)"},
    "n_milestones": {"sv": "{n} milstolpar per {d}", "en": "{n} milestones as of {d}"},
    "refused": {"sv": "avslagen", "en": "refused"},
    "confirmed_by": {"sv": "bekräftad", "en": "confirmed"},
    "approved": {"sv": "godkänd", "en": "approved"},
    "decided_state": {
        "sv": "{m}: {word} av {name} → {state}",
        "en": "{m}: {word} by {name} → {state}",
    },
    "decided_gate_closed": {
        "sv": "{m}: {word} av {name}, men förutsättningen är inte uppfylld ({why}): "
        "milstolpen fortsätter att vänta",
        "en": "{m}: {word} by {name}, but its gate is closed ({why}): it stays waiting",
    },
    "decided_next_run": {
        "sv": "{m}: {word} av {name}; den dagliga avstämningen agerar vid nästa körning "
        "(efter att förutsättningen prövats igen)",
        "en": "{m}: {word} by {name}; the reconciler acts on its next run "
        "(after checking the gate again)",
    },
}


def add(words: Mapping[str, Mapping[str, str]]) -> None:
    """Add a command module's words (``{key: {"sv": …, "en": …}}``); a key already taken
    with other words is refused, so two modules cannot silently change each other's text."""
    for key, texts in words.items():
        if key in _WORDS and dict(texts) != _WORDS[key]:
            raise ValueError(f"word '{key}' is already in the catalogue with other words")
        _WORDS[key] = dict(texts)


def language(value: str | None = None) -> str:
    """``--lang`` when given, else the setting ``SAMSA_DECOM_LANGUAGE`` (``sv`` or ``en``);
    anything else is bad input (exit 2)."""
    lang = value or get_settings().language
    if lang not in LANGUAGES:
        raise InputError(f"--lang: '{value}' is not supported; use sv or en")
    return lang


def say(key: str, lang: str, **values: object) -> str:
    """The words for ``key`` in ``lang`` (falling back to the other language), with
    ``values`` filled in."""
    texts = _WORDS[key]
    text = texts.get(lang) or texts.get("sv") or texts["en"]
    return text.format(**values) if values else text


def has(key: str) -> bool:
    return key in _WORDS


__all__ = ["LANGUAGES", "add", "has", "language", "say"]
