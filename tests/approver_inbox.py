"""The approver's own channel in tests: a loopback HTTP receiver tagged ``godkannare`` (the
test plans' ``approver_channel``), where the one-time decision codes arrive.

:func:`approver_inbox` points ``SAMSA_DECOM_APPRISE_URLS`` at it (and at an untagged
catch-all receiver, which must never see a code); :meth:`Inbox.code` reads the newest code
the way a person would read it in their mail."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from notify_receivers import HttpReceiver

CODE_RE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}\b")
#: Where a message gives the code: "Engångskod för beslutet om …: ABCD-EFGH" at a line's end
#: (a request id elsewhere in the text can look like a code: a UUID's "2345-6789").
SENT_RE = re.compile(r"^Engångskod för beslutet om .*: ([A-Z2-9]{4}-[A-Z2-9]{4})$", re.M)
TAG = "godkannare"


@dataclass
class Inbox:
    """The approver's receiver and an untagged catch-all one."""

    mine: HttpReceiver
    everyone: HttpReceiver

    def messages(self) -> list[str]:
        return [f"{p.get('title', '')}\n{p.get('message', '')}" for _, p in self.mine.posts]

    def codes(self) -> list[str]:
        return [c for m in self.messages() for c in SENT_RE.findall(m)]

    def code(self) -> str:
        """The newest code that arrived (fails the test when none did)."""
        found = self.codes()
        assert found, f"no code arrived at the approver's channel: {self.messages()}"
        return found[-1]


def start_inbox(monkeypatch: pytest.MonkeyPatch) -> Inbox:
    from models.settings import get_settings

    inbox = Inbox(HttpReceiver().start(), HttpReceiver().start())
    monkeypatch.setenv(
        "SAMSA_DECOM_APPRISE_URLS",
        json.dumps([f"{TAG}={inbox.mine.url('/godkannare')}", inbox.everyone.url("/alla")]),
    )
    get_settings.cache_clear()
    return inbox


def stop_inbox(inbox: Inbox) -> None:
    inbox.mine.stop()
    inbox.everyone.stop()
