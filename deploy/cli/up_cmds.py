"""``samsa-decom up`` (one machine) and ``samsa-decom deploy`` (several machines)."""

from __future__ import annotations

import typer
from rich.console import Console

from models.errors import CheckFailed, InputError

out = Console()


def _require_audit_key() -> None:
    """Nothing runs without the audit key: every step appends to the keyed audit chain."""
    from models.settings import get_settings

    if get_settings().audit_key_bytes() is None:
        raise InputError(
            "SAMSA_DECOM_AUDIT_KEY is not set: make one with `openssl rand -hex 32`, keep it "
            "in your secret store (not beside the ledger) and set it; see docs/operations.md"
        )


def up(
    host: str = typer.Option(
        "127.0.0.1",
        help="Address the Prefect server and UI listen on; another than loopback needs "
        "PREFECT_SERVER_API_AUTH_STRING (user:password).",
    ),
    port: int = typer.Option(4200, min=1, max=65535, help="Port of the Prefect server and UI."),
    no_demo: bool = typer.Option(
        False, "--no-demo", help="Do not create the synthetic SAMSA demo database."
    ),
) -> None:
    """Start samsa-decom on this machine: Prefect server + UI on SQLite, every deployment served.

    Prints the UI address; Ctrl-C (or SIGTERM) stops the deployments and the server. With
    PREFECT_SERVER_API_AUTH_STRING set, the API and UI ask for that user and password.
    """
    from deploy.serve import run_embedded

    _require_audit_key()
    run_embedded(host=host, port=port, demo=not no_demo)


def deploy(
    pool: str = typer.Option("samsa-pool", help="The process work pool the workers poll."),
    create_pool: bool = typer.Option(
        True, help="Create the work pool (type process) when it does not exist."
    ),
    strict: bool = typer.Option(
        True, help="Refuse (exit 1) when a flow of the project cannot be imported."
    ),
) -> None:
    """Register every deployment on a work pool (several machines; needs PREFECT_API_URL).

    Brings the ledger's schema up to date first.
    Then start `prefect worker start --pool samsa-pool` on each machine that should run flows.
    """
    from deploy.pool import register_on_pool
    from models.ledger import upgrade_ledger
    from models.settings import get_settings

    _require_audit_key()
    upgrade_ledger(get_settings().resolved_ledger_url())
    ids = register_on_pool(pool, create_pool=create_pool, strict=strict)
    if not ids:
        raise CheckFailed("no deployment was registered")
    out.print(f"{len(ids)} deployments registered on work pool {pool!r}")


def register(app: typer.Typer) -> None:
    app.command("up")(up)
    app.command("deploy")(deploy)
