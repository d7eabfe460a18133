"""What samsa-decom writes is readable by its own user only, whatever the umask.

Run as a new user would, with the usual umask 022: make the demo database, archive it, write
and deliver every organisation's bag, register a request from standard input and answer it.
Then walk SAMSA_DECOM_HOME and every output folder: nothing may be open to group or others.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _cli(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "deploy.cli", *args],
        cwd=REPO, env=env, input=stdin, capture_output=True, text=True, timeout=600,
        umask=0o022,
    )  # fmt: skip
    assert result.returncode == 0, f"{args[0]} failed: {result.stderr[-2000:]}"
    return result.stdout


def open_to_others(*roots: Path) -> list[str]:
    """Every file or folder under ``roots`` (and the roots) that group or others may use."""
    found = []
    for root in roots:
        for path in [root, *root.rglob("*")]:
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and mode & 0o077:
                found.append(f"{oct(stat.S_IMODE(mode))} {path.relative_to(root.parent)}")
    return found


def test_everything_written_is_private_under_umask_022(tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "out"
    env = {**os.environ, "SAMSA_DECOM_HOME": str(home), "PYTHONPATH": str(REPO),
           "COLUMNS": "200"}  # fmt: skip
    env.pop("SAMSA_DECOM_SOURCE_URL", None)
    source = f"sqlite:///{home / 'samsa-demo.sqlite'}"

    _cli("upgrade-ledger", env=env)  # a new user's first step, as the README says
    _cli("demo-data", "--url", source, "--scale", "2000", "--seed", "3", env=env)
    package = _cli("archive", "--source", source, "--out", str(out / "archive"), env=env)
    _cli("extract", "orgs", "--source", source, "--out", str(out / "bags"), "--deliver", env=env)
    con = sqlite3.connect(home / "samsa-demo.sqlite")
    identity = con.execute("select identity from person order by id limit 1").fetchone()[0]
    con.close()
    printed = _cli("extract", "request", "--file", "-", env=env, stdin=identity + "\n")
    request_id = printed.split()[0]
    _cli("extract", "person", "--request", request_id, "--source", source,
         "--out", str(out / "person"), env=env)  # fmt: skip

    written = [p for p in [home, out] for p in p.rglob("*") if p.is_file()]
    assert package and len(written) > 500
    assert list((home / "drops").rglob("bag-info.txt"))  # delivered copies are in the walk
    assert list((out / "person").rglob("*.pdf"))
    assert open_to_others(home, out) == []
