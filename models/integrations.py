"""The integrations of SAMSA and how each is shut down: the catalogue in ``integrations.yaml``.

Every connection SAMSA has (Elvis, Befreg reserve numbers, the population register, SITHS/HSA,
En väg in, Utdata, …) is one :class:`Integration` with its counterpart, direction, protocol,
who depends on it, the gate of the successor's rollout it waits for, and its ordered
:class:`Step` list: announce → freeze → drain → observe silence → disable → revoke → confirm.

One step is the *point of no return*: before it every reversible step declares its ``undo``;
passing it needs the gate open and a person's recorded approval.

:func:`load_integrations` validates the whole file and raises
:class:`~models.errors.ValidationFailed` listing *every* problem as ``file:line: message``.
No Prefect here and no I/O beyond reading the file.
"""

from __future__ import annotations

import enum
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.errors import Problem, ValidationFailed

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
VAR_RE = re.compile(r"\$\{([^}]*)\}")
#: Variables every catalogue may use without declaring them.
BUILTIN_VARS = frozenset({"source_url"})
#: Environment variables overriding a catalogue variable: ``SAMSA_DECOM_VAR_<NAME>``.
VAR_ENV_PREFIX = "SAMSA_DECOM_VAR_"


class Phase(enum.StrEnum):
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
        return list(Phase).index(self)


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


class Action(BaseModel):
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


class Step(Action):
    """One step of an integration's shutdown."""

    id: str
    phase: Phase
    title: str = ""
    reversible: bool = False
    undo: Action | None = None
    check: Action | None = None
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
        from models.errors import InputError

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
                    from models.errors import InputError

                    raise InputError(f"environment variable {name} is not set (used as ${{{key}}})")
                return env[name]
            override = env.get(VAR_ENV_PREFIX + key.upper().replace("-", "_"))
            if override is not None:
                return override
            return self.variables[key]

        return VAR_RE.sub(sub, text)


# -- YAML with line numbers ---------------------------------------------------------------


@dataclass
class _Located:
    data: Any
    lines: dict[tuple[Any, ...], int]


def _compose_with_lines(text: str, where: str) -> tuple[_Located, list[Problem]]:
    """Parse YAML keeping the line of every key and item; report duplicate keys."""
    problems: list[Problem] = []
    lines: dict[tuple[Any, ...], int] = {}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problems.append(Problem(f"{where}{line}", f"not valid YAML: {exc}"))
        return _Located(None, lines), problems
    if root is None:
        return _Located(None, lines), problems

    constructor = yaml.SafeLoader("")

    def walk(node: yaml.Node, path: tuple[Any, ...]) -> Any:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for k_node, v_node in node.value:
                key = constructor.construct_object(k_node)  # scalar keys
                if key in out:
                    problems.append(
                        Problem(f"{where}:{k_node.start_mark.line + 1}", f"duplicate key {key!r}")
                    )
                lines[(*path, key)] = k_node.start_mark.line + 1
                out[key] = walk(v_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [walk(item, (*path, n)) for n, item in enumerate(node.value)]
        return constructor.construct_object(node, deep=True)

    return _Located(walk(root, ()), lines), problems


def _line(lines: dict[tuple[Any, ...], int], path: Iterable[Any]) -> int | None:
    p = tuple(path)
    while p:
        if p in lines:
            return lines[p]
        p = p[:-1]
    return lines.get(())


# -- validation ---------------------------------------------------------------------------


def load_integrations(path: Path, *, gate_names: Iterable[str] | None = None) -> Catalogue:
    """Load and validate an integrations catalogue; every problem is reported at once.

    ``gate_names``: the gates of the plan (``Plan.gates``); when given, an integration naming
    another gate is a problem.
    """
    where = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ValidationFailed(where, [Problem(where, f"cannot be read: {exc.strerror}")]) from exc
    return parse_integrations(text, where, gate_names=gate_names)


def parse_integrations(
    text: str, where: str = "integrations.yaml", *, gate_names: Iterable[str] | None = None
) -> Catalogue:
    """Validate catalogue ``text`` (see :func:`load_integrations`)."""
    located, problems = _compose_with_lines(text, where)
    data, lines = located.data, located.lines

    def at(path: Iterable[Any], message: str) -> None:
        line = _line(lines, path)
        problems.append(Problem(f"{where}:{line}" if line else where, message))

    if not isinstance(data, dict):
        if not problems:
            at((), "expected a mapping with `integrations:` (a list)")
        raise ValidationFailed(where, problems)
    for key in data:
        if key not in ("variables", "integrations"):
            at((key,), f"unknown key {key!r} (allowed: variables, integrations)")
    variables = data.get("variables") or {}
    if not isinstance(variables, dict) or not all(
        isinstance(v, str | int | float) for v in variables.values()
    ):
        at(("variables",), "`variables` must map names to text")
        variables = {}
    variables = {str(k): str(v) for k, v in variables.items()}
    raw = data.get("integrations")
    if not isinstance(raw, list) or not raw:
        at(("integrations",), "`integrations` must be a non-empty list")
        raise ValidationFailed(where, problems)

    parsed: list[tuple[int, Integration]] = []
    complete: set[int] = set()  # integrations whose every part validated
    for n, item in enumerate(raw):
        integ, ok = _validate_integration(item, ("integrations", n), at)
        if integ is not None:
            parsed.append((n, integ))
            if ok:
                complete.add(n)

    known_gates = set(gate_names) if gate_names is not None else None
    names: dict[str, int] = {}
    for n, integ in parsed:
        base = ("integrations", n)
        if not NAME_RE.match(integ.name):
            at((*base, "name"), f"name {integ.name!r}: use lowercase letters, digits and dashes")
        if integ.name in names:
            at((*base, "name"), f"duplicate integration name {integ.name!r}")
        names.setdefault(integ.name, n)
        if known_gates is not None and integ.gate is not None and integ.gate not in known_gates:
            at(
                (*base, "gate"),
                f"{integ.name}: unknown gate {integ.gate!r} (the plan has: "
                f"{', '.join(sorted(known_gates)) or 'no gates'})",
            )
        _check_steps(integ, base, at, variables, partial=n not in complete)

    for n, integ in parsed:
        for k, other in enumerate(integ.shutdown_after):
            if other not in names:
                at(
                    ("integrations", n, "shutdown_after", k),
                    f"{integ.name}: shutdown_after names unknown integration {other!r}",
                )
            elif other == integ.name:
                at(
                    ("integrations", n, "shutdown_after", k),
                    f"{integ.name}: cannot wait for itself",
                )
    graph: dict[str, list[str]] = {}
    for _, i in parsed:
        graph.setdefault(i.name, list(i.shutdown_after))
    for cycle in _cycles(graph):
        first = names[cycle[0]]
        at(
            ("integrations", first, "shutdown_after"),
            "dependency cycle: " + " → ".join([*cycle, cycle[0]]),
        )

    if problems:
        raise ValidationFailed(where, sorted(problems, key=_line_of))
    return Catalogue(variables=variables, integrations=[i for _, i in parsed], source=where)


def _validate_integration(
    item: Any, base: tuple[Any, ...], at: Any
) -> tuple[Integration | None, bool]:
    """Validate one integration part by part (its fields, then each step), so that a bad
    field does not hide the problems of the rest. Returns a best-effort model and whether
    everything validated."""
    if not isinstance(item, dict):
        at(base, "an integration must be a mapping (name, title, counterpart, …, steps)")
        return None, False
    ok = True
    steps: list[Step] = []
    raw_steps = item.get("steps")
    if raw_steps is not None and not isinstance(raw_steps, list):
        at((*base, "steps"), "`steps` must be a list")
        raw_steps, ok = [], False
    for k, raw_step in enumerate(raw_steps or []):
        try:
            steps.append(Step.model_validate(raw_step))
        except ValidationError as exc:
            ok = False
            for err in exc.errors():
                at((*base, "steps", k, *err["loc"]), _pydantic_message(err))
    header = {key: value for key, value in item.items() if key != "steps"}
    try:
        integ = Integration.model_validate(
            {**header, "steps": steps} if raw_steps is not None else header
        )
        return integ, ok
    except ValidationError as exc:
        bad_keys = set()
        for err in exc.errors():
            at((*base, *err["loc"]), _pydantic_message(err))
            bad_keys.add(err["loc"][0] if err["loc"] else None)
    fields = {
        key: value
        for key, value in header.items()
        if key in Integration.model_fields and key not in bad_keys
    }
    name = fields.get("name") if isinstance(fields.get("name"), str) else f"#{base[-1] + 1}"
    defaults = {
        "name": name,
        "title": "",
        "counterpart": "",
        "direction": Direction.both,
        "protocol": "",
    }
    return Integration.model_construct(**{**defaults, **fields, "steps": steps}), False


def _check_steps(
    integ: Integration,
    base: tuple[Any, ...],
    at: Any,
    variables: dict[str, str],
    *,
    partial: bool = False,
) -> None:
    steps = integ.steps
    ids = [s.id for s in steps]
    if not steps:
        if not partial:
            at((*base, "steps"), f"{integ.name}: no steps")
        return
    seen: set[str] = set()
    for k, s in enumerate(steps):
        if s.id in seen:
            at((*base, "steps", k, "id"), f"{integ.name}: duplicate step id {s.id!r}")
        seen.add(s.id)
    ponr_index: int | None = None
    if integ.point_of_no_return is None:
        at(base, f"{integ.name}: missing `point_of_no_return` (the step that cannot be undone)")
    elif integ.point_of_no_return not in ids and not partial:
        at(
            (*base, "point_of_no_return"),
            f"{integ.name}: point_of_no_return {integ.point_of_no_return!r} is not one of its "
            f"steps ({', '.join(ids)})",
        )
    else:
        ponr_index = ids.index(integ.point_of_no_return)

    last_rank = -1
    for k, s in enumerate(steps):
        path = (*base, "steps", k)
        label = f"{integ.name}.{s.id}"
        if s.phase.rank < last_rank:
            at(
                (*path, "phase"),
                f"{label}: phase {s.phase.value} comes after a later phase "
                f"(order: {', '.join(p.value for p in Phase)})",
            )
        last_rank = max(last_rank, s.phase.rank)
        _check_action(s, path, label, at, variables)
        if s.undo is not None:
            _check_action(s.undo, (*path, "undo"), f"{label} undo", at, variables)
            if s.undo.kind is StepKind.manual:
                at(
                    (*path, "undo"),
                    f"{label}: an undo cannot be manual (it runs during a "
                    "rollback, when nobody is asked)",
                )
        if s.check is not None:
            _check_action(s.check, (*path, "check"), f"{label} check", at, variables)
            if s.check.kind is StepKind.manual:
                at((*path, "check"), f"{label}: a check cannot be manual")
        if ponr_index is not None:
            if k < ponr_index and s.reversible and s.undo is None:
                at(
                    path,
                    f"{label}: declared reversible but has no `undo` (every reversible "
                    "step before the point of no return needs one)",
                )
            if k >= ponr_index and (s.reversible or s.undo is not None):
                at(
                    path,
                    f"{label}: at or after the point of no return a step cannot be "
                    "reversible or have an undo",
                )
        if not s.reversible and s.undo is not None:
            at((*path, "undo"), f"{label}: has an `undo` but is not declared `reversible: true`")
        if s.kind is not StepKind.manual and s.check is None and not s.idempotent:
            at(
                path,
                f"{label}: declare a `check` or `idempotent: true`, so a run killed in "
                "this step can tell whether to run it again",
            )
        if s.silent_days is not None and s.kind not in (StepKind.sql, StepKind.http):
            at(
                (*path, "silent_days"),
                f"{label}: silent_days needs a sql or http step that reports the last message time",
            )


def _check_action(
    a: Action, path: tuple[Any, ...], label: str, at: Any, variables: dict[str, str]
) -> None:
    if a.kind is StepKind.http:
        if not a.url:
            at(path, f"{label}: an http step needs `url`")
        elif not re.match(r"^(https?://|\$\{)", a.url):
            at((*path, "url"), f"{label}: url must start with http:// or https://")
        if a.method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"):
            at((*path, "method"), f"{label}: unknown HTTP method {a.method!r}")
    elif a.kind is StepKind.sql:
        if not (a.sql or "").strip():
            at(path, f"{label}: a sql step needs `sql`")
    elif a.kind is StepKind.command:
        if not a.command:
            at(path, f"{label}: a command step needs `command` (a list of arguments)")
    elif a.kind is StepKind.manual and not (a.instructions or "").strip():
        at(path, f"{label}: a manual step needs `instructions` for the person confirming it")
    texts = [a.url or "", a.sql or "", a.database, *(a.command or []), *a.headers.values()]
    for t in texts:
        for m in VAR_RE.finditer(t):
            key = m.group(1)
            if key in BUILTIN_VARS or key.startswith("env:") or key in variables:
                continue
            at(path, f"{label}: unknown variable ${{{key}}} (declare it under `variables`)")


def _line_of(p: Problem) -> int:
    tail = p.where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each dependency cycle once, starting at its first name in file order."""
    found: list[list[str]] = []
    seen_sets: set[frozenset[str]] = set()
    order = list(graph)

    def dfs(node: str, stack: list[str]) -> None:
        for nxt in graph.get(node, []):
            if nxt not in graph:
                continue
            if nxt in stack:
                cycle = stack[stack.index(nxt) :]
                key = frozenset(cycle)
                if key not in seen_sets and len(cycle) > 1:
                    seen_sets.add(key)
                    start = min(cycle, key=order.index)
                    i = cycle.index(start)
                    found.append(cycle[i:] + cycle[:i])
            elif len(stack) < len(graph):
                dfs(nxt, [*stack, nxt])

    for name in order:
        dfs(name, [name])
    return found


def _pydantic_message(err: Any) -> str:
    loc = ".".join(str(p) for p in err["loc"])
    typ = err["type"]
    parent = ".".join(str(p) for p in err["loc"][:-1])
    prefix = f"{parent}: " if parent else ""
    if typ == "extra_forbidden":
        return f"{prefix}unknown key {err['loc'][-1]!r}"
    if typ == "missing":
        return f"{prefix}missing `{err['loc'][-1]}`"
    if typ == "string_type" and isinstance(err.get("input"), bool):
        return f'{loc}: reads as yes/no ({err["input"]}); put the text in quotes, e.g. "off"'
    if typ == "enum":
        return f"{loc}: {err['msg'].lower()} (got {err.get('input')!r})"
    return f"{loc}: {err['msg']}"
