"""One exception family for the whole project.

Every error carries the facts a person needs to act: what is wrong and where. Validation
collects *every* problem first and raises once (like bagit-python), so a project manager fixes a
plan file in one pass instead of ten.

Exit codes used by the CLI: 0 ok, 1 a check or step failed, 2 bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class SamsaDecomError(Exception):
    """Base of every error this project raises on purpose. Exit code 1."""

    exit_code: int = 1


class InputError(SamsaDecomError):
    """The input (a file, an argument, an identity) is wrong. Exit code 2."""

    exit_code = 2


class CheckFailed(SamsaDecomError):
    """A verification, health check or step failed. Exit code 1."""

    exit_code = 1


class MaskedError(SamsaDecomError):
    """An error that left one of the project's tasks or flows, re-raised with its message
    masked (identities and credentials) and without the original attached, so Prefect logs
    and stores only the masked text. ``kind`` names the original exception's type."""

    def __init__(self, message: str, kind: str = "") -> None:
        super().__init__(message)
        self.kind = kind


class MaskedInputError(MaskedError, InputError):
    """A masked :class:`InputError` (exit code 2)."""


class MaskedCheckFailed(MaskedError, CheckFailed):
    """A masked :class:`CheckFailed` (exit code 1)."""


@dataclass(frozen=True)
class Problem:
    """One problem in an input, with its place (``file:line`` or a dotted path)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


@dataclass
class ValidationFailed(InputError):
    """An input has one or more problems; ``problems`` lists all of them."""

    subject: str
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{self.subject}: {n} problem{'s' if n != 1 else ''}"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])
