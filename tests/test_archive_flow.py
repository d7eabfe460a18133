"""The Prefect flow ``archive-samsa-database`` and the reconciler's ``archive`` action."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from ledgers import upgraded
from sqlalchemy import select

from flows.actions import ActionContext
from flows.wiring import resolve_action
from models.ledger.archive import ArchivePackage, PackageState
from models.settings import get_settings
from tasks.synthetic import generate

pytestmark = pytest.mark.prefect


def test_flow_archives_records_and_publishes_artifacts(
    prefect_harness: None, tmp_path: Path
) -> None:
    from prefect.artifacts import Artifact

    from flows.archive import ARTIFACT_KEY, archive_samsa_database

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=3000, seed=6)
    result = archive_samsa_database(source_url=url, out_dir=str(tmp_path / "out"))
    package = Path(result["package"])
    assert (package / "METS.xml").is_file()

    ledger = upgraded(get_settings().resolved_ledger_url())
    with ledger.unit_of_work() as s:
        rows = s.execute(select(ArchivePackage)).scalars().all()
        assert len(rows) == 1
        row = rows[0]
        assert row.state is PackageState.verified and row.verified_at is not None
        assert row.path == str(package.resolve()) and row.total_rows == result["rows"]
        assert row.tables["person"]["rows"] > 0 and len(row.tables["person"]["digest"]) == 64
    assert ledger.verify_audit().ok
    ledger.close()

    artifact = Artifact.get(ARTIFACT_KEY)
    assert artifact is not None
    text = str(artifact.data)
    assert "**verified**" in text and "| person |" in text
    from sqlalchemy import create_engine
    from sqlalchemy import text as sql

    with create_engine(url).connect() as c:
        identities = [r[0] for r in c.execute(sql("SELECT identity FROM person"))]
    assert not any(i in text for i in identities)  # counts and digests only, no personal data


def test_archive_action_runs_once_then_reports_the_intact_package(
    prefect_harness: None, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    generate(url, scale=2000, seed=7)
    action = resolve_action("archive")
    assert action is not None
    ctx = ActionContext(
        milestone_id="archive-database",
        as_of=date(2027, 3, 1),
        rehearse=False,
        ledger_url=get_settings().resolved_ledger_url(),
        params={"source_url": url, "out_dir": str(tmp_path / "out")},
    )
    first = action(ctx)
    assert first.done, first.summary
    assert "archived and verified" in first.summary
    second = action(ctx)
    assert second.done and "already archived and intact" in second.summary
    assert len(list((tmp_path / "out").glob("samsa-*"))) == 1
