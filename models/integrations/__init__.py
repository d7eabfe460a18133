"""The integrations of SAMSA and how each is shut down: the catalogue in ``integrations.yaml``.

Every connection SAMSA has (Elvis, Befreg reserve numbers, the population register, SITHS/HSA,
En väg in, Utdata, …) is one :class:`Integration` with its ordered :class:`Step` list, from
announcing the shutdown to confirming it. The package's parts:

- :mod:`models.integrations.model`: the models (:class:`Catalogue`, :class:`Integration`,
  :class:`Step`, :class:`StepCall`, :class:`ShutdownPhase`, …) and variable resolution;
- :mod:`models.integrations.check`: the rules a shutdown's steps must keep (the point of no
  return, undo, check, phase order);
- :mod:`models.integrations.load`: :func:`load_integrations`, which validates the whole file
  and raises :class:`~models.errors.ValidationFailed` listing *every* problem as
  ``file:line: message``.

No Prefect here and no I/O beyond reading the file. Import from ``models.integrations``.
"""

from models.integrations.load import load_integrations, parse_integrations
from models.integrations.model import (
    VAR_RE,
    Catalogue,
    Direction,
    Integration,
    ShutdownPhase,
    Step,
    StepCall,
    StepKind,
)

__all__ = [
    "VAR_RE",
    "Catalogue",
    "Direction",
    "Integration",
    "ShutdownPhase",
    "Step",
    "StepCall",
    "StepKind",
    "load_integrations",
    "parse_integrations",
]
