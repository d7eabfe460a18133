"""The extract commands speak to the case officer in Swedish, and in English by the setting
SAMSA_DECOM_LANGUAGE=en or ``--lang en`` (issue 16 §6): the real CLI on a real registered
begäran and on a small synthetic SAMSA, with ids, dates and numbers unchanged in both."""

from __future__ import annotations

import io
import re
import sqlite3
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine

from deploy.cli import extract_cmds, main
from deploy.cli.extract_words import WORDS
from deploy.cli.words import say
from models import clock
from models.extract_case import (
    ASSUMPTIONS,
    ASSUMPTIONS_EN,
    KIND_EN,
    KIND_SV,
    STATE_EN,
    STATE_SV,
    RequestKind,
    add_months,
)
from models.ledger.extracts import RequestState
from models.settings import get_settings
from tasks.synthetic import generate

#: A winter noon (13:00 in Stockholm), fixed so the days left do not depend on today.
NOON = datetime(2027, 2, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def samsa(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'samsa.sqlite'}"
    generate(url, scale=200, seed=5)
    return url


def _identity(samsa: str) -> str:
    con = sqlite3.connect(samsa.removeprefix("sqlite:///"))
    (identity,) = con.execute("select identity from person order by id limit 1").fetchone()
    con.close()
    return str(identity)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["extract", *argv])
    said = capsys.readouterr()
    return code, said.out, said.err


def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAMSA_DECOM_LANGUAGE", "en")
    get_settings.cache_clear()


def test_case_and_status_of_a_registered_request_in_swedish_and_in_english(
    samsa: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:  # fmt: skip
    identity = _identity(samsa)
    with time_machine.travel(NOON, tick=False):
        today = clock.today()
        deadline = add_months(today, 1).isoformat()
        days = (add_months(today, 1) - today).days
        monkeypatch.setattr("sys.stdin", io.StringIO(identity + "\n"))
        code, out, _ = _run(capsys, "request", "--file", "-", "--by", "Kim Handläggare")
        assert code == 0 and identity not in out
        rid = out.split()[0]
        assert f"{rid}  " in out and f"gdpr-art15  Klart senast {deadline}" in out

        # Swedish by default: the case and the open cases, with the domain's words
        code, case, _ = _run(capsys, "case", rid)
        assert code == 0
        for line in (f"Begäran {rid}", "  Typ: registerutdrag (GDPR art. 15)",
                     "  Status: registrerad", f"  Inkom: {today.isoformat()}",
                     f"  Klart senast: {deadline} (Tidsfristen går ut om {days} dagar)",
                     "  Personalens HSA-id: visas inte", "Antaganden att bekräfta:"):  # fmt: skip
            assert line in case.splitlines(), line
        assert "(bekräfta)" in case and "Kind:" not in case and identity not in case
        code, status, _ = _run(capsys, "status")
        assert code == 0
        head = "Öppna ärenden om registerutdrag (begäran, typ, status, inkom, Klart senast):"
        assert head in status.splitlines()
        assert (f"  {rid}  gdpr-art15  registrerad  inkom {today.isoformat()}  Klart senast "
                f"{deadline}: Tidsfristen går ut om {days} dagar") in status  # fmt: skip

        # the review step, still in Swedish
        code, said, _ = _run(capsys, "review", rid, "--by", "Kim Handläggare", "--source", samsa,
                             "--out", str(tmp_path / "granskning"))  # fmt: skip
        assert code == 0
        assert f"begäran {rid}: granskningsexemplar skrivet (under prövning);" in said
        assert "ur SAMSA:s databas" in said and str(tmp_path / "granskning") in said

        # --lang en overrides the (Swedish) setting
        code, case, _ = _run(capsys, "case", rid, "--lang", "en")
        assert code == 0
        for line in (f"Request {rid}", "  Kind: person's extract (GDPR art. 15)",
                     "  State: under review", f"  Received: {today.isoformat()}",
                     f"  Due by: {deadline} (The deadline is in {days} days)",
                     "  Staff HSA ids: not shown",
                     "  Release: awaits approval (samsa-decom extract approve)",
                     "Assumptions to confirm:"):  # fmt: skip
            assert line in case.splitlines(), line
        assert "(confirm)" in case
        for swedish in ("Begäran", "Typ:", "Klart senast", "Tidsfristen", "bekräfta",
                        "Utlämnandet"):  # fmt: skip
            assert swedish not in case, swedish

        # English by the setting, for every command
        _english(monkeypatch)
        code, status, _ = _run(capsys, "status")
        assert code == 0
        assert "Open cases of person extracts (request, kind, state, received, due by):" in status
        assert (f"  {rid}  gdpr-art15  under review  received {today.isoformat()}  due by "
                f"{deadline}: The deadline is in {days} days") in status  # fmt: skip
        assert "Öppna" not in status and "Klart senast" not in status
        code, said, _ = _run(capsys, "hsa", rid, "--show", "--by", "Kim Handläggare")
        assert code == 0 and said.strip() == f"request {rid}: staff HSA ids shown"
        # ... and --lang sv overrides the English setting
        code, case, _ = _run(capsys, "case", rid, "--lang", "sv")
        assert code == 0 and "  Status: under prövning" in case.splitlines()
        assert "  Personalens HSA-id: visas" in case.splitlines()

    # a language the CLI does not speak is bad input: one line, exit 2, nothing written
    for argv in (["case", rid], ["status"], ["request", "--file", "-"]):
        monkeypatch.setattr("sys.stdin", io.StringIO(identity + "\n"))
        code, out, err = _run(capsys, *argv, "--lang", "fr")
        assert code == 2, argv
        assert err.strip().splitlines() == ["error: --lang: 'fr' is not supported; use sv or en"]
        assert out == ""


def test_an_unknown_request_is_one_swedish_line(capsys: pytest.CaptureFixture[str]) -> None:
    rid = "00000000-0000-4000-8000-000000000000"
    code, _, err = _run(capsys, "case", rid)
    assert code == 2
    assert err.strip().splitlines() == [
        f"error: ingen begäran om registerutdrag {rid} i beslutsloggen"
    ]


def test_orgs_and_the_deliveries_in_swedish_and_in_english(
    samsa: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(extract_cmds.out, "width", 160)  # a wide terminal: no word is wrapped
    con = sqlite3.connect(samsa.removeprefix("sqlite:///"))
    (name,) = con.execute("select name from organisation where id = 1").fetchone()
    con.close()

    code, out, _ = _run(capsys, "orgs", "--source", samsa, "--org", "1", "--out",
                        str(tmp_path / "uttag"))  # fmt: skip
    assert code == 0
    head = next(line for line in out.splitlines() if "organisation" in line)
    assert re.search(r"organisation .*namn .*poster .*uttag .*sha256 \(tagmanifest\)", head)
    assert name in out and "samsa-registerutdrag-1" in out
    done = re.search(r"^1 uttag, ([\d,]+) poster, [\d.]+ s → (.+)$", out, re.MULTILINE)
    assert done is not None and done[2] == str(tmp_path / "uttag")
    assert int(done[1].replace(",", "")) > 0
    code, status, _ = _run(capsys, "status")
    assert code == 0
    assert re.search(r"organisation .*namn .*läge .*poster .*sha256 .*levererat .*kvitterat av",
                     status)  # fmt: skip
    assert re.search(rf"1 .*{name} .*framställt .*{done[1]} ", status)
    assert "Inga öppna ärenden om registerutdrag." in status

    _english(monkeypatch)
    code, out, _ = _run(capsys, "orgs", "--source", samsa, "--org", "1", "--out",
                        str(tmp_path / "bags"))  # fmt: skip
    assert code == 0
    head = next(line for line in out.splitlines() if "org" in line.split())
    assert re.search(r"org .*name .*records .*bag .*sha256 \(tagmanifest\)", head)
    assert re.search(rf"^1 bags, {re.escape(done[1])} records, [\d.]+ s → ", out, re.MULTILINE)
    assert "uttag" not in out.replace("samsa-registerutdrag", "")
    code, status, _ = _run(capsys, "status")
    assert code == 0 and "framställt" not in status
    assert re.search(r"org .*name .*state .*records .*sha256 .*delivered .*receipt", status)
    assert re.search(rf"1 .*{name} .*produced .*{done[1]} ", status)
    assert "No open cases of person extracts (registerutdrag)." in status
    code, purged, _ = _run(capsys, "purge", "--as-of", "2027-02-15")
    assert code == 0 and purged.startswith("identities deleted: 0 (answered more than ")
    code, purged, _ = _run(capsys, "purge", "--as-of", "2027-02-15", "--lang", "sv")
    assert code == 0 and purged.startswith("identiteter raderade: 0 (besvarade mer än ")

    # bad input in the chosen language, and an unspoken language before anything is read
    code, _, err = _run(capsys, "orgs", "--out", str(tmp_path / "x"))
    assert code == 2 and "give exactly one of --source URL and --archive PACKAGE" in err
    code, _, err = _run(capsys, "orgs", "--out", str(tmp_path / "x"), "--lang", "sv")
    assert code == 2 and "ange exakt en av --source URL och --archive PAKET" in err
    code, _, err = _run(capsys, "orgs", "--source", samsa, "--out", str(tmp_path / "fr"),
                        "--lang", "fr")  # fmt: skip
    assert code == 2 and len(err.strip().splitlines()) == 1 and "'fr' is not supported" in err
    assert not (tmp_path / "fr").exists()


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_extract_word_has_swedish_and_english_with_the_same_blanks() -> None:
    """The catalogue walked: each of the extract commands' words has both languages, the same
    values to fill in (an id or a date is never lost in one language), is in the CLI's
    catalogue and is used by the commands."""
    source = Path(extract_cmds.__file__).read_text(encoding="utf-8")
    assert WORDS
    for key, texts in WORDS.items():
        assert key.startswith("x_"), key
        assert set(texts) == {"sv", "en"}, key
        assert texts["sv"].strip() and texts["en"].strip(), key
        assert _fields(texts["sv"]) == _fields(texts["en"]), key
        values = dict.fromkeys(_fields(texts["sv"]), "V")
        assert say(key, "sv", **values) == texts["sv"].format(**values)
        assert say(key, "en", **values) == texts["en"].format(**values)
        used = f'"{key}"' in source or key.startswith("x_delivery_")
        assert used, f"{key} is not used by extract_cmds"
    assert {f"x_delivery_{s}" for s in ("produced", "delivered", "receipt_confirmed")} <= set(WORDS)


def test_every_kind_state_and_assumption_has_an_english_counterpart() -> None:
    assert set(KIND_EN) == set(KIND_SV) == set(RequestKind)
    assert set(STATE_EN) == set(STATE_SV) == set(RequestState)
    assert len(ASSUMPTIONS_EN) == len(ASSUMPTIONS)
    assert all(a.endswith("(confirm)") for a in ASSUMPTIONS_EN)
    assert all(a.endswith("(bekräfta)") for a in ASSUMPTIONS)
