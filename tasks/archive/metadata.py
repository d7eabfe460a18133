# ruff: noqa: E501  (XML and SQL templates read better unwrapped)
"""``header/metadata.xml`` (SIARD 2.2, namespace ``…/siard/2/metadata.xsd``): the database,
its schema, tables, columns with SQL:2008 types, keys, row counts and, in each table's
description, its retention class from the plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from tasks.archive.schema import ColumnSpec, TableSpec
from tasks.archive.writer import TableResult

if TYPE_CHECKING:
    from tasks.archive.catalogue import Catalogue, SchemaSpec

METADATA_NS = "http://www.bar.admin.ch/xmlns/siard/2/metadata.xsd"
#: a schema's description: its comment, then one line per sequence
SEQUENCE_LINE = "Sequence: "
#: a table's description: its comment, then its retention line
RETENTION_LINE = "Retention: "


@dataclass(frozen=True)
class ArchiveInfo:
    """Facts about the archived database that go into metadata.xml."""

    dbname: str
    description: str
    data_owner: str
    data_origin_timespan: str
    archival_date: date
    producer: str
    database_product: str
    archiver: str = "samsa-decom"
    archiver_contact: str = "Regionarkivet, Västra Götalandsregionen"


def _e(s: str) -> str:
    return escape(s)


def _table_description(spec: TableSpec) -> str:
    # the class per organisation kind, as tasks.archive.retention.TableRetention.summary()
    r = spec.retention or {}
    text = f"{RETENTION_LINE}{r.get('text') or 'oklassad.'}"
    return f"{spec.description}\n{text}" if spec.description else text


def _column(out: list[str], c: ColumnSpec, indent: str) -> None:
    out.append(f"{indent}<column>\n")
    out.append(f"{indent}  <name>{_e(c.name)}</name>\n")
    out.append(f"{indent}  <type>{c.sql_type}</type>\n")
    out.append(f"{indent}  <typeOriginal>{_e(c.type_original)}</typeOriginal>\n")
    out.append(f"{indent}  <nullable>{'true' if c.nullable else 'false'}</nullable>\n")
    if c.cardinality is not None:
        out.append(f"{indent}  <cardinality>{c.cardinality}</cardinality>\n")
    if c.description:
        out.append(f"{indent}  <description>{_e(c.description)}</description>\n")
    out.append(f"{indent}</column>\n")


def _table(out: list[str], spec: TableSpec, rows: int) -> None:
    out.append("        <table>\n")
    out.append(f"          <name>{_e(spec.name)}</name>\n")
    out.append(f"          <folder>{spec.folder}</folder>\n")
    out.append(f"          <description>{_e(_table_description(spec))}</description>\n")
    out.append("          <columns>\n")
    for c in spec.columns:
        _column(out, c, "            ")
    out.append("          </columns>\n")
    if spec.primary_key:
        out.append("          <primaryKey>\n")
        out.append(f"            <name>{_e(spec.primary_key.name)}</name>\n")
        out.extend(f"            <column>{_e(c)}</column>\n" for c in spec.primary_key.columns)
        out.append("          </primaryKey>\n")
    if spec.foreign_keys:
        out.append("          <foreignKeys>\n")
        for fk in spec.foreign_keys:
            out.append("            <foreignKey>\n")
            out.append(f"              <name>{_e(fk.name)}</name>\n")
            out.append(
                f"              <referencedSchema>{_e(fk.referenced_schema)}</referencedSchema>\n"
            )
            out.append(
                f"              <referencedTable>{_e(fk.referenced_table)}</referencedTable>\n"
            )
            for col, ref in zip(fk.columns, fk.referenced_columns, strict=True):
                out.append(
                    f"              <reference><column>{_e(col)}</column>"
                    f"<referenced>{_e(ref)}</referenced></reference>\n"
                )
            if fk.delete_action:
                out.append(f"              <deleteAction>{fk.delete_action}</deleteAction>\n")
            if fk.update_action:
                out.append(f"              <updateAction>{fk.update_action}</updateAction>\n")
            out.append("            </foreignKey>\n")
        out.append("          </foreignKeys>\n")
    if spec.candidate_keys:
        out.append("          <candidateKeys>\n")
        for key in spec.candidate_keys:
            out.append("            <candidateKey>\n")
            out.append(f"              <name>{_e(key.name)}</name>\n")
            out.extend(f"              <column>{_e(c)}</column>\n" for c in key.columns)
            out.append("            </candidateKey>\n")
        out.append("          </candidateKeys>\n")
    if spec.check_constraints:
        out.append("          <checkConstraints>\n")
        for ck in spec.check_constraints:
            out.append("            <checkConstraint>\n")
            out.append(f"              <name>{_e(ck.name)}</name>\n")
            out.append(f"              <condition>{_e(ck.condition)}</condition>\n")
            out.append("            </checkConstraint>\n")
        out.append("          </checkConstraints>\n")
    out.append(f"          <rows>{rows}</rows>\n")
    out.append("        </table>\n")


def _schema(out: list[str], schema: SchemaSpec, results: dict[str, TableResult]) -> None:
    out.append("    <schema>\n")
    out.append(f"      <name>{_e(schema.name)}</name>\n      <folder>{schema.folder}</folder>\n")
    desc = "\n".join(
        [*([schema.description] if schema.description else []),
         *(f"{SEQUENCE_LINE}{q}" for q in schema.sequences)]
    )  # fmt: skip
    if desc:
        out.append(f"      <description>{_e(desc)}</description>\n")
    if schema.types:
        out.append("      <types>\n")
        for t in schema.types:
            out.append(
                f"        <type>\n          <name>{_e(t.name)}</name>\n"
                "          <category>distinct</category>\n"
                "          <instantiable>true</instantiable>\n          <final>true</final>\n"
                f"          <base>{t.base}</base>\n"
                f"          <description>{_e(t.description)}</description>\n        </type>\n"
            )
        out.append("      </types>\n")
    if schema.tables:
        out.append("      <tables>\n")
        for spec in schema.tables:
            _table(out, spec, results[spec.key].rows)
        out.append("      </tables>\n")
    if schema.views:
        out.append("      <views>\n")
        for v in schema.views:
            out.append(f"        <view>\n          <name>{_e(v.name)}</name>\n")
            if v.query:
                out.append(f"          <queryOriginal>{_e(v.query)}</queryOriginal>\n")
            if v.description:
                out.append(f"          <description>{_e(v.description)}</description>\n")
            out.append("          <columns>\n")
            for c in v.columns:
                _column(out, c, "            ")
            out.append("          </columns>\n        </view>\n")
        out.append("      </views>\n")
    if schema.routines:
        out.append("      <routines>\n")
        for r in schema.routines:
            out.append(
                "        <routine>\n"
                f"          <specificName>{_e(r.specific_name)}</specificName>\n"
                f"          <name>{_e(r.name)}</name>\n"
            )
            if r.description:
                out.append(f"          <description>{_e(r.description)}</description>\n")
            out.append(f"          <source>{_e(r.language)}</source>\n")
            if r.body:
                out.append(f"          <body>{_e(r.body)}</body>\n")
            if r.return_type:
                out.append(f"          <returnType>{_e(r.return_type)}</returnType>\n")
            out.append("        </routine>\n")
        out.append("      </routines>\n")
    out.append("    </schema>\n")


def metadata_xml(
    info: ArchiveInfo, catalogue: Catalogue, results: dict[str, TableResult]
) -> bytes:
    """The metadata.xml document for the ``catalogue`` with the tables' written ``results``
    (by table key): every schema, its types, tables, views and routines, the users and the
    privileges."""
    out: list[str] = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<siardArchive xmlns="{METADATA_NS}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="2.2" '
        f'xsi:schemaLocation="{METADATA_NS} metadata.xsd">\n',
        f"  <dbname>{_e(info.dbname)}</dbname>\n",
        f"  <description>{_e(info.description)}</description>\n",
        f"  <archiver>{_e(info.archiver)}</archiver>\n",
        f"  <archiverContact>{_e(info.archiver_contact)}</archiverContact>\n",
        f"  <dataOwner>{_e(info.data_owner)}</dataOwner>\n",
        f"  <dataOriginTimespan>{_e(info.data_origin_timespan)}</dataOriginTimespan>\n",
        f"  <producerApplication>{_e(info.producer)}</producerApplication>\n",
        f"  <archivalDate>{info.archival_date.isoformat()}Z</archivalDate>\n",
        f"  <databaseProduct>{_e(info.database_product)}</databaseProduct>\n",
        "  <schemas>\n",
    ]
    for schema in catalogue.schemas:
        _schema(out, schema, results)
    out.append("  </schemas>\n")
    if catalogue.users:
        out.append("  <users>\n")
        out.extend(f"    <user><name>{_e(u)}</name></user>\n" for u in catalogue.users)
        out.append("  </users>\n")
    else:
        out.append("  <users/>\n")
    if catalogue.privileges:
        out.append("  <privileges>\n")
        for p in catalogue.privileges:
            option = "    <option>GRANT</option>\n" if p.grantable else ""
            out.append(
                f"    <privilege>\n      <type>{_e(p.type)}</type>\n"
                f"      <object>{_e(p.object)}</object>\n"
                f"      <grantor>{_e(p.grantor)}</grantor>\n"
                f"      <grantee>{_e(p.grantee)}</grantee>\n"
                f"{('  ' + option) if option else ''}    </privilege>\n"
            )
        out.append("  </privileges>\n")
    out.append("</siardArchive>\n")
    return "".join(out).encode("utf-8")
