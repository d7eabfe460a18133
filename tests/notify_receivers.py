"""Real receivers on loopback for the notification tests: an SMTP server (aiosmtpd) and an
HTTP server that records what apprise's ``json://`` posts. Both bind 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mail:
    to: list[str]
    subject: str
    body: str


@dataclass
class SmtpReceiver:
    """An aiosmtpd server that can be stopped and started again on the same port."""

    port: int = field(default_factory=free_port)
    mails: list[Mail] = field(default_factory=list)
    _controller: Any = None

    def start(self) -> SmtpReceiver:
        from aiosmtpd.controller import Controller

        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
                part = msg.get_body(preferencelist=("plain", "html"))
                body = part.get_content() if part is not None else ""
                receiver.mails.append(Mail(list(envelope.rcpt_tos), str(msg["subject"]), body))
                return "250 OK"

        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def url(self, to: str, sender: str = "samsa-decom@example.org") -> str:
        return f"mailto://127.0.0.1:{self.port}?mode=insecure&from={sender}&to={to}&format=text"


@dataclass
class HttpReceiver:
    """A threaded HTTP server recording JSON bodies posted to it (per path)."""

    posts: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    fail: bool = False  # answer 503 while True
    _server: Any = None
    _thread: Any = None

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n)
                if receiver.fail:
                    self.send_response(503)
                    self.end_headers()
                    return
                try:
                    payload = json.loads(raw or b"{}")
                except ValueError:
                    payload = {"raw": raw.decode("utf-8", "replace")}
                receiver.posts.append((self.path, payload))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def url(self, path: str = "/notify") -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[dict[str, Any]]:
        return [p for pth, p in self.posts if pth.split("?")[0] == path]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
