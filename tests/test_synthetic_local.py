"""The synthetic database stays on this machine (issue 16 §5): its identity numbers are valid
and may be real people's, so ``demo-data`` writes only to SQLite or a loopback server."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.cli import main
from models.errors import InputError
from tasks.synthetic import generate
from tasks.synthetic.local import require_local_target


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:///demo.sqlite",
        "postgresql+psycopg://postgres@127.0.0.1:5432/samsa",
        "postgresql+psycopg://postgres@127.0.0.2/samsa",
        "postgresql+psycopg://postgres@localhost/samsa",
        "postgresql+psycopg://postgres@[::1]:5432/samsa",
        "postgresql+psycopg://postgres@/samsa?host=/run/postgresql",
        "mysql+pymysql://root@127.0.0.1:3306/samsa",
    ],
)
def test_this_machine_is_accepted(url: str) -> None:
    require_local_target(url)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("postgresql+psycopg://postgres@db.example.org/samsa", "db.example.org"),
        ("mysql+pymysql://root@10.0.0.5:3306/samsa", "10.0.0.5"),
        # tricks: a loopback-looking name, a host list in the query that libpq prefers
        ("postgresql+psycopg://postgres@127.0.0.1.example.org/samsa", "127.0.0.1.example.org"),
        ("postgresql+psycopg://postgres@127.0.0.1/samsa?host=db.example.org", "db.example.org"),
        ("postgresql+psycopg://postgres@/samsa?host=/run/pg,db.example.org", "db.example.org"),
        ("postgresql+psycopg://postgres@localhost/samsa?hostaddr=192.0.2.7", "192.0.2.7"),
    ],
)
def test_another_host_is_refused_by_name(url: str, host: str) -> None:
    with pytest.raises(InputError) as caught:
        require_local_target(url)
    said = str(caught.value)
    assert f"host {host!r} is not this machine" in said and "--allow-remote" in said


def test_the_refusal_does_not_echo_a_password() -> None:
    with pytest.raises(InputError) as caught:
        require_local_target("postgresql+psycopg://svc:hemligt-123@db.example.org/samsa")
    assert "hemligt" not in str(caught.value)


def test_allow_remote_is_an_explicit_choice() -> None:
    require_local_target("postgresql+psycopg://u@db.example.org/samsa", allow_remote=True)


def test_generate_refuses_before_it_connects_to_anything() -> None:
    # db.invalid can never resolve: a refusal here is the guard, not a failed connection
    with pytest.raises(InputError, match="'db.invalid' is not this machine"):
        generate("postgresql+psycopg://u@db.invalid/samsa", scale=100, seed=1)


def test_demo_data_refuses_a_remote_target_in_one_line_and_makes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo-data", "--url", "postgresql+psycopg://u:pw@db.invalid/samsa",
                 "--scale", "100"])  # fmt: skip
    said = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in said.out + said.err
    lines = [line for line in said.err.splitlines() if line.strip()]
    assert len(lines) == 1 and "'db.invalid' is not this machine" in lines[0]
    assert ":pw@" not in said.err


def test_demo_data_on_sqlite_still_works_and_is_marked_synthetic(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    db = tmp_path / "demo" / "samsa.sqlite"
    assert main(["demo-data", "--url", f"sqlite:///{db}", "--scale", "300"]) == 0
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as c:
        assert c.execute(text("SELECT synthetic FROM dataset_info")).scalar_one() in (1, True)
    engine.dispose()
