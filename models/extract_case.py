"""A person's request as a case (ärende): its kinds, states, legal transitions and deadlines.

Plain rules, no I/O (the ledger operations are in ``tasks/extracts/case.py``):

- **Kinds.** ``gdpr-art15`` (registerutdrag: one month, art. 12.3, extendable by two more
  months when the person is told within the first month); ``tf-allman-handling`` (a request
  for public documents under TF 2 kap., handled "skyndsamt"); ``tf-avliden`` (about a deceased
  person: GDPR does not apply, handled as a TF request).
- **States.** registrerad → under prövning → (förlängd) → lämnad / delvis avslag / avslag.
- **A refusal is a decision** with an överklagandehänvisning (:func:`decision_text`).
- **Labels.** Kinds, states and assumptions in Swedish (``KIND_SV``, ``STATE_SV``,
  ``ASSUMPTIONS``: the documents and the beslutslogg use them) and in English for the CLI's
  ``SAMSA_DECOM_LANGUAGE=en`` (:func:`kind_label`, :func:`state_label`, :func:`assumptions`).

Points marked "(bekräfta)" are assumptions for the region's lawyers; :data:`ASSUMPTIONS` lists
them, and ``samsa-decom extract case`` and the docs show them.
"""

from __future__ import annotations

import calendar
import enum
from datetime import date, timedelta

from models.errors import InputError
from models.ledger.extracts import RequestState


class RequestKind(enum.StrEnum):
    """What the person asked for, which decides the law and the deadline."""

    gdpr_art15 = "gdpr-art15"
    tf_allman_handling = "tf-allman-handling"
    tf_avliden = "tf-avliden"


KIND_SV: dict[RequestKind, str] = {
    RequestKind.gdpr_art15: "registerutdrag (GDPR art. 15)",
    RequestKind.tf_allman_handling: "allmän handling (TF 2 kap.)",
    RequestKind.tf_avliden: "avliden person: allmän handling (TF 2 kap.; GDPR gäller inte)",
}

STATE_SV: dict[RequestState, str] = {
    RequestState.registered: "registrerad",
    RequestState.under_review: "under prövning",
    RequestState.extended: "förlängd",
    RequestState.answered: "lämnad",
    RequestState.partly_refused: "delvis avslag",
    RequestState.refused: "avslag",
}

KIND_EN: dict[RequestKind, str] = {
    RequestKind.gdpr_art15: "person's extract (GDPR art. 15)",
    RequestKind.tf_allman_handling: "public document (TF ch. 2)",
    RequestKind.tf_avliden: "deceased person: public document (TF ch. 2; GDPR does not apply)",
}

STATE_EN: dict[RequestState, str] = {
    RequestState.registered: "registered",
    RequestState.under_review: "under review",
    RequestState.extended: "extended",
    RequestState.answered: "answered",
    RequestState.partly_refused: "partly refused",
    RequestState.refused: "refused",
}


def kind_label(kind: RequestKind | str, lang: str = "sv") -> str:
    """A kind as the case officer reads it: Swedish (:data:`KIND_SV`), or English for ``en``."""
    return (KIND_EN if lang == "en" else KIND_SV)[RequestKind(kind)]


def state_label(state: RequestState | str, lang: str = "sv") -> str:
    """A state as the case officer reads it: Swedish (:data:`STATE_SV`), or English for ``en``."""
    return (STATE_EN if lang == "en" else STATE_SV)[RequestState(state)]


#: The legal moves of a case; anything else is refused (:func:`check_transition`).
TRANSITIONS: dict[RequestState, frozenset[RequestState]] = {
    RequestState.registered: frozenset({RequestState.under_review}),
    RequestState.under_review: frozenset(
        {
            RequestState.extended,
            RequestState.answered,
            RequestState.partly_refused,
            RequestState.refused,
        }
    ),  # fmt: skip
    RequestState.extended: frozenset(
        {RequestState.answered, RequestState.partly_refused, RequestState.refused}
    ),
    RequestState.answered: frozenset(),
    RequestState.partly_refused: frozenset(),
    RequestState.refused: frozenset(),
}
FINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
#: States in which the case officer reviews (withholds, asks for approval, decides).
IN_REVIEW = frozenset({RequestState.under_review, RequestState.extended})

#: "Skyndsamt" (TF 2 kap.) is not a number of days in the law; the case is due this many
#: calendar days after it was received (an assumption: "normally within days").
TF_DAYS = 3
#: Art. 12.3: up to two further months.
EXTENSION_MONTHS = 2

APPEAL = (
    "Hur man överklagar: Beslutet kan överklagas till förvaltningsrätten. Överklagandet ska "
    "vara skriftligt och skickas eller lämnas till den myndighet som fattade beslutet, som "
    "vidarebefordrar det till domstolen. Det ska ha kommit in inom tre veckor från den dag du "
    "fick del av beslutet. Skriv vilket beslut du överklagar, hur du vill att det ändras och "
    "varför."
)

#: What a lawyer or Regionarkivet must still confirm about the case handling.
ASSUMPTIONS: tuple[str, ...] = (
    f"TF 2 kap. 'skyndsamt': tidsfristen sätts till {TF_DAYS} kalenderdagar (bekräfta)",
    "Överklagandehänvisningen: förvaltningsrätten, via myndigheten, inom tre veckor (bekräfta)",
    "Personalens HSA-id lämnas inte ut i medborgarens version om inte handläggaren beslutar "
    "det (bekräfta)",
)


ASSUMPTIONS_EN: tuple[str, ...] = (
    f"TF ch. 2 'skyndsamt' (promptly): the deadline is set to {TF_DAYS} calendar days (confirm)",
    "The notice of appeal: the administrative court, via the authority, within three weeks "
    "(confirm)",
    "Staff HSA ids are not released in the citizen's version unless the case officer decides "
    "so (confirm)",
)


def assumptions(lang: str = "sv") -> tuple[str, ...]:
    """:data:`ASSUMPTIONS` in Swedish, or their English counterpart for ``en``."""
    return ASSUMPTIONS_EN if lang == "en" else ASSUMPTIONS


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it has no such day)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def parse_kind(text: str) -> RequestKind:
    """The kind named by ``text``; InputError listing the kinds otherwise."""
    try:
        return RequestKind(text)
    except ValueError:
        kinds = ", ".join(k.value for k in RequestKind)
        raise InputError(f"okänd typ av begäran {text!r}: välj en av {kinds}") from None


def deadline_for(kind: RequestKind, received_on: date, *, extended: bool = False) -> date:
    """The day the case must be decided by ("Klart senast")."""
    if kind is RequestKind.gdpr_art15:
        return add_months(received_on, 1 + (EXTENSION_MONTHS if extended else 0))
    return received_on + timedelta(days=TF_DAYS)


def extension_notice_due(received_on: date) -> date:
    """The last day the person may be told of an extension: within the first month."""
    return add_months(received_on, 1)


def check_extension(kind: RequestKind, received_on: date, notice_on: date, today: date) -> None:
    """InputError when an extension with a notice sent on ``notice_on`` is not allowed."""
    if kind is not RequestKind.gdpr_art15:
        raise InputError(
            f"en begäran av typen {kind.value} kan inte förlängas: den ska handläggas "
            "skyndsamt (TF 2 kap.); förlängning enligt art. 12.3 gäller bara registerutdrag"
        )
    if notice_on < received_on:
        raise InputError(
            f"beskedet om förlängning ({notice_on}) är daterat före begäran kom in ({received_on})"
        )
    if notice_on > today:
        raise InputError(f"beskedet om förlängning ({notice_on}) är daterat i framtiden")
    due = extension_notice_due(received_on)
    if notice_on > due:
        raise InputError(
            f"för sent att förlänga: beskedet till den enskilde ({notice_on}) skulle ha "
            f"lämnats inom den första månaden, senast {due} (art. 12.3)"
        )


def check_transition(current: RequestState, new: RequestState) -> None:
    """InputError naming both states when ``current`` → ``new`` is not a legal move."""
    if new not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(STATE_SV[s] for s in TRANSITIONS[current])) or "inget"
        raise InputError(
            f"ärendet är {STATE_SV[current]} och kan inte bli {STATE_SV[new]} "
            f"(tillåtet härifrån: {allowed})"
        )


def decision_text(*, refused_what: str, reasons: str, decided_by: str, decided_on: date) -> str:
    """A written decision (beslut) on a refusal, ending with the överklagandehänvisning."""
    return "\n\n".join(
        [
            f"Beslut {decided_on.isoformat()}",
            f"Myndigheten avslår begäran i denna del: {refused_what}.",
            f"Skäl: {reasons}",
            f"Beslutet har fattats av {decided_by}.",
            APPEAL,
        ]
    )
