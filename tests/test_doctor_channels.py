"""`samsa-decom doctor --send-test` really reaches a channel (a JSON webhook on loopback)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from deploy.doctor import FAIL, OK, WARN, check_channels
from models.settings import Settings


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, object]]]]:
    received: list[dict[str, object]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"json://127.0.0.1:{server.server_address[1]}/", received
    finally:
        server.shutdown()
        server.server_close()


def test_send_test_reaches_the_channel(webhook: tuple[str, list[dict[str, object]]]) -> None:
    url, received = webhook
    settings = Settings(apprise_urls=[url])
    assert check_channels(settings, send_test=False).status == OK
    assert received == []  # without --send-test nothing is sent
    check = check_channels(settings, send_test=True)
    assert check.status == OK, check
    assert "test notice sent" in check.found
    assert len(received) == 1 and "samsa-decom doctor" in str(received[0])


def test_unreachable_channel_and_bad_urls_fail_and_none_warns() -> None:
    dead = check_channels(Settings(apprise_urls=["json://127.0.0.1:9/"]), send_test=True)
    assert dead.status == FAIL and "test notice failed" in dead.found
    bad = check_channels(Settings(apprise_urls=["nosuchscheme://x"]), send_test=False)
    assert bad.status == FAIL and "nosuchscheme://…" in bad.found
    assert check_channels(Settings(), send_test=False).status == WARN


def test_doctor_reports_a_revision_tag_and_approver_tags_nobody_carries() -> None:
    """The audit heads' tag and each approver's channel must reach someone; a channel tagged
    for other people does not count, and a catch-all carries heads but never codes."""
    from pathlib import Path

    from deploy.doctor import check_tags

    def found(**kw: object) -> dict[str, tuple[str, str]]:
        return {c.name: (c.status, c.found) for c in check_tags(Settings(**kw))}

    only_pm = found(apprise_urls=["pm=json://127.0.0.1:9/"])
    assert only_pm["tag 'revision' (audit heads)"][0] == WARN
    assert only_pm["approvers' channels"] == (
        WARN, "no channel tagged 'godkannare-drift', 'godkannare-forvaltning': no one-time "
        "code can be sent, so those decisions cannot be taken")

    catch_all = found(apprise_urls=["json://127.0.0.1:9/"])
    assert catch_all["tag 'revision' (audit heads)"][0] == OK
    assert catch_all["approvers' channels"][0] == WARN  # everyone's channel is nobody's own

    example = found(apprise_config=Path(__file__).parents[1] / "deploy/apprise.example.yaml")
    assert example["tag 'revision' (audit heads)"][0] == OK
    assert example["approvers' channels"][0] == OK
