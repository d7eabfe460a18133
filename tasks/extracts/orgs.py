"""Every organisation's records as its own bag, from one pass over SAMSA's data.

Each organisation is responsible (personuppgiftsansvarig) for the records it wrote. A record
table is one with an ``org_id`` column; each of its rows goes to the bag of the organisation it
names, as a CSV row and a JSON object. The persons those records are about follow into the same
bag (``person.csv``/``person.json``), with the address of a person with protected identity
withheld and marked. Every organisation gets a bag — one without records has a README that
says so.

**Received records (inkomna handlingar).** A record also belongs to the organisation that
received it: a message's ``receiver_org_id`` and a care episode's ``municipality_id`` (the
municipality whose payment responsibility under Lag (2017:612) the admission and
ready-for-discharge notices started). Such a row goes, besides its writer's bag, into the
receiver's bag as ``inkommen-<table>.csv``/``.json``, and the persons it concerns follow.
A row whose receiver is its writer is not repeated.

The data is read once: each table is streamed once and its rows are routed to the open files
of all bags at the same time.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

from models import clock
from models.errors import CheckFailed, InputError
from tasks.extracts.bag import BagResult, BagWriter
from tasks.extracts.pg_routing import PgRouting
from tasks.extracts.readme import org_readme
from tasks.extracts.source import RecordSource, TableSpec, json_value

ORG_TABLE = "organisation"
PERSON_TABLE = "person"
#: Column names treated as address fields (withheld for persons with protected identity).
ADDRESS_PATTERN = re.compile(r"(address|adress|street|gata|postal|postnummer|zip|city|ort$|co_)")
PROTECTED_COLUMN = "protected_identity"
#: Columns naming the organisation that received a record (an incoming record of its own).
RECEIVER_COLUMNS = ("receiver_org_id", "municipality_id")
#: File-name prefix of received records in a bag (``inkommen-message.csv``).
RECEIVED_PREFIX = "inkommen-"
WITHHELD_COLUMN = "address_withheld"

_PLAIN = frozenset({"text", "int", "float"})


@dataclass
class OrgInfo:
    """An organisation as the extracts name it."""

    id: str
    name: str
    kind: str = ""
    hsa_id: str = ""
    sub_region: str = ""


@dataclass
class OrgBag:
    """One organisation's finished bag and what is in it."""

    org: OrgInfo
    bag: BagResult
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def records(self) -> int:
        return sum(n for t, n in self.counts.items() if t != PERSON_TABLE)


def bag_name(org_id: str) -> str:
    """The folder name of an organisation's bag (safe on every file system)."""
    return "samsa-registerutdrag-" + re.sub(r"[^A-Za-z0-9._-]", "_", str(org_id))


def _converter(spec: TableSpec) -> Callable[[tuple[Any, ...]], list[Any]]:
    """A function turning a source row into JSON-ready values (only where the kind needs it)."""
    special = [i for i, k in enumerate(spec.kinds) if k not in _PLAIN] if spec.kinds else None
    if special is None or any(spec.kinds[i] == "any" for i in special):
        return lambda row: [json_value(v) for v in row]
    if not special:
        return list

    def convert(row: tuple[Any, ...]) -> list[Any]:
        out = list(row)
        for i in special:
            v = out[i]
            if v is not None and not isinstance(v, bool):
                out[i] = json_value(v)
        return out

    return convert


def _csv_cell(v: Any) -> Any:
    if v is True:
        return "true"
    if v is False:
        return "false"
    return v


_BOOL_TEXT = {True: "true", False: "false", None: None}


class _TableStreams:
    """The CSV and JSON streams of one table in one bag."""

    __slots__ = ("csv_file", "json_file", "writer", "count", "cols", "bools", "encode")

    def __init__(
        self,
        csv_file: IO[str],
        json_file: IO[str],
        spec_cols: tuple[str, ...],
        bools: list[int] | None = None,
    ) -> None:
        self.csv_file = csv_file
        self.json_file = json_file
        self.writer = csv.writer(csv_file, lineterminator="\r\n")
        self.writer.writerow(spec_cols)
        self.cols = spec_cols
        self.bools = bools  # None: look at every value (kinds unknown)
        self.encode = json.JSONEncoder(ensure_ascii=False).encode
        json_file.write("[")
        self.count = 0

    def write(self, values: list[Any]) -> None:
        if self.bools is None:
            self.writer.writerow([_csv_cell(v) for v in values])
        elif self.bools:
            cells = list(values)
            for i in self.bools:
                cells[i] = _BOOL_TEXT.get(cells[i], cells[i])
            self.writer.writerow(cells)
        else:
            self.writer.writerow(values)
        text = self.encode(dict(zip(self.cols, values, strict=True)))
        self.json_file.write(",\n" + text if self.count else "\n" + text)
        self.count += 1

    def finish(self) -> None:
        self.json_file.write("\n]\n" if self.count else "]\n")


def _bool_columns(spec: TableSpec) -> list[int] | None:
    """Indexes of boolean columns, or None when the kinds are not known."""
    if not spec.kinds or "any" in spec.kinds:
        return None
    return [i for i, k in enumerate(spec.kinds) if k == "bool"]


def read_organisations(source: RecordSource, spec: TableSpec) -> dict[str, OrgInfo]:
    """The organisations, keyed by their id as text."""
    get = {c: spec.index(c) for c in ("id", "name", "kind", "hsa_id", "sub_region")}
    if get["id"] is None:
        raise InputError("table organisation has no column 'id'")
    orgs: dict[str, OrgInfo] = {}
    for row in source.rows(spec.name):

        def v(col: str, row: tuple[Any, ...] = row) -> str:
            i = get[col]
            return "" if i is None or row[i] is None else str(row[i])

        orgs[v("id")] = OrgInfo(v("id"), v("name"), v("kind"), v("hsa_id"), v("sub_region"))
    return orgs


def record_tables(specs: list[TableSpec]) -> list[TableSpec]:
    """Tables an organisation is responsible for: every table with an ``org_id`` column."""
    return [s for s in specs if s.name not in (ORG_TABLE, PERSON_TABLE) and "org_id" in s.columns]


def write_org_bags(
    source: RecordSource,
    out_dir: Path,
    *,
    only_org: str | None = None,
    bagging_date: date | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> list[OrgBag]:
    """Write every organisation's bag (or only ``only_org``'s) under ``out_dir``, in one pass.

    Raises CheckFailed when a record names no organisation or an unknown one — such a record
    would otherwise be in nobody's bag.
    """
    bagging_date = bagging_date or clock.today()
    specs = {s.name: s for s in source.tables()}
    if ORG_TABLE not in specs:
        raise InputError("the source has no table 'organisation'")
    orgs = read_organisations(source, specs[ORG_TABLE])
    if only_org is not None:
        if only_org not in orgs:
            raise InputError(f"--org {only_org}: no organisation with that id in the source")
        orgs = {only_org: orgs[only_org]}
    tables = record_tables(list(specs.values()))
    person_spec = specs.get(PERSON_TABLE)

    out_dir.mkdir(parents=True, exist_ok=True)
    writers: dict[str, BagWriter] = {}
    for oid in orgs:
        root = out_dir / bag_name(oid)
        if root.exists():
            shutil.rmtree(root)
        writers[oid] = BagWriter(root)
    counts: dict[str, dict[str, int]] = {oid: {} for oid in orgs}
    persons_of: dict[str, set[Any]] = defaultdict(set)  # person id -> org ids (as text)
    unknown: dict[str, int] = defaultdict(int)

    fast = PgRouting.open(source, list(orgs), only_org)
    try:
        persons_fast = None
        if fast is not None and person_spec is not None:
            persons_fast = fast.start_persons(
                person_spec, tables, RECEIVER_COLUMNS, address_columns(person_spec),
                PROTECTED_COLUMN, WITHHELD_COLUMN, writers, counts,
            )  # fmt: skip
        for k, spec in enumerate(tables):
            receivers = _receivers(spec)
            routed = None
            if fast is not None and k + 1 < len(tables):
                after = tables[k + 1]
                fast.prefetch(after, _receivers(after), RECEIVED_PREFIX + after.name, writers)
            if fast is not None:
                routed = fast.write_table(
                    spec, receivers, RECEIVED_PREFIX + spec.name, writers, counts, unknown
                )
            if routed is None:
                routed = _route_table(source, spec, receivers, writers, orgs, only_org,
                                      counts, persons_of, unknown)  # fmt: skip
            if progress:
                progress(spec.name, routed)

        if person_spec is not None:
            if fast is None:
                _write_persons(source, person_spec, writers, persons_of, counts)
            elif not (persons_fast and persons_fast()):
                persons_of = defaultdict(set, fast.persons_of(tables, RECEIVER_COLUMNS))
                _write_persons(source, person_spec, writers, persons_of, counts)
            if progress:
                progress(PERSON_TABLE, sum(c.get(PERSON_TABLE, 0) for c in counts.values()))
    finally:
        if fast is not None:
            fast.close()

    if unknown:
        problems = ", ".join(f"{k} ({v} rows)" for k, v in sorted(unknown.items())[:10])
        raise CheckFailed(
            f"records naming no organisation (table.column:id): {problems}; "
            "no bag may be delivered until every record has its organisation"
        )

    all_tables = [s.name for s in tables] + [
        RECEIVED_PREFIX + s.name for s in tables if any(c in s.columns for c in RECEIVER_COLUMNS)
    ] + ([PERSON_TABLE] if person_spec else [])

    def finish(oid: str, org: OrgInfo) -> OrgBag:
        c = {t: counts[oid].get(t, 0) for t in all_tables}
        writers[oid].add_text("README.txt", org_readme(org, c, bagging_date, source.label))
        info = {
            "Source-Organization": "SAMSA IT-tjänst (GITS, Västra Götaland)",
            "External-Identifier": str(oid),
            "External-Description": f"Uttag ur SAMSA för {org.name}",
            "Internal-Sender-Identifier": bag_name(oid),
        }
        return OrgBag(org, writers[oid].finish(info, bagging_date=bagging_date), c)

    # each bag's last files (README, tag files) in a few threads: creating files is not free
    with ThreadPoolExecutor(4, thread_name_prefix="bag-finish") as pool:
        return list(pool.map(finish, orgs.keys(), orgs.values()))


def _receivers(spec: TableSpec) -> list[int]:
    """Indexes of the columns naming the organisation that received a record."""
    return [i for c in RECEIVER_COLUMNS if (i := spec.index(c)) is not None]


def _route_table(
    source: RecordSource,
    spec: TableSpec,
    receivers: list[int],
    writers: dict[str, BagWriter],
    orgs: dict[str, OrgInfo],
    only_org: str | None,
    counts: dict[str, dict[str, int]],
    persons_of: dict[Any, set[str]],
    unknown: dict[str, int],
) -> int:
    """One record table, row by row in Python (any source); the rows routed to their writers."""
    streams = _open_table(writers, spec)
    received = _open_table(writers, spec, RECEIVED_PREFIX) if receivers else {}
    org_i = spec.index("org_id")
    person_i = spec.index("person_id")
    convert = _converter(spec)
    n = 0
    for row in source.rows(spec.name):
        raw_org = row[org_i]  # type: ignore[index]
        row_org = None if raw_org is None else str(raw_org)
        person = row[person_i] if person_i is not None else None
        values: list[Any] | None = None
        target = streams.get(row_org) if row_org is not None else None
        if target is not None:
            values = convert(row)
            target.write(values)
            if person is not None:
                persons_of[person].add(row_org)  # type: ignore[arg-type]
            n += 1
        elif only_org is None:
            unknown[f"{spec.name}.org_id:{row_org}"] += 1
        for i in receivers:
            raw_to = row[i]
            to = None if raw_to is None else str(raw_to)
            if to is None or to == row_org:
                continue
            inbox = received.get(to)
            if inbox is None:
                if only_org is None and to not in orgs:
                    unknown[f"{spec.name}.{spec.columns[i]}:{to}"] += 1
                continue
            inbox.write(values if values is not None else convert(row))
            if person is not None:
                persons_of[person].add(to)
    _close_table(writers, streams, spec, counts)
    if received:
        _close_table(writers, received, spec, counts, RECEIVED_PREFIX + spec.name)
    return n


def _open_table(
    writers: dict[str, BagWriter], spec: TableSpec, prefix: str = ""
) -> dict[str, _TableStreams]:
    bools = _bool_columns(spec)
    name = prefix + spec.name
    return {
        oid: _TableStreams(w.open_text(f"{name}.csv"), w.open_text(f"{name}.json"),
                           spec.columns, bools)
        for oid, w in writers.items()
    }


def _close_table(
    writers: dict[str, BagWriter],
    streams: dict[str, _TableStreams],
    spec: TableSpec,
    counts: dict[str, dict[str, int]],
    name: str | None = None,
) -> None:
    name = name or spec.name
    for oid, s in streams.items():
        s.finish()
        writers[oid].close_file(f"{name}.csv")
        writers[oid].close_file(f"{name}.json")
        counts[oid][name] = s.count


def address_columns(spec: TableSpec) -> list[int]:
    """Indexes of the person table's address fields."""
    return [i for i, c in enumerate(spec.columns) if ADDRESS_PATTERN.search(c.lower())]


def withhold_address(spec: TableSpec) -> Callable[[list[Any]], list[Any]]:
    """Marks a person row and blanks its address fields when its identity is protected."""
    addr = address_columns(spec)
    prot = spec.index(PROTECTED_COLUMN)

    def apply(values: list[Any]) -> list[Any]:
        protected = prot is not None and bool(values[prot]) and values[prot] not in ("0", "false")
        if protected:
            for i in addr:
                values[i] = None
        values.append(protected)
        return values

    return apply


def _write_persons(
    source: RecordSource,
    spec: TableSpec,
    writers: dict[str, BagWriter],
    persons_of: dict[Any, set[str]],
    counts: dict[str, dict[str, int]],
) -> None:
    out_spec = TableSpec(spec.name, (*spec.columns, WITHHELD_COLUMN), (*spec.kinds, "bool"))
    streams = _open_table(writers, out_spec)
    id_i = spec.index("id")
    if id_i is None:
        raise InputError("table person has no column 'id'")
    convert = _converter(spec)
    mark = withhold_address(spec)
    for row in source.rows(spec.name):
        oids = persons_of.get(row[id_i])
        if not oids:
            continue
        values = mark(convert(row))
        for oid in oids:
            streams[oid].write(list(values))
    _close_table(writers, streams, out_spec, counts)
