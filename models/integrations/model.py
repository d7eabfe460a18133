"""The integrations catalogue's models: integrations, their shutdown steps and the calls those make.

Every connection SAMSA has is one :class:`Integration` with its counterpart, direction,
protocol, who depends on it, the gate of the successor's rollout it waits for, and its ordered
:class:`Step` list, each step in a :class:`ShutdownPhase` (announce → freeze → drain → observe
silence → disable → revoke → confirm). A step is a :class:`StepCall` (an http, sql, command or
manual call) that may carry an ``undo`` and a ``check`` call of its own.

One step is the *point of no return*: before it every reversible step declares its ``undo``;
passing it needs the gate open and a person's recorded approval.

:class:`Catalogue` is the whole file: its integrations, their shutdown order and the
``${…}`` variables the calls use (:meth:`Catalogue.resolve`).
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from models.errors import InputError

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
VAR_RE = re.compile(r"\$\{([^}]*)\}")
#: Variables every catalogue may use without declaring them.
BUILTIN_VARS = frozenset({"source_url"})
#: Environment variables overriding a catalogue variable: ``SAMSA_DECOM_VAR_<NAME>``.
VAR_ENV_PREFIX = "SAMSA_DECOM_VAR_"


class ShutdownPhase(enum.StrEnum):
    """What a step does in the shutdown, in the order the phases must come."""

    announce = "announce"  # tell the counterpart
    freeze = "freeze"  # read-only
    drain = "drain"  # nothing pending
    observe_silence = "observe_silence"  # no traffic for N days
    disable = "disable"
    revoke = "revoke"  # credentials and certificates
    confirm = "confirm"

    @property
    def rank(self) -> int:
        return list(ShutdownPhase).index(self)


class StepKind(enum.StrEnum):
    """How a step is carried out."""

    http = "http"  # call an admin endpoint, check the answer
    sql = "sql"  # a statement against SAMSA's database (or another URL)
    command = "command"  # a program, with a timeout
    manual = "manual"  # a person confirms through a Prefect form (or the CLI)


class Direction(enum.StrEnum):
    inbound = "inbound"  # the counterpart sends to SAMSA
    outbound = "outbound"  # SAMSA sends to the counterpart
    both = "both"


class StepCall(BaseModel):
    """One thing to do: the step itself, its ``undo`` or its ``check``.

    Fields by kind: ``http``: method, url, json, headers, expect_status, expect_body,
    timestamp_field; ``sql``: sql, database (default ``${source_url}``), expect_rows;
    ``command``: command (a list of arguments), expect_exit; ``manual``: instructions.
    ``timeout`` (seconds) applies to http, sql and command.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: StepKind
    # http
    method: str = "POST"
    url: str | None = None
    json_body: dict[str, Any] | None = Field(default=None, alias="json")
    headers: dict[str, str] = Field(default_factory=dict)
    expect_status: list[int] = Field(default_factory=lambda: [200, 201, 202, 204])
    expect_body: str | None = None
    timestamp_field: str = "last_message_at"
    # sql
    sql: str | None = None
    database: str = "${source_url}"
    expect_rows: int | None = None
    # command
    command: list[str] | None = None
    expect_exit: int = 0
    # manual
    instructions: str | None = None
    timeout: float = 30.0

    def describe(self) -> str:
        """A one-line description for rehearsals and artifacts (no secrets resolved)."""
        if self.kind is StepKind.http:
            return f"{self.method.upper()} {self.url}"
        if self.kind is StepKind.sql:
            return f"SQL on {self.database}: {' '.join((self.sql or '').split())}"
        if self.kind is StepKind.command:
            return "run " + " ".join(self.command or [])
        return f"a person confirms: {self.instructions or ''}".strip()


class Step(StepCall):
    """One step of an integration's shutdown."""

    id: str
    phase: ShutdownPhase
    title: str = ""
    reversible: bool = False
    undo: StepCall | None = None
    check: StepCall | None = None
    idempotent: bool = False
    silent_days: int | None = Field(default=None, ge=1)


class Integration(BaseModel):
    """One connection of SAMSA to another system, and how it is shut down."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str
    counterpart: str
    direction: Direction
    protocol: str
    depended_on_by: list[str] = Field(default_factory=list)
    shutdown_after: list[str] = Field(default_factory=list)
    gate: str | None = None
    waits_for: str = ""
    connected: bool = True
    point_of_no_return: str | None = None
    #: the notify tag of the person who approves the point of no return: the one-time code
    #: for the approval is sent there (tasks/decision_codes.py) and required with it
    approver_channel: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]+$")
    steps: list[Step]

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)

    @property
    def ponr_index(self) -> int:
        """Index of the point of no return in :attr:`steps`."""
        return [s.id for s in self.steps].index(self.point_of_no_return or "")

    def subject(self, step_id: str) -> str:
        """The ledger subject of a decision on one of this integration's steps."""
        return f"integration:{self.name}:{step_id}"


class Catalogue(BaseModel):
    """Every integration of SAMSA (the whole ``integrations.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variables: dict[str, str] = Field(default_factory=dict)
    integrations: list[Integration]
    source: str = ""

    def get(self, name: str) -> Integration:
        for i in self.integrations:
            if i.name == name:
                return i
        known = ", ".join(i.name for i in self.integrations)
        raise InputError(f"no integration named {name!r} in {self.source}; known: {known}")

    def shutdown_order(self) -> list[Integration]:
        """All integrations, each after those it must wait for (stable, file order otherwise)."""
        by_name = {i.name: i for i in self.integrations}
        done: list[str] = []
        seen: set[str] = set()

        def visit(name: str) -> None:
            if name in seen or name not in by_name:
                return
            seen.add(name)
            for before in by_name[name].shutdown_after:
                visit(before)
            done.append(name)

        for i in self.integrations:
            visit(i.name)
        return [by_name[n] for n in done]

    def resolve(
        self,
        text: str,
        *,
        source_url: str,
        env: Mapping[str, str] | None = None,
        secrets: bool = True,
    ) -> str:
        """Substitute ``${source_url}``, ``${var}`` and (when ``secrets``) ``${env:NAME}``.

        A catalogue variable may be overridden by ``SAMSA_DECOM_VAR_<NAME>`` in the
        environment. With ``secrets=False`` ``${env:…}`` stays as written (for display).
        """
        env = os.environ if env is None else env

        def sub(m: re.Match[str]) -> str:
            key = m.group(1)
            if key == "source_url":
                return source_url
            if key.startswith("env:"):
                if not secrets:
                    return m.group(0)
                name = key[4:]
                if name not in env:
                    raise InputError(f"environment variable {name} is not set (used as ${{{key}}})")
                return env[name]
            override = env.get(VAR_ENV_PREFIX + key.upper().replace("-", "_"))
            if override is not None:
                return override
            return self.variables[key]

        return VAR_RE.sub(sub, text)
