"""Actions registered only by the reconciler's tests (``test-ok``, ``test-crash-once``).

Each call is appended to the file named by ``SAMSA_TEST_ACTION_LOG`` so a test can see which
actions ran and how often. ``test-crash-once`` kills its whole process (``os._exit``) the
first time when ``SAMSA_TEST_CRASH_MARKER`` names a file that does not exist yet: a run
killed half-way, with no chance to clean up.
"""

from __future__ import annotations

import os
from pathlib import Path

from flows.actions import Action, ActionContext, ActionResult


def _log(ctx: ActionContext) -> None:
    path = os.environ.get("SAMSA_TEST_ACTION_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(ctx.milestone_id + "\n")


def ok(ctx: ActionContext) -> ActionResult:
    _log(ctx)
    return ActionResult(done=True, summary=f"{ctx.milestone_id} utförd")


def crash_once(ctx: ActionContext) -> ActionResult:
    _log(ctx)
    marker = os.environ.get("SAMSA_TEST_CRASH_MARKER")
    if marker and not Path(marker).exists():
        Path(marker).write_text("crashed\n", encoding="utf-8")
        os._exit(9)
    return ActionResult(done=True, summary=f"{ctx.milestone_id} utförd")


def fail(ctx: ActionContext) -> ActionResult:
    _log(ctx)
    return ActionResult(done=False, summary="källdatabasen svarar inte")


#: Added to ``flows.wiring.ACTIONS`` by the tests that use them.
REGISTRY: dict[str, Action] = {"test-ok": ok, "test-crash-once": crash_once, "test-fail": fail}
