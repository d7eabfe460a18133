"""Where the successor's rollout status is read from: a file, an https URL or a Prefect Variable.

:func:`load_rollout` takes the ``rollout_source`` setting and gives the same validated
:class:`~models.rollout.Rollout` from each of three sources:

- a YAML (or ``.json``) file path (``deploy/plan/rollout.yaml``), problems named by
  ``file:line``;
- an ``http://`` or ``https://`` URL answering JSON;
- ``variable:NAME``: a Prefect Variable holding the same structure, so a project manager can
  edit it in the Prefect UI.

This is the edge adapter (network and Prefect API); the models and their validation stay in
:mod:`models.rollout`. Every failure is a :class:`~models.errors.ValidationFailed` naming the
source.
"""

from __future__ import annotations

import json
from pathlib import Path

from models.errors import Problem, ValidationFailed
from models.rollout import Rollout, parse_rollout, rollout_from_yaml_text
from models.yamlsource import LineMap


def _from_http(url: str, timeout: float) -> Rollout:
    import httpx

    try:
        resp = httpx.get(
            url, timeout=timeout, follow_redirects=True, headers={"Accept": "application/json"}
        )
        resp.raise_for_status()
    except httpx.HTTPStatusError as exc:
        raise ValidationFailed(
            url, [Problem(url, f"rollout endpoint answered HTTP {exc.response.status_code}")]
        ) from None
    except httpx.HTTPError as exc:
        cause = type(exc).__name__
        raise ValidationFailed(
            url, [Problem(url, f"cannot fetch rollout status ({cause}: {exc})")]
        ) from None
    try:
        data = resp.json()
    except (json.JSONDecodeError, ValueError) as exc:
        raise ValidationFailed(
            url, [Problem(url, f"rollout endpoint did not answer JSON: {exc}")]
        ) from None
    return parse_rollout(data, LineMap(url))


def _from_variable(name: str) -> Rollout:
    from prefect.variables import Variable  # lazily: importing this module stays cheap

    where = f"variable:{name}"
    try:
        # _sync: the plain call even when the caller runs inside an event loop (async flows)
        value = Variable.get(name, default=None, _sync=True)  # type: ignore[call-overload]
    except Exception as exc:  # noqa: BLE001 - any failure to reach the API is named
        raise ValidationFailed(
            where, [Problem(where, f"cannot read Prefect Variable '{name}': {exc}")]
        ) from None
    if value is None:
        raise ValidationFailed(where, [Problem(where, f"Prefect Variable '{name}' does not exist")])
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(
                where, [Problem(where, f"Prefect Variable '{name}' is not JSON: {exc}")]
            ) from None
    return parse_rollout(value, LineMap(where))


def load_rollout(source: str | Path, *, timeout: float = 10.0) -> Rollout:
    """The rollout from a YAML path, an http(s) URL answering JSON, or ``variable:NAME``."""
    text_source = str(source)
    if text_source.startswith(("http://", "https://")):
        return _from_http(text_source, timeout)
    if text_source.startswith("variable:"):
        name = text_source.removeprefix("variable:").strip()
        if not name:
            raise ValidationFailed(text_source, [Problem(text_source, "no variable name")])
        return _from_variable(name)
    path = Path(text_source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationFailed(
            text_source, [Problem(text_source, "rollout file not found")]
        ) from None
    except OSError as exc:
        raise ValidationFailed(text_source, [Problem(text_source, f"cannot read: {exc}")]) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(
                path.name, [Problem(f"{path.name}:{exc.lineno}", f"not valid JSON: {exc.msg}")]
            ) from None
        return parse_rollout(data, LineMap(path.name))
    return rollout_from_yaml_text(text, path.name)
