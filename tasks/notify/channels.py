"""Where notices go: apprise services (e-mail, Teams, Slack, Matrix, webhooks), by tag.

A :class:`Router` is built from the configured apprise URLs (``tag1,tag2=URL`` or bare) and
an apprise YAML file; :meth:`Router.for_tag` answers which :class:`Channel` s carry a
recipient tag. A service with no tag (or apprise's reserved tag ``always``) receives every
notice. A channel's ``id`` is a fingerprint of its full URL, so the ledger can remember
which channels accepted a notice without ever storing a secret; its ``label`` is the URL
with secrets hidden, for messages.

Sending is :meth:`Channel.send`: one message, ``(accepted, what the service said)``.
Exactly-once delivery is the outbox's job (:mod:`tasks.notify.outbox`), not this module's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from models.errors import InputError

if TYPE_CHECKING:
    from models.settings import Settings


@dataclass(frozen=True)
class Channel:
    """One apprise service. ``id`` is a fingerprint of its full URL (secrets never stored)."""

    id: str
    label: str  # the URL with secrets hidden
    server: Any

    def send(self, subject: str, body: str) -> tuple[bool, str]:
        import logging

        import apprise

        with apprise.LogCapture(level=logging.WARNING, fmt="%(message)s") as logs:
            ok = bool(self.server.notify(body=body, title=subject))
        if ok:
            return True, ""
        said = "; ".join(line.strip() for line in logs.getvalue().splitlines() if line.strip())
        return False, said[-500:] or "the channel refused the message"


@dataclass
class Router:
    """The apprise services of a configuration, found by recipient tag.

    A service with no tag (or apprise's reserved tag ``always``) receives every notice; a
    tagged one only its tags. Build one per run: apprise keeps SMTP connections open."""

    channels: list[tuple[frozenset[str], Channel]] = field(default_factory=list)

    @classmethod
    def from_sources(
        cls,
        urls: Sequence[str] = (),
        config: Path | None = None,
        *,
        throttle_seconds: float | None = None,
    ) -> Router:
        """Channels from ``tag1,tag2=URL`` strings (or bare URLs) and an apprise YAML file.

        ``throttle_seconds`` overrides apprise's pause between two messages through the same
        service (5.5 s for e-mail by default, kind to mail servers; tests use 0)."""
        import apprise

        ap = apprise.Apprise()
        for url in urls:
            tags, bare = _split_tagged_url(url)
            if not ap.add(bare, tag=tags or None):
                raise InputError(f"apprise URL not understood: {_hide(bare)}")
        if config is not None:
            if not Path(config).is_file():
                raise InputError(f"apprise configuration file not found: {config}")
            cfg = apprise.AppriseConfig()
            cfg.add(str(config))
            servers = cfg.services()
            if not servers:
                raise InputError(
                    f"{config}: no usable apprise URL (check the YAML: `urls:` with `tag:`)"
                )
            ap.add(list(servers))  # type: ignore[arg-type]
        found = []
        for server in ap.find(tag=apprise.common.MATCH_ALL_TAG):
            if throttle_seconds is not None:
                server.request_rate_per_sec = throttle_seconds
            full = server.url(privacy=False)
            fp = hashlib.sha256(full.encode()).hexdigest()[:16]
            found.append(
                (
                    frozenset(server.tags),
                    Channel(fp, server.url(privacy=True).split("?")[0], server),
                )
            )
        return cls(found)

    @classmethod
    def from_settings(cls, s: Settings) -> Router:
        return cls.from_sources(s.apprise_urls, s.apprise_config)

    def for_tag(self, tag: str) -> list[Channel]:
        return [c for tags, c in self.channels if not tags or tag in tags or "always" in tags]


def _split_tagged_url(url: str) -> tuple[list[str], str]:
    """``"projektledning,eskalering=mailto://…"`` → (tags, URL); plain URLs have no tags."""
    head, sep, rest = url.partition("=")
    if sep and "://" not in head and all(t.strip() for t in head.split(",")):
        return [t.strip() for t in head.split(",")], rest.strip()
    return [], url.strip()


def _hide(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    return f"{scheme}{sep}…" if sep else "<url>"
