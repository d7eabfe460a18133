"""The synthetic database stays on this machine.

Its identities are valid personnummer, samordningsnummer and reserve numbers; no number range
is safe for test data (people born abroad before 1990 hold birth numbers 930–999), so any of
them may belong to a real person. What makes the database synthetic is its marking
(``dataset_info.synthetic``) and where it lives: :func:`require_local_target` refuses to write
it to a database server that is not on this machine's loopback, unless the person says so
explicitly (``samsa-decom demo-data --allow-remote``).
"""

from __future__ import annotations

import ipaddress

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from models.errors import InputError

#: host names that always mean this machine
LOCAL_NAMES = frozenset({"", "localhost", "localhost.localdomain", "ip6-localhost"})


def _is_local(host: str) -> bool:
    """A loopback address, ``localhost``, or a Unix socket path (``/run/postgresql``)."""
    host = host.strip().strip("[]").lower()
    if host in LOCAL_NAMES or host.startswith("/"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # any other name may resolve anywhere


def target_hosts(url: URL) -> list[str]:
    """Every host the URL may connect to: its host and any ``host=``/``hostaddr=`` in the
    query (libpq takes comma-separated lists there, and they win over the URL's host)."""
    hosts = [url.host or ""]
    for key in ("host", "hostaddr", "unix_socket"):
        value = url.query.get(key)
        for v in [value] if isinstance(value, str) else list(value or ()):
            hosts += v.split(",")
    return hosts


def require_local_target(url: str, *, allow_remote: bool = False) -> None:
    """Refuse (bad input, exit 2) a synthetic database on a host other than this machine's
    loopback. The message names the host, never the URL (it may hold a password)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InputError(
            "--url: not a database URL (expected e.g. sqlite:///samsa-demo.sqlite)"
        ) from None
    if allow_remote or parsed.get_backend_name() == "sqlite":
        return
    remote = [h for h in target_hosts(parsed) if not _is_local(h)]
    if remote:
        raise InputError(
            f"--url: host {remote[0]!r} is not this machine; the synthetic database stays on "
            "127.0.0.1/localhost (its identities may be real people's numbers). "
            "Use --allow-remote only for an isolated test server."
        )
