"""Opening a ledger checks its schema against the migrations' heads without importing Alembic
(about 0.1 s on every command); the heads read from the files must be Alembic's own."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from ledgers import upgraded
from sqlalchemy import text

from models.ledger import Ledger, LedgerNotUpgraded
from models.ledger import repository as repo


def _alembic_heads(migrations: Path) -> frozenset[str]:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations))
    return frozenset(ScriptDirectory.from_config(cfg).get_heads())


@pytest.fixture
def fresh_heads() -> Iterator[None]:
    repo._head_revisions.cache_clear()
    yield
    repo._head_revisions.cache_clear()


def test_the_heads_are_alembics_heads(fresh_heads: None) -> None:
    assert repo._head_revisions() == _alembic_heads(repo.MIGRATIONS_DIR)
    assert len(repo._head_revisions()) >= 1


def test_a_branch_and_a_merge_give_alembics_heads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_heads: None
) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(repo.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    versions = migrations / "versions"
    old_heads = sorted(_alembic_heads(migrations))
    # a new branch off the first head, then a merge of everything: one head again
    (versions / "0901_branch.py").write_text(
        f'revision = "0901_branch"\ndown_revision = "{old_heads[0]}"\n'
        "branch_labels = None\ndepends_on = None\n"
    )
    monkeypatch.setattr(repo, "MIGRATIONS_DIR", migrations)
    assert repo._head_revisions() == _alembic_heads(migrations)
    assert "0901_branch" in repo._head_revisions()
    merged = (*old_heads[1:], "0901_branch")
    (versions / "0902_merge.py").write_text(
        f'"""merge"""\nrevision = "0902_merge"\ndown_revision = {merged!r}\n'
        "branch_labels = None\ndepends_on = None\n"
    )
    repo._head_revisions.cache_clear()
    assert repo._head_revisions() == _alembic_heads(migrations) == {"0902_merge"}


def test_a_revision_that_is_not_a_plain_literal_is_left_to_alembic(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_heads: None
) -> None:
    migrations = tmp_path / "migrations"
    shutil.copytree(repo.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    head = sorted(_alembic_heads(migrations))[0]
    (migrations / "versions" / "0903_computed.py").write_text(
        f'PARENT = "{head}"\nrevision = "0903_" + "computed"\ndown_revision = PARENT\n'
        "branch_labels = None\ndepends_on = None\n"
    )
    monkeypatch.setattr(repo, "MIGRATIONS_DIR", migrations)
    assert "0903_computed" in repo._head_revisions()
    assert head not in repo._head_revisions()
    assert repo._head_revisions() == _alembic_heads(migrations)


def test_a_ledger_claiming_a_revision_beyond_the_head_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    upgraded(url).close()
    with Ledger.open(url) as ledger, ledger.engine.begin() as conn:
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('9999_future')"))
    with pytest.raises(LedgerNotUpgraded, match="9999_future.*samsa-decom upgrade-ledger"):
        Ledger.open(url)


def test_a_ledger_without_a_version_table_has_no_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    upgraded(url).close()
    with Ledger.open(url) as ledger, ledger.engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    with pytest.raises(LedgerNotUpgraded, match=r"\(no schema\)"):
        Ledger.open(url)


def test_opening_a_ledger_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    upgraded(url).close()
    code = (
        "import sys\nfrom models.ledger import Ledger\n"
        f"Ledger.open({url!r}).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == "[]"
