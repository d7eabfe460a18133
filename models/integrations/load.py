"""Loading the integrations catalogue (``integrations.yaml``), every problem at once with its line.

:func:`load_integrations` (a path) and :func:`parse_integrations` (YAML text) validate the
whole file and raise one :class:`~models.errors.ValidationFailed` listing *every* problem as
``file:line: message``, sorted by line: YAML syntax and duplicate keys (through
:mod:`models.yamlsource`), field errors (each integration is validated part by part, so one
bad field does not hide the rest), duplicate names, unknown gates, ``shutdown_after`` naming
unknown integrations or forming a cycle (through :mod:`models.graph`), and the step rules of
:mod:`models.integrations.check`.

No Prefect here and no I/O beyond reading the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from models.errors import Problem, ValidationFailed
from models.graph import find_cycles
from models.integrations.check import At, check_steps
from models.integrations.model import NAME_RE, Catalogue, Direction, Integration, Step
from models.yamlsource import read_yaml


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
    data, lines, problems = read_yaml(text, where)

    def at(path: Sequence[Any], message: str) -> None:
        problems.append(Problem(lines.where(path), message))

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
        check_steps(integ, base, at, variables, partial=n not in complete)
    _check_shutdown_order(parsed, names, at)

    if problems:
        raise ValidationFailed(where, sorted(problems, key=_line_of))
    return Catalogue(variables=variables, integrations=[i for _, i in parsed], source=where)


def _check_shutdown_order(
    parsed: list[tuple[int, Integration]], names: dict[str, int], at: At
) -> None:
    """``shutdown_after`` names known integrations other than itself, and forms no cycle."""
    graph: dict[str, list[str]] = {}
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
        graph.setdefault(integ.name, [o for o in integ.shutdown_after if o != integ.name])
    in_file_order = list(graph)
    for cycle in find_cycles(graph, first=in_file_order.index):
        at(
            ("integrations", names[cycle[0]], "shutdown_after"),
            "dependency cycle: " + " → ".join(cycle),
        )


def _validate_integration(
    item: Any, base: tuple[Any, ...], at: At
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


def _line_of(p: Problem) -> int:
    tail = p.where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


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
