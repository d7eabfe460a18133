"""The CLI's own exit codes: usage mistakes are bad input (2), help is fine (0)."""

from __future__ import annotations

import pytest

from deploy.cli import main


@pytest.mark.parametrize(
    ("argv", "code", "says"),
    [
        (["--help"], 0, "Usage"),
        (["no-such-command"], 2, "No such command"),
        (["verify"], 2, "Missing argument"),
        (["audit", "verify", "--no-such-option"], 2, "No such option"),
    ],
)
def test_usage_mistakes_exit_2_with_a_message(
    argv: list[str], code: int, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == code
    captured = capsys.readouterr()
    assert says in captured.out + captured.err
