"""Adapters that carry out one :class:`~models.integrations.StepCall` of a shutdown step.

``http``: httpx with a timeout; the answer's status must be one of ``expect_status`` and, when
given, its body must contain ``expect_body``. ``sql``: SQLAlchemy against ``database`` (default
SAMSA's own database, ``${source_url}``), one statement in one transaction; ``expect_rows``
checks the rows changed (or returned). ``command``: a program run without a shell, with a
timeout; its exit code must be ``expect_exit``.

A step with ``silent_days`` asks for the time of the last message instead (a ``sql`` query
answering one timestamp, or an ``http`` answer with JSON field ``timestamp_field``) and is
*silent* when no message came for that many days before ``as_of``.

Every function here is plain and synchronous; nothing is retried (the engine decides).
Details kept for the ledger are masked: no personnummer leaves an adapter.
"""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from models import clock
from models.identity import scrub_identities
from models.integrations import StepCall, StepKind

#: How much of a counterpart's answer or error a step's detail keeps.
DETAIL_LIMIT = 300


@dataclass(frozen=True)
class CallOutcome:
    """What a step call did. ``ok`` False is a failure unless ``not_yet`` (wait and try later)."""

    ok: bool
    detail: str
    not_yet: bool = False
    last_message_at: datetime | None = None


Resolver = Callable[[str], str]


def run_step_call(
    call: StepCall, resolve: Resolver, *, silent_days: int | None = None, as_of: date | None = None
) -> CallOutcome:
    """Carry out ``call`` (http, sql or command); ``resolve`` substitutes ``${…}``."""
    if call.kind is StepKind.http:
        outcome = run_http(call, resolve, want_timestamp=silent_days is not None)
    elif call.kind is StepKind.sql:
        outcome = run_sql(call, resolve, want_timestamp=silent_days is not None)
    elif call.kind is StepKind.command:
        outcome = run_command(call, resolve)
    else:  # manual actions are asked for by the engine, never run here
        raise ValueError("a manual call is confirmed by a person, not run by an adapter")
    if silent_days is None or not outcome.ok:
        return outcome
    return judge_silence(outcome.last_message_at, silent_days, as_of or clock.today())


def judge_silence(last: datetime | None, silent_days: int, as_of: date) -> CallOutcome:
    """Silent when the last message is at least ``silent_days`` days before ``as_of``."""
    if last is None:
        return CallOutcome(True, "no message at all: silent", last_message_at=None)
    quiet_since = clock.local_day(last)
    silent_from = quiet_since + timedelta(days=silent_days)
    if as_of >= silent_from:
        return CallOutcome(
            True,
            f"last message {quiet_since.isoformat()}: silent "
            f"{(as_of - quiet_since).days} days (needed {silent_days})",
            last_message_at=last,
        )
    return CallOutcome(
        False,
        f"last message {quiet_since.isoformat()}: silent from "
        f"{silent_from.isoformat()} ({silent_days} days without traffic)",
        not_yet=True,
        last_message_at=last,
    )


# -- http -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process (building one reads the CA bundle: ~50 ms)."""
    import httpx

    return httpx.create_ssl_context()


def run_http(call: StepCall, resolve: Resolver, *, want_timestamp: bool = False) -> CallOutcome:
    import httpx

    url = resolve(call.url or "")
    shown = f"{call.method.upper()} {call.url}"
    headers = {k: resolve(v) for k, v in call.headers.items()}
    try:
        with httpx.Client(
            timeout=call.timeout, follow_redirects=False, verify=_tls_context()
        ) as client:
            resp = client.request(call.method.upper(), url, json=call.json_body, headers=headers)
    except httpx.TimeoutException:
        return CallOutcome(False, f"{shown}: no answer within {call.timeout:g} s")
    except httpx.HTTPError as exc:
        return CallOutcome(
            False,
            f"{shown}: {type(exc).__name__}: {scrub_identities(str(exc), limit=DETAIL_LIMIT)}",
        )
    if resp.status_code not in call.expect_status:
        return CallOutcome(
            False,
            f"{shown}: answered {resp.status_code} (expected "
            f"{', '.join(map(str, call.expect_status))}): "
            + scrub_identities(resp.text, limit=DETAIL_LIMIT),
        )
    if call.expect_body is not None and call.expect_body not in resp.text:
        return CallOutcome(
            False,
            f"{shown}: answer {resp.status_code} lacks {call.expect_body!r}: "
            + scrub_identities(resp.text, limit=DETAIL_LIMIT),
        )
    last = None
    if want_timestamp:
        try:
            value = resp.json().get(call.timestamp_field)
        except (ValueError, AttributeError):
            return CallOutcome(
                False, f"{shown}: answer is not a JSON object with {call.timestamp_field!r}"
            )
        try:
            last = _as_datetime(value)
        except ValueError as exc:
            return CallOutcome(False, f"{shown}: {call.timestamp_field}: {exc}")
    return CallOutcome(True, f"{shown}: {resp.status_code}", last_message_at=last)


# -- sql --------------------------------------------------------------------------------


def run_sql(call: StepCall, resolve: Resolver, *, want_timestamp: bool = False) -> CallOutcome:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    url = resolve(call.database)
    sql = resolve(call.sql or "")
    shown = " ".join((call.sql or "").split())
    engine = create_engine(url, future=True, pool_pre_ping=True)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(sql))
            if result.returns_rows:
                rows = result.fetchall()
                count = len(rows)
                first = rows[0][0] if rows and len(rows[0]) else None
            else:
                count = result.rowcount
                first = None
            if call.expect_rows is not None and count != call.expect_rows:
                # raise inside the transaction so nothing it changed stays
                raise _WrongRowCount(count)
    except _WrongRowCount as exc:
        return CallOutcome(
            False, f"{shown}: {exc.count} rows (expected {call.expect_rows}); rolled back"
        )
    except SQLAlchemyError as exc:
        orig = getattr(exc, "orig", None) or exc
        return CallOutcome(
            False,
            f"{shown}: {type(orig).__name__}: {scrub_identities(str(orig), limit=DETAIL_LIMIT)}",
        )
    finally:
        engine.dispose()
    last = None
    if want_timestamp:
        try:
            last = _as_datetime(first)
        except ValueError as exc:
            return CallOutcome(False, f"{shown}: {exc}")
    return CallOutcome(True, f"{shown}: {count} rows", last_message_at=last)


class _WrongRowCount(Exception):
    def __init__(self, count: int) -> None:
        super().__init__(count)
        self.count = count


# -- command ----------------------------------------------------------------------------


def run_command(call: StepCall, resolve: Resolver) -> CallOutcome:
    argv = [resolve(a) for a in call.command or []]
    shown = " ".join(call.command or [])
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=call.timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return CallOutcome(False, f"{shown}: still running after {call.timeout:g} s; stopped")
    except OSError as exc:
        return CallOutcome(False, f"{shown}: cannot be started: {exc.strerror}")
    if proc.returncode != call.expect_exit:
        tail = (proc.stderr or proc.stdout or "").strip()[-300:]
        return CallOutcome(
            False,
            f"{shown}: exit {proc.returncode} (expected {call.expect_exit}): "
            + scrub_identities(tail, limit=DETAIL_LIMIT),
        )
    return CallOutcome(True, f"{shown}: exit {proc.returncode}")


def _as_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
    raise ValueError(f"not a timestamp: {str(value)[:40]!r}")
