"""Settings, read from the environment (prefix ``SAMSA_DECOM_``) or a ``.env`` file.

One cached object: call :func:`get_settings`; nothing is read at import time.
Tests that change the environment call ``get_settings.cache_clear()``.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from models.errors import InputError

#: The repository's ``deploy/plan`` folder (plan data shipped with the package).
PLAN_DIR = Path(__file__).resolve().parent.parent / "deploy" / "plan"


class Settings(BaseSettings):
    """Everything an operator may configure. Each field is ``SAMSA_DECOM_<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="SAMSA_DECOM_", env_file=".env", extra="ignore", env_file_encoding="utf-8"
    )

    home: Path = Field(
        default=Path("var"),
        description="Working folder: ledger file, demo database, packages, extracts, Prefect home.",
    )
    ledger_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the ledger. Default: a SQLite file in `home`.",
    )
    audit_key: SecretStr | None = Field(
        default=None,
        description="The key that chains the ledger's audit entries (HMAC). Kept outside the "
        "ledger; the ledger records only its id. At least 32 characters.",
    )
    audit_heads: Path | None = Field(
        default=None,
        description="Append-only file where the audit chain's head is published. "
        "Default: `audit-heads.jsonl` in `home`.",
    )
    audit_heads_tag: str = Field(
        default="revision", description="Notice tag the audit chain's heads are sent to."
    )
    plan_path: Path = Field(default=PLAN_DIR / "samsa-phaseout.yaml")
    rollout_source: str = Field(
        default=str(PLAN_DIR / "rollout.yaml"),
        description="Where the successor's rollout status comes from: a YAML file path, an "
        "http(s):// URL answering JSON, or `variable:NAME` for a Prefect Variable.",
    )
    integrations_path: Path = Field(default=PLAN_DIR / "integrations.yaml")
    integration_approval_timeout_seconds: int = Field(
        default=3600,
        description="How long an integration shutdown run waits in its approval form "
        "before it ends with the integration waiting.",
    )
    source_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of SAMSA's database (the synthetic demo database by default).",
    )
    archive_dir: Path | None = None
    extracts_dir: Path | None = None
    drops_path: Path = Field(default=PLAN_DIR / "drops.yaml", description="Extract drops file.")
    extract_person_source: Literal["auto", "live", "archive"] = Field(
        default="auto", description="Person extracts: auto = live db if it answers, else archive."
    )
    person_request_retention_days: int = Field(
        default=365,
        ge=1,
        description="How long a person request's identity stays in the ledger after the "
        "request was answered (then `samsa-decom extract purge` deletes it).",
    )
    person_index_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="The secret key of the archive packages' person index (at least 32 "
        "characters, kept outside every package; a package records only its id). Without it "
        "the index holds no person keys and a lookup reads the package's person table.",
    )
    apprise_config: Path | None = Field(
        default=None, description="An apprise configuration file (YAML) with tagged URLs."
    )
    apprise_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Where notices go: one apprise URL, several separated by commas, or a "
        "JSON list.",
    )
    language: Literal["sv", "en"] = "sv"
    timezone: str = "Europe/Stockholm"
    milestone_approval_timeout_days: int = Field(
        default=7,
        ge=1,
        description="How long a confirm-milestone run waits for a person's decision "
        "before it gives up (the reconciler asks again).",
    )
    decision_code_valid_hours: int = Field(
        default=72,
        ge=1,
        le=24 * 30,
        description="How long a one-time decision code sent to an approver's channel is good "
        "for (it is void sooner when its wait ends); the reconciler sends a new one after.",
    )
    extract_approver_channel: str | None = Field(
        default="godkannare-registerutdrag",
        description="The notify tag of the person who decides on releasing a registerutdrag: "
        "when a case's secrecy review begins (or changes), a one-time code goes to the "
        "channels tagged with it, and the release's approval counts only with that code. "
        "Empty: no code (only for a trial; doctor warns).",
    )
    approval_poll_seconds: int = Field(
        default=10,
        ge=1,
        description="How often a paused confirm-milestone run checks whether it was resumed.",
    )
    ui_url: str = Field(
        default="http://127.0.0.1:4200", description="Prefect UI address used in links."
    )
    # -- notifications (owner: notify) --
    notify_thresholds: Annotated[list[int], NoDecode] = Field(
        default=[30, 14, 7, 1], description="Days before a due date when a reminder goes out."
    )
    notify_overdue_every_days: int = Field(default=7, ge=1, description="Overdue: every N days.")
    notify_escalate_after_days: int = Field(default=14, ge=0, description="Days late: escalate.")
    notify_escalation_tag: str = Field(default="eskalering", description="Escalation tag.")
    notify_default_tag: str = Field(default="projektledning", description="Tag when none is set.")
    notify_digest: bool = Field(default=False, description="One message per tag per run.")
    notify_slip_min_days: int = Field(default=14, ge=1, description="Moves this big: told.")
    notify_pause_webhook_url: str | None = Field(
        default=None, description="Webhook the 'flow run waits for a person' automation calls."
    )

    @field_validator("audit_key")
    @classmethod
    def _a_long_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("apprise_urls", "notify_thresholds", mode="before")
    @classmethod
    def _a_list(cls, value: Any) -> Any:
        """A list from the environment: ``a,b``, a single value, or a JSON list."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                raise ValueError("starts with '[' but is not a JSON list") from None
        return [part.strip() for part in text.split(",") if part.strip()]

    def resolved_ledger_url(self) -> str:
        if self.ledger_url:
            return self.ledger_url
        return f"sqlite:///{(self.home / 'ledger.sqlite').resolve()}"

    def audit_key_bytes(self) -> bytes | None:
        """The audit key as bytes, or None when none is configured."""
        return self.audit_key.get_secret_value().encode("utf-8") if self.audit_key else None

    def resolved_audit_heads(self) -> Path:
        return self.audit_heads or self.home / "audit-heads.jsonl"

    def resolved_source_url(self) -> str:
        if self.source_url:
            return self.source_url
        return f"sqlite:///{(self.home / 'samsa-demo.sqlite').resolve()}"

    def resolved_archive_dir(self) -> Path:
        return self.archive_dir or self.home / "archive"

    def resolved_extracts_dir(self) -> Path:
        return self.extracts_dir or self.home / "extracts"


#: Settings whose names changed: an old name in the environment is an error, not ignored.
RENAMED = {
    "SAMSA_DECOM_APPROVAL_TIMEOUT_SECONDS": "SAMSA_DECOM_INTEGRATION_APPROVAL_TIMEOUT_SECONDS",
    "SAMSA_DECOM_APPROVAL_TIMEOUT_DAYS": "SAMSA_DECOM_MILESTONE_APPROVAL_TIMEOUT_DAYS",
}


#: A database URL given as a flow parameter (rehearsals only). Prefect's server checks a
#: parameter's `pattern` before it creates a run, so a URL with a password
#: (`scheme://user:password@host/…`) is refused there and never stored; the flow itself also
#: calls :func:`refuse_password_in` for runs started without the server's check.
SourceUrlParameter = Annotated[
    str | None, Field(json_schema_extra={"pattern": r"^(?![^:/?#]+://[^/?#@]*:[^/?#@]*@)"})
]


def refuse_overrides(rehearse: bool, **given: object) -> None:
    """Flow parameters that change what a run relies on (the day, the plan, the rollout
    source) are for rehearsals only: a real run (``rehearse`` false) given any of them is
    refused with :class:`InputError` naming them. A real run acts on today, the configured
    plan and the configured rollout source, never on what someone typed in the UI."""
    named = [name for name, value in given.items() if value not in (None, "")]
    if named and not rehearse:
        raise InputError(
            f"a real run takes no {', '.join(named)}: overrides are for rehearsals "
            "(rehearse=true); a real run acts on today and the configured plan and rollout source"
        )


def refuse_password_in(url: str | None, parameter: str) -> str | None:
    """``url`` as given when it carries no password; otherwise :class:`InputError`.

    For flow parameters: Prefect stores a run's parameters and shows them in the UI, so a
    database URL with its password belongs in ``SAMSA_DECOM_SOURCE_URL``, which the flow reads.
    """
    if not url:
        return url
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        password = make_url(url).password
    except ArgumentError:
        raise InputError(f"{parameter}: not a database URL") from None
    if password:
        raise InputError(
            f"{parameter}: a URL with a password may not be a flow parameter (Prefect stores and "
            "shows parameters); set SAMSA_DECOM_SOURCE_URL and leave the parameter empty"
        )
    return url


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (cached).

    A setting that cannot be read raises :class:`InputError` naming the environment variable,
    what it expects, and never the value (it may be a password).
    """
    import os

    renamed = [f"{old} is now {new}" for old, new in RENAMED.items() if old in os.environ]
    if renamed:
        raise InputError("renamed settings: " + "; ".join(renamed))
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            name = "SAMSA_DECOM_" + str(e["loc"][0]).upper() if e["loc"] else "a setting"
            problems.append(f"{name}: {_expects(e)}")
        raise InputError("; ".join(problems)) from None
    except SettingsError as exc:
        raise InputError(f"settings: {exc}") from None


def _expects(error: Any) -> str:
    """What a setting expects, from a pydantic error (without echoing the value)."""
    ctx = error.get("ctx") or {}
    if error.get("type") == "literal_error" and "expected" in ctx:
        return f"expected one of {ctx['expected']}"
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")
