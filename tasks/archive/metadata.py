# ruff: noqa: E501  (XML and SQL templates read better unwrapped)
"""``header/metadata.xml`` (SIARD 2.2, namespace ``…/siard/2/metadata.xsd``): the database,
its schema, tables, columns with SQL:2008 types, keys, row counts and, in each table's
description, its retention class from the plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from tasks.archive.schema import TableSpec
from tasks.archive.writer import TableResult

METADATA_NS = "http://www.bar.admin.ch/xmlns/siard/2/metadata.xsd"


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
    r = spec.retention or {}
    kind = r.get("kind", "unclassified")
    years = r.get("years")
    label = f"{kind} {years} years after last entry" if years else kind
    text = f"Retention: {label}."
    if r.get("basis"):
        text += f" Basis: {r['basis']}."
    if r.get("note"):
        text += f" {r['note']}"
    return text


def metadata_xml(
    info: ArchiveInfo, specs: list[TableSpec], results: dict[str, TableResult]
) -> bytes:
    """The metadata.xml document for ``specs`` with their written ``results`` (by folder)."""
    schema_name = specs[0].schema if specs else "main"
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
        "  <schemas>\n    <schema>\n",
        f"      <name>{_e(schema_name)}</name>\n      <folder>schema0</folder>\n",
        "      <tables>\n",
    ]
    for spec in specs:
        res = results[spec.folder]
        out.append("        <table>\n")
        out.append(f"          <name>{_e(spec.name)}</name>\n")
        out.append(f"          <folder>{spec.folder}</folder>\n")
        out.append(f"          <description>{_e(_table_description(spec))}</description>\n")
        out.append("          <columns>\n")
        for c in spec.columns:
            out.append("            <column>\n")
            out.append(f"              <name>{_e(c.name)}</name>\n")
            out.append(f"              <type>{c.sql_type}</type>\n")
            out.append(f"              <typeOriginal>{_e(c.type_original)}</typeOriginal>\n")
            out.append(f"              <nullable>{'true' if c.nullable else 'false'}</nullable>\n")
            out.append("            </column>\n")
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
        out.append(f"          <rows>{res.rows}</rows>\n")
        out.append("        </table>\n")
    out.append("      </tables>\n    </schema>\n  </schemas>\n  <users/>\n</siardArchive>\n")
    return "".join(out).encode("utf-8")
