"""Every morning: tell people what is coming, due, late or waiting for them.

The flow reads the plan, the successor's rollout and the ledger, decides which notices are
due today (reminders 30, 14, 7 and 1 days before a milestone and on the day, overdue
reminders, moved dates, gates that opened or closed, decisions waiting for a person,
deadlines of deliveries and extract requests), writes them to the ledger's outbox and sends
them through apprise (e-mail, Teams, Slack, Matrix, webhooks) by recipient tag.

A notice is never lost (it is recorded before it is sent and retried on the next run) and
never doubled (the outbox holds each notice once per recipient tag). See
``docs/notifications.md``.
"""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows.masking import masked_errors
from models.clock import today as clock_today
from models.errors import CheckFailed
from models.settings import get_settings
from tasks.notify.run import NotifyRun, run_notifications

ARTIFACT_KEY = "notify-milestones"


@task(name="decide-and-send-notices")
@masked_errors
def decide_and_send(
    as_of: date, dry_run: bool, digest: bool | None, flow_run_id: str | None
) -> NotifyRun:
    """Decide today's notices, record them in the outbox and send what is outstanding.

    Not retried by Prefect: the outbox itself retries failed notices on the next run."""
    from flows.wiring import DEADLINE_PROVIDERS  # the composition root imports this module

    return run_notifications(
        get_settings(), as_of, dry_run=dry_run, digest=digest, flow_run_id=flow_run_id,
        providers=DEADLINE_PROVIDERS,
    )


_WORDS = {
    "sv": {
        "dry": "Provkörning: inget skickat eller sparat",
        "head": "Aviseringar",
        "cols": "| nya | redan kända | skickade | meddelanden | ej levererade |",
        "list": "| mottagare (tagg) | ämne | nyckel |",
        "errors": "Fel (försöks igen vid nästa körning)",
    },
    "en": {
        "dry": "Dry run: nothing sent or recorded",
        "head": "Notices",
        "cols": "| new | already known | sent | messages | not delivered |",
        "list": "| recipient (tag) | subject | key |",
        "errors": "Errors (retried on the next run)",
    },
}


def summary_markdown(run: NotifyRun, lang: str = "sv") -> str:
    """The artifact a project manager reads: counts, then each notice of this run."""
    w = _WORDS.get(lang, _WORDS["sv"])
    r = run.report
    lines = [
        f"# {w['dry'] if run.dry_run else w['head']} {run.as_of.isoformat()}",
        "",
        w["cols"],
        "|---:|---:|---:|---:|---:|",
        f"| {r.queued if not run.dry_run else len(run.notices)} | {r.already} | {r.sent} "
        f"| {r.messages} | {r.failed} |",
        "",
    ]
    if run.notices:
        lines += [w["list"], "|---|---|---|"]
        for n in run.notices:
            subject = n.subject.replace("|", "/")
            lines.append(f"| {n.tag} | {subject} | `{n.key}` |")
    if r.errors:
        lines += ["", f"## {w['errors']}", ""]
        lines += [f"- {e}" for e in dict.fromkeys(r.errors)]
    return "\n".join(lines)


@flow(name="notify-milestones", log_prints=False)
@masked_errors
def notify_milestones(
    as_of: date | None = None, dry_run: bool = False, digest: bool | None = None
) -> dict[str, int]:
    """Notify people about milestones due, overdue and waiting for approval.

    Sends reminders before each milestone's date and on the day, reminders while it is late
    (escalated after a while), news of moved dates and of gates that opened or closed, and
    a note when a decision waits for a person. Swedish by default. `dry_run` shows what
    would be sent without sending or recording anything; `digest` sends one message per
    recipient group instead of one per notice (default from settings). The run fails when
    a notice could not be delivered; it stays in the outbox and goes out on the next run.
    """
    from prefect.runtime import flow_run

    logger = get_run_logger()
    settings = get_settings()
    day = as_of or clock_today(settings.timezone)
    run_id = str(flow_run.id) if flow_run.id else None
    run = decide_and_send(day, dry_run, digest, run_id)
    r = run.report
    logger.info(
        "Notices for %s: %d new, %d already known, %d sent, %d not delivered%s",
        day.isoformat(),
        r.queued if not run.dry_run else len(run.notices),
        r.already,
        r.sent,
        r.failed,
        " (dry run)" if dry_run else "",
    )
    for error in dict.fromkeys(r.errors):
        logger.warning("Not delivered, retried next run: %s", error)
    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown=summary_markdown(run, settings.language),
        description="Dagens aviseringar" if settings.language == "sv" else "Today's notices",
    )
    if r.failed:
        raise CheckFailed(
            f"{r.failed} notice(s) not delivered; they stay in the outbox and are retried on "
            f"the next run. First error: {r.errors[0] if r.errors else 'unknown'}"
        )
    return {
        "new": r.queued if not run.dry_run else len(run.notices),
        "already": r.already,
        "sent": r.sent,
        "messages": r.messages,
        "failed": r.failed,
    }


if __name__ == "__main__":
    notify_milestones(dry_run=True)
