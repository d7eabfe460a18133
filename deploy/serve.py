"""The embedded default: a Prefect server on SQLite plus one process serving every deployment.

``samsa-decom up`` calls :func:`run_embedded`. Everything lives under the settings' ``home``
folder (``var/`` by default): the Prefect server's database and log in ``home/prefect``, the
ledger as ``home/ledger.sqlite``, the synthetic SAMSA database as ``home/samsa-demo.sqlite``.

The API and UI let anyone who reaches them approve milestones and change Variables. The server
keeps the operator's ``PREFECT_SERVER_API_AUTH_STRING`` (basic auth) when one is set, and
without one it listens on a loopback address only.
"""

from __future__ import annotations

import ipaddress
import os
import signal
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from deploy.server import PrefectServer, port_is_free
from models.errors import InputError
from models.settings import get_settings

if TYPE_CHECKING:
    from uuid import UUID

    from prefect.runner import Runner

out = Console(width=max(Console().width, 110))

#: The flow ``up`` runs once on a first start (a ledger without milestones), so that the UI
#: shows the ``phaseout-status`` artifact at once instead of after the next 06:00.
FIRST_RUN_FLOW = "reconcile-phaseout"


def prefect_home(home: Path) -> Path:
    return (home / "prefect").resolve()


def embedded_server(home: Path, host: str, port: int) -> PrefectServer:
    """The server ``up`` starts, with the operator's basic auth when one is set.

    Without ``PREFECT_SERVER_API_AUTH_STRING`` only a loopback ``host`` is allowed: anything
    else would open approvals and Variables to the network.
    """
    auth = os.environ.get("PREFECT_SERVER_API_AUTH_STRING") or None
    if auth is None and not _is_loopback(host):
        raise InputError(
            f"--host {host}: the API and UI would be open to the network without a password; "
            "set PREFECT_SERVER_API_AUTH_STRING=user:password first, or use --host 127.0.0.1"
        )
    return PrefectServer(home=prefect_home(home), host=host, port=port, auth_string=auth)


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def prepare_environment(home: Path, server: PrefectServer) -> None:
    """Point this process (and the flow runs it starts) at the embedded server."""
    os.environ["PREFECT_HOME"] = str(prefect_home(home))
    if not os.environ.get("SAMSA_DECOM_UI_URL"):  # links in notices point at this UI
        os.environ["SAMSA_DECOM_UI_URL"] = server.url
        get_settings.cache_clear()
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.pop("PREFECT_API_AUTH_STRING", None)
    os.environ.update(server.client_environment())


def ensure_demo_database(say: Callable[[str], None]) -> None:
    """Create the small synthetic SAMSA database on first start, when none is configured."""
    settings = get_settings()
    if settings.source_url:
        return  # an operator pointed samsa-decom at a real database: never touch it
    path = Path(settings.resolved_source_url().removeprefix("sqlite:///"))
    if path.exists():
        return
    create = _demo_data_creator()
    if create is None:
        say("[yellow]note:[/] the demo-data command is not in this checkout; no demo database")
        return
    say(f"==> creating the synthetic SAMSA demo database ({DEMO_SCALE:,} rows) in {path}")
    create(path)


#: Rows in the demo database `up` creates on first start (`samsa-decom demo-data` makes bigger).
DEMO_SCALE = 20_000


def _demo_data_creator() -> Callable[[Path], object] | None:
    """The archive area's demo-data generator, if present in this checkout."""
    try:
        from tasks.synthetic import generate
    except ImportError:
        return None

    def create(path: Path) -> object:
        path.parent.mkdir(parents=True, exist_ok=True)
        report = generate(f"sqlite:///{path}", scale=DEMO_SCALE, seed=1)
        return report

    return create


def ensure_automations(say: Callable[[str], None]) -> None:
    """Set up the automations other areas own (notify's "a run waits for a person"), when
    present in this checkout and configured."""
    try:
        from deploy.automations import ensure_pause_automation  # type: ignore[import-not-found]
    except ImportError:
        return
    if not getattr(get_settings(), "notify_pause_webhook_url", None):
        say(
            "note: SAMSA_DECOM_NOTIFY_PAUSE_WEBHOOK_URL is not set: a waiting approval is "
            "announced by the daily notices only, not the moment it starts waiting"
        )
        return
    ensure_pause_automation()
    say("==> automation for runs waiting for a person is set up")


def deployments_table(deployments: list, missing: list) -> Table:  # type: ignore[type-arg]
    from deploy.deployments import spec

    table = Table("deployment", "when", "tags", title="samsa-decom deployments")
    for d in deployments:
        s = spec(d.flow_name)
        table.add_row(s.full_name, s.schedule_text, ", ".join(s.tags))
    for m in missing:
        table.add_row(f"[yellow]{m.spec.full_name}[/]", "[yellow]not available[/]", m.reason)
    return table


def ledger_is_new(ledger_url: str) -> bool:
    """No milestone recorded yet: the daily reconciliation has never run on this ledger."""
    from models.ledger import Ledger

    with Ledger.open(ledger_url) as ledger:
        return not ledger.states()


def register_deployments(
    runner: Runner, deployments: Sequence, first_start: bool  # type: ignore[type-arg]
) -> UUID | None:
    """Register every deployment with the server; on a ``first_start`` also schedule one run
    of :data:`FIRST_RUN_FLOW` for now (the runner picks it up as soon as it serves). Returns
    that run's id (None: no run started)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    ids: dict[str, UUID] = {}
    for d in deployments:
        deployment_id = runner.add_deployment(d)  # called from sync code: the id itself
        assert isinstance(deployment_id, UUID)
        ids[d.flow_name] = deployment_id
    if not first_start or FIRST_RUN_FLOW not in ids:
        return None
    with get_client(sync_client=True) as client:
        run = client.create_flow_run_from_deployment(ids[FIRST_RUN_FLOW], tags=["first-start"])
    out.print(f"==> first start: {FIRST_RUN_FLOW} runs now, so the status shows at once",
              highlight=False)  # fmt: skip
    return run.id


def serve_deployments(
    deployments: list, ui_url: str, first_start: bool = False  # type: ignore[type-arg]
) -> None:
    """What ``prefect.serve`` does, with our message once every deployment is registered
    (and, on a first start, one run of the reconciler right away)."""
    import asyncio

    from prefect.exceptions import TerminationSignal
    from prefect.runner import Runner

    runner = Runner(pause_on_shutdown=True)
    register_deployments(runner, deployments, first_start)
    out.print(
        f"[bold green]samsa-decom is running: open {ui_url}[/]  (Ctrl-C stops it)",
        highlight=False,
        soft_wrap=True,
    )
    try:
        asyncio.run(runner.start())
    except (KeyboardInterrupt, TerminationSignal):
        pass


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_embedded(host: str = "127.0.0.1", port: int = 4200, demo: bool = True) -> None:
    """Start the server, prepare the ledger and demo data, serve every deployment until stopped."""
    settings = get_settings()
    home = settings.home.resolve()
    server = embedded_server(home, host, port)
    if not port_is_free(host, port):
        raise InputError(
            f"port {port} on {host} is already in use (is samsa-decom or another Prefect "
            f"server already running?): stop it, or choose another port with --port"
        )
    # SIGTERM before serving starts (Prefect's runner installs its own later) must still
    # stop the server, which runs in its own session and would otherwise be left behind.
    signal.signal(signal.SIGTERM, _interrupt)
    prepare_environment(home, server)
    out.print(
        f"==> starting the Prefect server (SQLite in {server.home}; log {server.log_path})",
        soft_wrap=True,
        highlight=False,
    )
    try:
        server.start()
        from models.ledger import upgrade_ledger

        upgrade_ledger(settings.resolved_ledger_url())
        first_start = ledger_is_new(settings.resolved_ledger_url())
        if demo:
            ensure_demo_database(out.print)
        ensure_automations(out.print)

        from deploy.deployments import build_deployments

        built = build_deployments()
        out.print(deployments_table(built.deployments, built.missing))
        if built.missing:
            out.print(
                f"[yellow]warning:[/] {len(built.missing)} deployment(s) not served "
                "(see the table above)",
                soft_wrap=True,
            )
        serve_deployments(built.deployments, server.url, first_start)
    except KeyboardInterrupt:
        pass
    finally:
        out.print("==> stopping the Prefect server")
        server.stop()
