"""Prefect automations the project sets up with its deployments.

:func:`ensure_pause_automation`: when any flow run is paused or suspended (it waits for a
person: an approval form, a manual confirmation), Prefect's own automation service sends a
notification through a notification block. The block is a built-in
``CustomWebhookNotificationBlock`` named ``samsa-decom-waiting-for-a-person`` that posts JSON
(``text``, ``subject``, ``body``) to ``SAMSA_DECOM_NOTIFY_PAUSE_WEBHOOK_URL``: the ``text``
field is what Slack and Teams incoming webhooks show; a generic receiver reads the others.
A block already configured in the UI (e.g. a Slack or Teams block) can be passed instead.

Both are idempotent: running it again updates the block and the automation in place.

This complements the daily ``notify-milestones`` flow (which also reports waiting decisions,
through the ledger's outbox): the automation answers within seconds of the pause, the flow
keeps reminding every morning until someone decides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from models.errors import InputError

if TYPE_CHECKING:
    from prefect.automations import Automation

AUTOMATION_NAME = "samsa-decom: körning väntar på en person"
BLOCK_NAME = "samsa-decom-waiting-for-a-person"
#: Prefect emits ``prefect.flow-run.<state name>`` on every state change.
PAUSE_EVENTS = frozenset({"prefect.flow-run.Paused", "prefect.flow-run.Suspended"})

_SUBJECT = {
    "sv": "Väntar på ett beslut: {{ flow.name }} ({{ flow_run.name }})",
    "en": "Waiting for a decision: {{ flow.name }} ({{ flow_run.name }})",
}
_BODY = {
    "sv": (
        "Körningen {{ flow_run.name }} av {{ flow.name }} är pausad och väntar på en person "
        "(godkännande eller bekräftelse). Öppna den och fyll i formuläret under Resume: "
        "{ui}/runs/flow-run/{{ flow_run.id }}"
    ),
    "en": (
        "Flow run {{ flow_run.name }} of {{ flow.name }} is paused and waits for a person "
        "(an approval or a confirmation). Open it and fill in the Resume form: "
        "{ui}/runs/flow-run/{{ flow_run.id }}"
    ),
}


def ensure_pause_block(webhook_url: str) -> UUID:
    """Create or update the webhook notification block; returns its document id."""
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    if not webhook_url.startswith(("http://", "https://")):
        raise InputError(
            f"notify_pause_webhook_url must be an http(s) URL, got {webhook_url.split(':')[0]}:…"
        )
    block = CustomWebhookNotificationBlock(  # type: ignore[call-arg]
        name=BLOCK_NAME,
        url=webhook_url,
        json_data={"text": "{{subject}}\n{{body}}", "subject": "{{subject}}", "body": "{{body}}"},
    )
    saved: UUID = block.save(BLOCK_NAME, overwrite=True)  # type: ignore[assignment]
    return saved


def pause_automation_spec(block_document_id: UUID, ui_url: str, lang: str = "sv") -> Automation:
    """The automation (not yet saved): any flow run entering Paused or Suspended → notify."""
    from prefect.automations import Automation, EventTrigger, Posture, SendNotification

    ui = ui_url.rstrip("/")
    return Automation(
        name=AUTOMATION_NAME,
        description=(
            "Skickar en avisering när en körning pausas eller suspenderas och väntar på ett "
            "beslut (samsa-decom, deploy/automations.py)."
        ),
        enabled=True,
        trigger=EventTrigger(
            expect=set(PAUSE_EVENTS),
            match={"prefect.resource.id": "prefect.flow-run.*"},
            for_each={"prefect.resource.id"},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            SendNotification(
                block_document_id=block_document_id,
                subject=_SUBJECT[lang],
                body=_BODY[lang].replace("{ui}", ui),
            )
        ],
    )


def ensure_pause_automation(
    webhook_url: str | None = None,
    *,
    block_document_id: UUID | None = None,
    ui_url: str | None = None,
    lang: str | None = None,
) -> Automation:
    """Create (or update) the 'a flow run waits for a person' automation; idempotent.

    The notification goes through ``block_document_id`` when given, else through the
    webhook block made from ``webhook_url`` (default: ``notify_pause_webhook_url``)."""
    from prefect.automations import Automation

    from models.settings import get_settings

    settings = get_settings()
    if block_document_id is None:
        url = webhook_url or settings.notify_pause_webhook_url
        if not url:
            raise InputError(
                "no webhook for the pause automation: set SAMSA_DECOM_NOTIFY_PAUSE_WEBHOOK_URL "
                "(Teams, Slack or any JSON webhook) or pass an existing notification block"
            )
        block_document_id = ensure_pause_block(url)
    wanted = pause_automation_spec(
        block_document_id, ui_url or settings.ui_url, lang or settings.language
    )
    try:
        existing: Automation = Automation.read(name=AUTOMATION_NAME)  # type: ignore[assignment]
    except ValueError:  # not there yet
        created: Automation = wanted.create()  # type: ignore[assignment]
        return created
    wanted.id = existing.id
    wanted.update()
    updated: Automation = Automation.read(id=existing.id)  # type: ignore[assignment]
    return updated
