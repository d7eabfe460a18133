"""One person's register extract (registerutdrag, GDPR art. 15): everything SAMSA holds about
them, and who has read it.

The same document is built from either source through :class:`PersonLookup`:

- :class:`LivePersonLookup` asks SAMSA's database (indexed look-ups by ``person_id``);
- ``tasks.extracts.person_index.archive_lookup.ArchivePersonLookup`` reads the archive package
  through the person index written at archiving time (no scan of the package).

The document (JSON-ready dict) is the same from both, apart from its ``source`` field.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any, Protocol

from models.identity import Identity
from tasks.extracts.source import LiveSource, TableSpec, json_value

PERSON_TABLE = "person"
ACCESS_LOG = "access_log"
USER_TABLE = "user_account"
ORG_TABLE = "organisation"
FORMAT = "samsa-registerutdrag/1"


class PersonLookup(Protocol):
    """The questions a person's extract asks of a source."""

    label: str

    def specs(self) -> dict[str, TableSpec]: ...

    def person_rows(self, identity: Identity) -> list[tuple[Any, ...]]: ...

    def rows_for_persons(self, table: str, person_ids: list[Any]) -> list[tuple[Any, ...]]: ...

    def rows_by_id(self, table: str, ids: Iterable[Any]) -> list[tuple[Any, ...]]: ...


class LivePersonLookup:
    """Look-ups in SAMSA's live database."""

    label = "live"

    def __init__(self, source: LiveSource) -> None:
        self.source = source
        self._specs = {s.name: s for s in source.tables()}

    def specs(self) -> dict[str, TableSpec]:
        return self._specs

    def person_rows(self, identity: Identity) -> list[tuple[Any, ...]]:
        return list(self.source.rows_where(PERSON_TABLE, "identity", [identity.value]))

    def rows_for_persons(self, table: str, person_ids: list[Any]) -> list[tuple[Any, ...]]:
        return list(self.source.rows_where(table, "person_id", person_ids))

    def rows_by_id(self, table: str, ids: Iterable[Any]) -> list[tuple[Any, ...]]:
        return list(self.source.rows_where(table, "id", sorted(set(ids))))


def person_tables(specs: dict[str, TableSpec]) -> list[str]:
    """Tables holding records about a person (a ``person_id`` column), access log last."""
    names = sorted(n for n, s in specs.items() if "person_id" in s.columns and n != ACCESS_LOG)
    return names + ([ACCESS_LOG] if ACCESS_LOG in specs else [])


def _as_dicts(spec: TableSpec, rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    id_i = spec.index("id")
    if id_i is not None:
        rows = sorted(rows, key=lambda r: (r[id_i] is None, r[id_i]))
    return [dict(zip(spec.columns, (json_value(v) for v in r), strict=True)) for r in rows]


def build_person_extract(
    lookup: PersonLookup, identity: Identity, *, request_id: str, produced_on: date
) -> dict[str, Any]:
    """The extract as a JSON-ready document (deterministic for the same data)."""
    specs = lookup.specs()
    persons = _as_dicts(specs[PERSON_TABLE], lookup.person_rows(identity))
    person_ids = [p["id"] for p in persons]
    records: dict[str, list[dict[str, Any]]] = {}
    for table in person_tables(specs):
        if table == ACCESS_LOG:
            continue
        records[table] = _as_dicts(specs[table], lookup.rows_for_persons(table, person_ids))

    access: list[dict[str, Any]] = []
    if ACCESS_LOG in specs:
        access = _as_dicts(specs[ACCESS_LOG], lookup.rows_for_persons(ACCESS_LOG, person_ids))
    users: dict[Any, dict[str, Any]] = {}
    if USER_TABLE in specs and access:
        rows = lookup.rows_by_id(USER_TABLE, {a["user_id"] for a in access})
        users = {u["id"]: u for u in _as_dicts(specs[USER_TABLE], rows)}
    org_ids = {r["org_id"] for rows in records.values() for r in rows if r.get("org_id")}
    org_ids |= {a["org_id"] for a in access if a.get("org_id") is not None}
    org_ids |= {u["org_id"] for u in users.values() if u.get("org_id") is not None}
    orgs = {o["id"]: o for o in _as_dicts(specs[ORG_TABLE], lookup.rows_by_id(ORG_TABLE, org_ids))}

    access_log = []
    for a in sorted(access, key=lambda a: (a.get("at") or "", a.get("id") or 0)):
        user = users.get(a.get("user_id"), {})
        org = orgs.get(a.get("org_id"), {})
        access_log.append(
            {
                "id": a.get("id"),
                "at": a.get("at"),
                "action": a.get("action"),
                "user_id": a.get("user_id"),
                "user_name": user.get("name"),
                "user_hsa_id": user.get("hsa_id"),
                "org_id": a.get("org_id"),
                "org_name": org.get("name"),
            }
        )
    return {
        "format": FORMAT,
        "request_id": request_id,
        "produced_on": produced_on.isoformat(),
        "source": lookup.label,
        "identity_kind": identity.kind.value,
        "found": bool(persons),
        "person": persons,
        "records": records,
        "access_log": access_log,
        "organisations": {
            str(k): {"name": v.get("name"), "hsa_id": v.get("hsa_id"), "kind": v.get("kind")}
            for k, v in sorted(orgs.items())
        },
        "counts": {
            **{t: len(rows) for t, rows in records.items()},
            ACCESS_LOG: len(access_log),
        },
    }


def without_source(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without its source label (to compare live and archive answers)."""
    return {k: v for k, v in doc.items() if k != "source"}
