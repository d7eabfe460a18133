"""Mask every error before Prefect sees it: :func:`masked_errors` wraps each task and flow.

When an exception leaves a task or a flow, Prefect logs ``repr(exc)`` and its traceback and
stores the message in the run's state, in its database, for as long as the run is kept. An
action's error may quote a cell value (lxml does), a personnummer or a database URL with its
password. So every ``@task`` and ``@flow`` of this project is written

    @flow(name="…")
    @masked_errors
    def my_flow(…): …

and an exception that leaves it is re-raised as a :class:`models.errors.MaskedError` whose
message has identities masked (:func:`models.identity.scrub_identities`) and credentials
replaced (:func:`scrub_credentials`), with no original attached (neither ``__cause__`` nor
``__context__``, so no traceback frame or chained message carries the raw text). A project
error keeps its family (an :class:`InputError` stays one, exit code 2); anything else is
named by its type in the message. Prefect's own signals (pause, suspend, abort) are
``BaseException`` and pass through untouched. ``tests/test_masked_errors.py`` checks that
every flow in ``flows/wiring.py`` and every task those modules define is wrapped.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from models.errors import (
    CheckFailed,
    InputError,
    MaskedCheckFailed,
    MaskedError,
    MaskedInputError,
    SamsaDecomError,
)
from models.identity import scrub_identities

P = ParamSpec("P")
R = TypeVar("R")

#: ``scheme://user:password@host`` → ``scheme://user:***@host``.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/?#@:]*:)[^\s/?#@]*(?=@)")
#: ``password=…``, ``pwd: …``, ``secret=…``, ``token=…`` up to the next space, quote, ``;``/``&``.
_KEY_VALUE = re.compile(
    r"(?P<head>\b(?:password|passwd|pwd|secret|token|api[_-]?key)\b\s*[=:]\s*['\"]?)"
    r"[^\s'\";&,)]+",
    re.IGNORECASE,
)

#: The longest message kept (Prefect shows it in the run's state).
MESSAGE_LIMIT = 2000


def scrub_credentials(text: str) -> str:
    """``text`` with the password of every URL and every ``password=…``-style value replaced
    by ``***``."""
    text = _URL_PASSWORD.sub(lambda m: m.group("head") + "***", text)
    return _KEY_VALUE.sub(lambda m: m.group("head") + "***", text)


def masked_message(exc: BaseException) -> str:
    """The exception's message with identities and credentials masked, prefixed by its type
    unless it is one of the project's own errors."""
    text = str(exc)
    if not isinstance(exc, SamsaDecomError):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return scrub_identities(scrub_credentials(text), limit=MESSAGE_LIMIT)


def masked(exc: Exception) -> MaskedError:
    """The masked stand-in for ``exc``, in the same family of project errors."""
    message, kind = masked_message(exc), type(exc).__name__
    if isinstance(exc, InputError):
        return MaskedInputError(message, kind)
    if isinstance(exc, CheckFailed):
        return MaskedCheckFailed(message, kind)
    return MaskedError(message, kind)


def masked_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` whose exceptions leave it masked (see the module's docstring)."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except MaskedError:
            raise
        except Exception as exc:  # noqa: BLE001 - every error is masked, then raised again
            failure = masked(exc)
        raise failure from None  # outside the handler: no __context__ either

    # Prefect builds a flow's parameter model from the signature, resolving string annotations
    # in the wrapper's module: hand it the signature resolved in ``fn``'s own module.
    wrapper.__signature__ = inspect.signature(fn, eval_str=True)  # type: ignore[attr-defined]
    wrapper.__masks_errors__ = True  # type: ignore[attr-defined]
    return wrapper


def masks_errors(fn: Callable[..., object]) -> bool:
    """Whether ``fn`` is wrapped by :func:`masked_errors`."""
    return bool(getattr(fn, "__masks_errors__", False))
