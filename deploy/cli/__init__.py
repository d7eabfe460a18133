"""The ``samsa-decom`` command line (Typer + rich).

Exit codes: 0 ok, 1 a check or step failed, 2 bad input.

Everything the commands write is private to the user running them (umask 077, see
:mod:`tasks.private_files`), whatever the shell's umask.

Each area keeps its commands in its own module with a ``register(app)`` function; heavy
imports (Prefect, lxml, …) happen inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console

from models.errors import SamsaDecomError

app = typer.Typer(
    name="samsa-decom",
    help="Phase out SAMSA IT-tjänst safely: plan, gates, archive, extracts, integrations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)


def _register_all() -> None:
    # One line per area; each module owns its commands.
    from deploy.cli import ledger_cmds

    ledger_cmds.register(app)
    from deploy.cli import plan_cmds; plan_cmds.register(app)  # noqa: E702, I001
    from deploy.cli import up_cmds; up_cmds.register(app)  # noqa: E702, I001
    from deploy.cli import doctor_cmds; doctor_cmds.register(app)  # noqa: E702, I001
    from deploy.cli import notify_cmds; notify_cmds.register(app)  # noqa: E702, I001
    from deploy.cli import status_cmds; status_cmds.register(app)  # noqa: E702, I001
    from deploy.cli import archive_cmds; archive_cmds.register(app)  # noqa: E702, I001
    from deploy.cli import integrations_cmds; integrations_cmds.register(app)  # noqa: E702, I001
    from deploy.cli import extract_cmds; extract_cmds.register(app)  # noqa: E702, I001


def _usage_errors() -> tuple[type[Exception], ...]:
    """Click's usage-error class, and typer's bundled copy of it (typer 0.2x ships its own)."""
    found: list[type[Exception]] = []
    try:
        import click

        found.append(click.exceptions.ClickException)
    except ImportError:  # pragma: no cover
        pass
    try:
        from typer._click import exceptions as bundled  # type: ignore[import-not-found]

        found.append(bundled.ClickException)
    except ImportError:  # pragma: no cover
        pass
    return tuple(found)


def main(argv: list[str] | None = None) -> int:
    """Entry point: runs the app and turns project errors into messages and exit codes."""
    from tasks.private_files import keep_new_files_private

    keep_new_files_private()
    _start_verify_digests(sys.argv[1:] if argv is None else argv)
    try:
        _register_all()
        app(args=argv, standalone_mode=False)
    except SamsaDecomError as exc:
        err.print(f"[bold red]error:[/] {exc}", markup=True, highlight=False, soft_wrap=True)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        err.print("aborted")
        return 1
    except _usage_errors() as exc:  # wrong arguments or options: bad input
        exc.show()
        return 2
    finally:
        from tasks.archive.file_digests import drop_early

        drop_early()
    return 0


def _start_verify_digests(argv: list[str]) -> None:
    """For ``verify PACKAGE``: the package's files start hashing before the commands are
    imported (:func:`tasks.archive.file_digests.start_early`). Only a plain command line is
    recognised; anything else leaves the command to start them itself."""
    if not argv or argv[0] != "verify":
        return
    rest = argv[1:]
    while rest:
        arg = rest.pop(0)
        if arg == "--ledger":
            rest = rest[1:]
        elif arg == "--":
            continue
        elif not arg.startswith("-"):
            from tasks.archive.file_digests import start_early

            start_early(Path(arg))
            return


def exit_process(code: int) -> NoReturn:
    """End the ``samsa-decom`` process with ``code``, without a slow interpreter shutdown.

    At exit Python clears every imported module (about 750 here: SQLAlchemy, lxml, pydantic,
    rich, …) and runs full garbage collections over all their objects: 0.2-0.3 s measured
    after an archive, a third of ``verify``'s whole time. The garbage there is now is
    collected first, so its finalizers still run; what is still in use is then frozen
    (``gc.freeze``), which the shutdown's collections skip. ``atexit`` handlers (logging's
    flush among them) and the flushing of standard output still run as usual. What a module
    still holds at exit is not finalized: every file the commands write is closed (and
    flushed to disk) by the command itself, and the ledger commits each change explicitly,
    so nothing waits for a finalizer. Only for the process's own entry points: in a test's
    process the frozen objects would never be freed."""
    import gc

    gc.collect()
    gc.freeze()
    sys.exit(code)


def run() -> None:  # pragma: no cover - console script shim
    exit_process(main())


if __name__ == "__main__":  # pragma: no cover
    exit_process(main())
