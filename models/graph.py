"""Dependency cycles in a graph of names, found once each and named in a readable order.

The plan (milestones that depend on or date from each other) and the integrations catalogue
(integrations shut down after others) both refuse cycles and name them, e.g.
``dependency cycle: a → c → b → a``. :func:`find_cycles` is their one cycle finder: an
iterative depth-first search (a chain of thousands of names cannot exhaust Python's recursion
limit) that reports each cycle it meets once, rotated to start at its first name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any


def find_cycles(
    graph: Mapping[str, Sequence[str]], first: Callable[[str], Any] | None = None
) -> list[list[str]]:
    """Each cycle met by depth-first search, once, as a closed walk ``[a, b, a]``.

    ``graph`` maps a name to the names it depends on; names that are not keys are ignored (an
    unknown name is its caller's problem to report). A cycle starts at its smallest name by
    ``first`` (default: the name itself, i.e. alphabetical). A name depending on itself is the
    cycle ``[a, a]``.
    """
    cycles: list[list[str]] = []
    seen_keys: set[tuple[str, ...]] = set()
    color: dict[str, int] = {}  # 1 on the current path, 2 finished
    for root in graph:
        if root in color:
            continue
        path: list[str] = [root]
        color[root] = 1
        iters = [iter(graph.get(root, []))]
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                color[path.pop()] = 2
                iters.pop()
                continue
            if nxt not in graph:
                continue
            state = color.get(nxt)
            if state == 1:
                cyc = path[path.index(nxt) :]
                i = cyc.index(min(cyc, key=first))  # type: ignore[type-var]
                key = tuple(cyc[i:] + cyc[:i])
                if key not in seen_keys:
                    seen_keys.add(key)
                    cycles.append([*key, key[0]])
            elif state is None:
                color[nxt] = 1
                path.append(nxt)
                iters.append(iter(graph.get(nxt, [])))
    return cycles
