"""The rollout from its three sources (YAML file, HTTP JSON, Prefect Variable), validated alike."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from models.errors import ValidationFailed
from models.rollout import StageStatus, rollout_to_data
from models.settings import PLAN_DIR
from tasks.rollout_source import load_rollout

REAL = PLAN_DIR / "rollout.yaml"


def test_real_rollout_is_the_plan_of_may_2022_and_the_pause() -> None:
    r = load_rollout(REAL)
    assert [s.id for s in r.stages] == ["etapp-1", "etapp-2", "etapp-3", "etapp-4"]
    first = r.stages[0]
    assert first.actual_go_live == date(2024, 11, 12) and first.paused_on == date(2024, 11, 15)
    assert all(s.status is StageStatus.paused for s in r.stages)
    assert r.areas == ["south", "north", "east", "west"]
    assert r.restart_notice_days == 120
    municipalities = {o for s in r.stages for o in s.organisations if not o.startswith("VGR")}
    assert len(municipalities) == 49
    assert r.source == "rollout.yaml"


def test_every_problem_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "r.yaml"
    bad.write_text(
        "functions: {sip: SIP}\n"
        "stages:\n"
        "  - id: a\n"
        "    name: A\n"
        "    areas: [south]\n"
        "    status: live\n"  # live without actual_go_live
        "  - id: a\n"  # duplicate
        "    name: B\n"
        "    areas: [middle]\n"  # unknown area
        "    functions: [sip, fax]\n"  # unknown function
        "    planned_go_live: 2026-02-30\n"  # impossible date
        "    colour: blue\n",  # unknown key
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as info:
        load_rollout(bad)
    found = [str(p) for p in info.value.problems]
    expected = [
        "r.yaml:7: stages[1].id: duplicate stage id 'a' (first at stages[0])",
        "r.yaml:10: stages[1].functions[1]: unknown function 'fax' (known: sip)",
        "r.yaml:3: stages[0]: status 'live' needs actual_go_live (the date it went live)",
        "r.yaml:9: stages[1].areas[0]: Input should be 'south', 'north', 'east' or 'west'",
        "r.yaml:11: stages[1].planned_go_live: Input should be a valid date or datetime, "
        "day value is outside expected range",
        "r.yaml:12: stages[1].colour: unknown key (not part of the format; check the spelling)",
    ]
    assert sorted(found) == sorted(expected), found


def test_paused_without_date_and_paused_before_live(tmp_path: Path) -> None:
    bad = tmp_path / "r.yaml"
    bad.write_text(
        "stages:\n"
        "  - {id: a, name: A, areas: [south], status: paused}\n"
        "  - {id: b, name: B, areas: [west], status: paused, actual_go_live: 2026-05-01,\n"
        "     paused_on: 2026-04-01}\n",
        encoding="utf-8",
    )
    with pytest.raises(ValidationFailed) as info:
        load_rollout(bad)
    found = [str(p) for p in info.value.problems]
    assert found == [
        "r.yaml:2: stages[0]: status 'paused' needs paused_on (the date it was paused)",
        "r.yaml:3: stages[1]: impossible dates: paused_on 2026-04-01 is before actual_go_live "
        "2026-05-01",
    ]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="rollout file not found"):
        load_rollout(tmp_path / "none.yaml")


# -- HTTP ----------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, tuple[int, bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        status, body = self.routes.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_json_gives_the_same_rollout(http_server: str) -> None:
    real = load_rollout(REAL)
    _Handler.routes = {
        "/rollout": (200, json.dumps(rollout_to_data(real)).encode()),
        "/broken": (
            200,
            json.dumps(
                {"stages": [{"id": "x", "name": "X", "areas": ["south"], "status": "sometime"}]}
            ).encode(),
        ),
        "/html": (200, b"<html>"),
        "/down": (503, b"{}"),
    }
    fetched = load_rollout(f"{http_server}/rollout")
    assert fetched.stages == real.stages and fetched.functions == real.functions
    assert fetched.source == f"{http_server}/rollout"

    with pytest.raises(ValidationFailed) as info:
        load_rollout(f"{http_server}/broken")
    assert [str(p) for p in info.value.problems] == [
        f"{http_server}/broken: stages[0].status: Input should be 'planned', 'live', 'paused' "
        "or 'cancelled'"
    ]
    with pytest.raises(ValidationFailed, match="did not answer JSON"):
        load_rollout(f"{http_server}/html")
    with pytest.raises(ValidationFailed, match=r"/down: rollout endpoint answered HTTP 503"):
        load_rollout(f"{http_server}/down")


def test_http_unreachable_names_url_and_cause() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/rollout"
    with pytest.raises(ValidationFailed) as info:
        load_rollout(url, timeout=2)
    text = str(info.value)
    assert url in text and "ConnectError" in text


# -- Prefect Variable ----------------------------------------------------------------------


@pytest.mark.prefect
def test_prefect_variable(prefect_harness: None) -> None:
    from prefect.variables import Variable

    real = load_rollout(REAL)
    Variable.set("samsa-rollout-test", rollout_to_data(real), overwrite=True)
    fetched = load_rollout("variable:samsa-rollout-test")
    assert fetched.stages == real.stages
    assert fetched.source == "variable:samsa-rollout-test"

    Variable.set("samsa-rollout-text", json.dumps(rollout_to_data(real)), overwrite=True)
    assert load_rollout("variable:samsa-rollout-text").stages == real.stages

    Variable.set("samsa-rollout-bad", {"stages": [{"id": "x"}]}, overwrite=True)
    with pytest.raises(ValidationFailed) as info:
        load_rollout("variable:samsa-rollout-bad")
    found = {str(p) for p in info.value.problems}
    assert found == {
        "variable:samsa-rollout-bad: stages[0].name: required but missing",
        "variable:samsa-rollout-bad: stages[0].areas: required but missing",
    }
    with pytest.raises(ValidationFailed, match="does not exist"):
        load_rollout("variable:samsa-rollout-nowhere")


@pytest.mark.prefect
def test_prefect_variable_from_inside_an_async_flow(prefect_harness: None) -> None:
    """An async flow (an event loop is running) still gets a Rollout, not a coroutine."""
    import asyncio

    from prefect import flow
    from prefect.variables import Variable

    Variable.set("samsa-rollout-async", rollout_to_data(load_rollout(REAL)), overwrite=True)

    @flow
    async def read_rollout() -> int:
        return len(load_rollout("variable:samsa-rollout-async").stages)

    assert asyncio.run(read_rollout()) == 4
