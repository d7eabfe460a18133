"""Reading YAML with a memory of where things are, so every problem can name its line.

:func:`read_yaml` parses a document once into plain Python data and a :class:`LineMap` from
each path (``("milestones", 4, "due")``) to the line it starts on. Duplicate keys in a mapping,
which YAML loaders silently overwrite, are reported as problems instead.

:func:`problems_from_pydantic` turns a pydantic ``ValidationError`` into :class:`Problem` s with
``file:line`` and a readable path such as ``milestones[4].depends_on``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import ValidationError

from models.errors import Problem

Path_ = tuple[str | int, ...]


_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when installed


class _Loader(_Base):  # type: ignore[misc]
    """Safe loader (C-accelerated when libyaml is there) that leaves dates as text, so an
    impossible date (2026-02-30) becomes a located validation problem instead of a crash
    inside the YAML library."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _norm(part: str | int) -> str | int:
    return part if isinstance(part, int) else str(part)


@dataclass
class LineMap:
    """Path → 1-based line number, for one source (a file name or a URL)."""

    source: str
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict)

    def line(self, path: Sequence[str | int]) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        key = tuple(_norm(p) for p in path)
        while True:
            if key in self.lines:
                return self.lines[key]
            if not key:
                return None
            key = key[:-1]

    def where(self, path: Sequence[str | int]) -> str:
        """``source:line`` for ``path`` (just ``source`` when no line is known)."""
        line = self.line(path)
        return f"{self.source}:{line}" if line is not None else self.source

    def problem(self, path: Sequence[str | int], message: str) -> Problem:
        """A problem at ``path``: ``source:line`` and ``dotted.path: message``."""
        dotted = format_path(path)
        return Problem(self.where(path), f"{dotted}: {message}" if dotted else message)


def format_path(path: Iterable[str | int]) -> str:
    """``("milestones", 4, "due")`` → ``milestones[4].due``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _walk(node: yaml.Node, path: Path_, lm: LineMap, problems: list[Problem]) -> None:
    lm.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(
                        f"{lm.source}:{line}",
                        f"{format_path((*path, key))}: duplicate key '{key}' "
                        f"(first at line {seen[key]}; YAML would silently keep only the last)",
                    )
                )
                continue
            seen[key] = line
            lm.lines[(*path, key)] = line
            _walk(value_node, (*path, key), lm, problems)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), lm, problems)


def read_yaml(text: str, source: str) -> tuple[Any, LineMap, list[Problem]]:
    """Parse ``text``; returns (data, line map, problems). A syntax error is a problem too."""
    lm = LineMap(source)
    problems: list[Problem] = []
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        problems.append(Problem(where, f"not valid YAML: {exc.problem or exc}"))
        return None, lm, problems
    except yaml.YAMLError as exc:
        problems.append(Problem(source, f"not valid YAML: {exc}"))
        return None, lm, problems
    if node is not None:
        _walk(node, (), lm, problems)
    return data, lm, problems


def _message(err: Mapping[str, Any]) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key (not part of the format; check the spelling)"
    if kind == "missing":
        return "required but missing"
    msg = str(err.get("msg", "invalid"))
    return msg.removeprefix("Value error, ")


def problems_from_pydantic(exc: ValidationError, lm: LineMap) -> list[Problem]:
    """Every pydantic error as a located problem (``file:line: path: message``)."""
    out: list[Problem] = []
    for err in exc.errors(include_url=False):
        loc = [p for p in err["loc"] if p != "[key]"]
        # tagged unions and function validators add non-path parts; keep only real ones
        path: list[str | int] = []
        for p in loc:
            if isinstance(p, int) or isinstance(p, str):
                path.append(p)
        out.append(lm.problem(path, _message(err)))
    return out
