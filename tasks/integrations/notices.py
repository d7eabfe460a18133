"""Telling people that an integration's shutdown failed.

The failure is always in the ledger first (``integration_step_event``, the audit chain,
:meth:`~models.ledger.integrations.IntegrationLedger.failed_shutdowns`) and in the run's
artifact and log. On top of that, :func:`notify_event` hands it to the notify area's outbox
(``tasks.notify.outbox.send_notice``) when that area is installed, under a key that names the event
so the same failure is never sent twice. Sending can fail without hiding the failure itself.
"""

from __future__ import annotations

from typing import Any

#: The apprise tag failures go to (the plan's operators).
FAILURE_TAG = "operations"


def notify_event(ledger: Any, tag: str, key: str, subject: str, text: str) -> str:
    """Send (or queue) a notice through the notify area; says what happened, never raises."""
    try:
        from tasks.notify.outbox import send_notice
    except ImportError:
        return (
            "no notice sent (the notify area is not installed); the failure is in the "
            "ledger for it to pick up"
        )
    try:
        sent = send_notice(ledger, tag, key, subject, text)
    except Exception as exc:  # noqa: BLE001 - a failing notice must not hide the failure
        return f"notice not sent: {type(exc).__name__}: {exc}"
    return f"notice sent to {tag}" if sent else f"notice queued for {tag}"
