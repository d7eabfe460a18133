"""Health checks an operator runs on call: ``samsa-decom doctor``.

Each check answers OK, WARN or FAIL with what it found and, when not OK, what to do. Nothing
here changes anything (``--send-test`` sends one test notice, nothing else).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from models.settings import Settings

OK, WARN, FAIL = "OK", "WARN", "FAIL"


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    found: str
    todo: str = ""


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<url>"


def api_url_from_env(settings: Settings) -> str:
    """The Prefect API this machine talks to: PREFECT_API_URL, else the UI address's /api."""
    explicit = os.environ.get("PREFECT_API_URL")
    if explicit:
        return explicit.rstrip("/")
    try:
        from prefect.settings import PREFECT_API_URL

        value = PREFECT_API_URL.value()
        if value:
            return str(value).rstrip("/")
    except Exception:  # noqa: BLE001 - fall back to the configured UI address
        pass
    return settings.ui_url.rstrip("/") + "/api"


def check_server(api_url: str, auth_string: str | None) -> list[Check]:
    """The Prefect server answers, accepts our credentials, and has our deployments."""
    from deploy.deployments import DEPLOYMENT_NAME, SPECS, find_flow
    from deploy.server import basic_auth_header

    try:
        health = httpx.get(f"{api_url}/health", timeout=5)
    except httpx.HTTPError as exc:
        return [
            Check(
                "Prefect server",
                FAIL,
                f"{api_url} not reachable ({type(exc).__name__})",
                "start it (`./run up`, or `prefect server start` on the server machine) or "
                "set PREFECT_API_URL to its address",
            )
        ]
    if health.status_code != 200:
        return [
            Check(
                "Prefect server",
                FAIL,
                f"{api_url}/health: HTTP {health.status_code}",
                "look at the server's log",
            )
        ]
    checks = [Check("Prefect server", OK, f"{api_url} healthy")]
    headers = basic_auth_header(auth_string) if auth_string else {}
    try:
        r = httpx.post(
            f"{api_url}/deployments/filter",
            json={"deployments": {"name": {"any_": [DEPLOYMENT_NAME]}}, "limit": 200},
            headers=headers,
            timeout=10,
        )
    except httpx.HTTPError as exc:
        return [*checks, Check("Prefect API auth", FAIL, f"{type(exc).__name__}", "retry")]
    if r.status_code == 401:
        return [
            *checks,
            Check(
                "Prefect API auth",
                FAIL,
                "refused: " + ("wrong auth string" if auth_string else "no auth string given"),
                "set PREFECT_API_AUTH_STRING to the server's PREFECT_SERVER_API_AUTH_STRING",
            ),
        ]
    if r.status_code != 200:
        return [*checks, Check("Prefect API auth", FAIL, f"HTTP {r.status_code}", r.text[:200])]
    checks.append(
        Check("Prefect API auth", OK, "basic auth accepted" if auth_string else "no auth needed")
    )
    ids = {d.get("flow_id"): d for d in r.json()}
    flows = httpx.post(
        f"{api_url}/flows/filter",
        json={"flows": {"id": {"any_": [i for i in ids if i]}}},
        headers=headers,
        timeout=10,
    ).json()
    deployed = {f["name"] for f in flows}
    expected = [s.flow_name for s in SPECS if find_flow(s)[0] is not None]
    absent = [n for n in expected if n not in deployed]
    if absent:
        checks.append(
            Check(
                "deployments",
                FAIL,
                f"{len(expected) - len(absent)} of {len(expected)} deployed; missing: "
                + ", ".join(f"{n}/{DEPLOYMENT_NAME}" for n in absent),
                "run `./run up` (one machine) or `samsa-decom deploy` (work pool)",
            )
        )
    else:
        checks.append(Check("deployments", OK, f"all {len(expected)} deployed"))
    return checks


def check_flows() -> Check:
    """Every deployed flow is wired (flows/wiring.py) and imports in this checkout."""
    from deploy.deployments import SPECS, find_flow

    problems = []
    for s in SPECS:
        found, _entrypoint, reason = find_flow(s)
        if found is None:
            problems.append(f"{s.flow_name}: {reason}")
    if not problems:
        return Check("flows", OK, f"all {len(SPECS)} flows importable")
    return Check("flows", FAIL, "; ".join(problems), "fix the import error shown")


def check_ledger(url: str) -> list[Check]:
    """The ledger answers, is migrated to the newest schema and its audit chain is intact."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SQLAlchemyError

    from models.ledger import Ledger
    from models.ledger.repository import MIGRATIONS_DIR

    shown = _redact(url)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return [
            Check(
                "ledger",
                FAIL,
                f"{shown}: no such file",
                "start samsa-decom once (`./run up`) or set SAMSA_DECOM_LEDGER_URL",
            )
        ]
    ledger = Ledger.open(url, check_schema=False)
    try:
        try:
            with ledger.engine.connect() as conn:
                current = set(MigrationContext.configure(conn).get_current_heads())
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            return [
                Check(
                    "ledger",
                    FAIL,
                    f"{shown}: {type(exc).__name__}: {cause}",
                    "check SAMSA_DECOM_LEDGER_URL and that the database is up",
                )
            ]
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        heads = set(ScriptDirectory.from_config(cfg).get_heads())
        checks = [Check("ledger", OK, f"{shown} reachable")]
        if current != heads:
            behind = sorted(heads - current)
            checks.append(
                Check(
                    "ledger schema",
                    FAIL,
                    f"not migrated: missing {', '.join(behind)}",
                    "run `samsa-decom upgrade-ledger` (`./run up` also migrates on start)",
                )
            )
        else:
            checks.append(Check("ledger schema", OK, "at " + ", ".join(sorted(heads))))
        if ledger.audit_key is None or current != heads:
            return checks  # check_audit_key names a missing key; the schema check above
        from tasks.audit_heads import check_audit

        found = check_audit(ledger)
        if found.ok:
            against = f", matches published head {found.head.seq}" if found.head else ""
            checks.append(
                Check("audit chain", OK, f"intact, {found.verdict.entries} entries{against}")
            )
        else:
            checks.append(
                Check(
                    "audit chain",
                    FAIL,
                    "; ".join(found.problems),
                    "restore the ledger from the last good backup; see docs/operations.md",
                )
            )
        return checks
    finally:
        ledger.close()


def check_audit_key(settings: Settings) -> Check:
    """The audit key is configured (it lives outside the ledger; the ledger keeps its id)."""
    key = settings.audit_key_bytes()
    if key is None:
        return Check(
            "audit key",
            FAIL,
            "SAMSA_DECOM_AUDIT_KEY is not set: the audit chain can be neither written nor checked",
            "set it from your secret store (see docs/operations.md, 'The audit key')",
        )
    from models.ledger.audit import key_id

    return Check("audit key", OK, f"configured (key id {key_id(key)})")


def check_source(url: str) -> Check:
    """SAMSA's database (or the demo database) answers."""
    from sqlalchemy import create_engine, text

    shown = _redact(url)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return Check(
            "SAMSA database",
            FAIL,
            f"{shown}: no such file",
            "`samsa-decom demo-data` for the demo, or set SAMSA_DECOM_SOURCE_URL",
        )
    engine = create_engine(url, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        return Check("SAMSA database", OK, f"{shown} reachable")
    except Exception as exc:  # noqa: BLE001 - every failure is reported as such
        return Check(
            "SAMSA database",
            FAIL,
            f"{shown}: {type(exc).__name__}",
            "check SAMSA_DECOM_SOURCE_URL, the network and the credentials",
        )
    finally:
        engine.dispose()


def check_private_files(settings: Settings) -> list[Check]:
    """The home folder, the ledger file and the source database file are private (0700/0600):
    they hold identity numbers, so no other user of the machine may read them."""
    from tasks.private_files import open_to_others

    places = [(settings.home, "700")]
    for url in (settings.resolved_ledger_url(), settings.resolved_source_url()):
        path = _sqlite_file(url)
        if path is not None:
            places.append((path, "600"))
    checks = [
        Check(
            "private files",
            WARN,
            f"{path} is open to other users (mode {path.stat().st_mode & 0o777:o})",
            f"chmod {mode} {path}",
        )
        for path, mode in places
        if path.exists() and open_to_others(path)
    ]
    return checks or [Check("private files", OK, "home, ledger and source files are private")]


def _sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for a server database or an in-memory one)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - an unusable URL is the ledger/source check's to report
        return None
    if not parsed.drivername.startswith("sqlite") or not parsed.database:
        return None
    return Path(parsed.database)


def check_channels(settings: Settings, send_test: bool) -> Check:
    """The notification channels are configured (and, with ``send_test``, take a notice)."""
    import apprise

    ap = apprise.Apprise()
    bad: list[str] = []
    for u in settings.apprise_urls:
        if not ap.add(u):
            bad.append(u.split("://", 1)[0] + "://…")
    if settings.apprise_config:
        if not Path(settings.apprise_config).exists():
            return Check(
                "notification channels",
                FAIL,
                f"{settings.apprise_config}: no such file",
                "fix SAMSA_DECOM_APPRISE_CONFIG",
            )
        cfg = apprise.AppriseConfig()
        cfg.add(str(settings.apprise_config))
        ap.add(cfg)
    if bad:
        return Check(
            "notification channels",
            FAIL,
            f"unusable URLs: {', '.join(bad)}",
            "fix SAMSA_DECOM_APPRISE_URLS (see apprise's URL formats)",
        )
    n = len(ap)
    if n == 0:
        return Check(
            "notification channels",
            WARN,
            "none configured: nobody is told",
            "set SAMSA_DECOM_APPRISE_CONFIG or SAMSA_DECOM_APPRISE_URLS",
        )
    if not send_test:
        return Check("notification channels", OK, f"{n} configured (not contacted)")
    sent = ap.notify(
        title="samsa-decom doctor", body="Test notice from `samsa-decom doctor`.", tag="all"
    )
    if not sent:
        return Check(
            "notification channels",
            FAIL,
            f"{n} configured, test notice failed",
            "check the channel (SMTP server, webhook) and its credentials",
        )
    return Check("notification channels", OK, f"{n} configured, test notice sent")


def check_tags(settings: Settings) -> list[Check]:
    """Two tags must reach someone: the audit heads' tag (``revision``: a head published only
    to the ledger's own machine proves little) and each approver's channel in the plan (the
    one-time codes go there, and only to channels tagged with it)."""
    from models.plan import load_plan
    from tasks.decision_codes import approver_channels
    from tasks.notify.channels import Router

    try:
        router = Router.from_settings(settings)
    except Exception:  # noqa: BLE001 - unusable URLs are the channels check's to report
        return []
    tag = settings.audit_heads_tag
    checks = []
    if router.for_tag(tag):
        checks.append(Check(f"tag '{tag}' (audit heads)", OK,
                            f"{len(router.for_tag(tag))} channel(s) carry it"))
    else:
        checks.append(Check(
            f"tag '{tag}' (audit heads)", WARN,
            "no channel carries it: the chain's heads reach only the heads file",
            f"give a channel the tag '{tag}' (e.g. Regionarkivet's or the auditors' mailbox; "
            "deploy/apprise.example.yaml)",
        ))
    try:
        plan = load_plan(settings.plan_path)
    except Exception:  # noqa: BLE001 - the plan's problems are `samsa-decom plan`'s to show
        return checks
    wanted = sorted({m.approver_channel for m in plan.milestones if m.approver_channel}
                    | ({settings.extract_approver_channel.strip()}
                       if (settings.extract_approver_channel or "").strip() else set()))
    missing = [t for t in wanted if not approver_channels(router, t)]
    if missing:
        checks.append(Check(
            "approvers' channels", WARN,
            f"no channel tagged {', '.join(repr(t) for t in missing)}: no one-time code can be "
            "sent, so those decisions cannot be taken",
            "give each approver's own channel its tag (a channel without tags never gets codes)",
        ))
    elif wanted:
        checks.append(Check("approvers' channels", OK, f"{len(wanted)} tagged: "
                            + ", ".join(wanted)))
    return checks


def run_checks(
    settings: Settings,
    *,
    api_url: str | None = None,
    auth_string: str | None = None,
    send_test: bool = False,
) -> list[Check]:
    api = (api_url or api_url_from_env(settings)).rstrip("/")
    auth = auth_string if auth_string is not None else os.environ.get("PREFECT_API_AUTH_STRING")
    steps: list[Callable[[], list[Check] | Check]] = [
        lambda: check_server(api, auth or None),
        check_flows,
        lambda: check_audit_key(settings),
        lambda: check_ledger(settings.resolved_ledger_url()),
        lambda: check_source(settings.resolved_source_url()),
        lambda: check_private_files(settings),
        lambda: check_channels(settings, send_test),
        lambda: check_tags(settings),
    ]
    checks: list[Check] = []
    for step in steps:
        try:
            result = step()
        except Exception as exc:  # noqa: BLE001 - a check that crashes is a failed check
            result = Check(
                getattr(step, "__name__", "check"),
                FAIL,
                f"{type(exc).__name__}: {exc}",
                "see the message",
            )
        checks.extend(result if isinstance(result, list) else [result])
    return checks
