"""Source databases with more than the synthetic SAMSA one has: three schemas (one with Swedish
letters and a space in its name), views, comments, check constraints, a routine, a sequence,
enums and domains, and a column of each type the archive maps (docs/archive.md, "Types")."""

from __future__ import annotations

import zipfile
from pathlib import Path

from lxml import etree
from sqlalchemy import create_engine

from tasks.archive import STANDARDS_DIR

PG_SCHEMAS = ["public", "vård", "ärenden och beslut"]

PG_DDL = r"""
COMMENT ON SCHEMA public IS 'Gemensamma tabeller';
CREATE SCHEMA "vård";
COMMENT ON SCHEMA "vård" IS 'Vårdens egna tabeller';
CREATE SCHEMA "ärenden och beslut";
CREATE TYPE "vård".status AS ENUM ('planerad', 'pågår', 'avslutad');
CREATE DOMAIN "vård".postnummer AS varchar(6) CHECK (VALUE ~ '^[0-9]{3} ?[0-9]{2}$');
CREATE TABLE public.enhet (
  id integer PRIMARY KEY, namn text NOT NULL, CONSTRAINT namn_ej_tomt CHECK (namn <> ''));
COMMENT ON TABLE public.enhet IS 'Organisatoriska enheter';
COMMENT ON COLUMN public.enhet.namn IS 'Enhetens namn, så som det skrivs';
-- every column here can go through the C path (text forms, money as numeric)
CREATE TABLE "vård".texttyper (
  id integer PRIMARY KEY, uid uuid, j json, jb jsonb, x xml, ip inet, "nät" cidr,
  mac macaddr, mac8 macaddr8, pengar money, bitar bit(4), varbitar varbit(10), tal numeric,
  "sök" tsvector, status "vård".status, postnr "vård".postnummer, spann int4range,
  CONSTRAINT tal_ej_negativt CHECK (tal >= 0));
COMMENT ON COLUMN "vård".texttyper.status IS 'Ärendets status';
-- these go through the generic path (intervals, time with time zone, arrays)
CREATE TABLE "vård".tidtyper (
  id integer PRIMARY KEY, "längd" interval, kort interval day to second,
  "månader" interval year to month, tid timetz, heltal integer[], texter text[],
  statusar "vård".status[], tidpunkter timestamptz[], flyt double precision, enkel real);
COMMENT ON TABLE "vård".tidtyper IS 'Tider och listor';
CREATE VIEW "vård"."pågående" AS
  SELECT id, status, uid FROM "vård".texttyper WHERE status = 'pågår';
COMMENT ON VIEW "vård"."pågående" IS 'Pågående ärenden';
CREATE TABLE "ärenden och beslut".beslut (
  id bigint PRIMARY KEY, enhet_id integer REFERENCES public.enhet (id), text text);
CREATE SEQUENCE "ärenden och beslut".beslutsnummer;
CREATE FUNCTION "ärenden och beslut".antal_beslut() RETURNS bigint LANGUAGE sql
  AS 'SELECT count(*) FROM "ärenden och beslut".beslut';
COMMENT ON FUNCTION "ärenden och beslut".antal_beslut() IS 'Antal beslut';
CREATE VIEW "ärenden och beslut"."beslut per enhet" AS
  SELECT enhet_id, count(*) AS antal FROM "ärenden och beslut".beslut GROUP BY enhet_id;

INSERT INTO public.enhet VALUES (1, 'Vårdcentral Öster 😀'), (2, E'tab\there\r\nCR');
INSERT INTO "vård".texttyper VALUES
 (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2.5, "ö 😀"],  "b": null}',
  '{"z": 1, "a": "tab\there & <x>"}', '<p>hej &amp; då</p>', '192.168.0.1/24', '10.0.0.0/8',
  '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', '1234.56', B'1010', B'101',
  123.4567890123456789, 'a fat cat sat on a mat', 'pågår', '411 05', '[1,5)'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL),
 (3, 'ffffffff-ffff-ffff-ffff-ffffffffffff', '[]', '[]', '<a/>', '::1', '2001:db8::/32',
  'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00:00:00', '-0.01', B'0000', B'', 0, '', 'avslutad',
  '41105', 'empty');
INSERT INTO "vård".tidtyper VALUES
 (1, '1 year 2 mons 3 days 04:05:06.5', '3 days 01:02:03', '2 years 3 mons',
  '12:34:56.789+02', '{1,NULL,3}', ARRAY['ett', NULL, 'två 😀', '  mellanslag  ', 'b\s', ''],
  '{planerad,avslutad}', ARRAY['2024-01-02 03:04:05+01'::timestamptz], 1.5e300, 0.25),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, '-3 days -04:00:00', '-00:00:01.5', '-1 year', '00:00:00+00', '{}', '{}', '{}', '{}',
  '-Infinity', 'NaN');
INSERT INTO "ärenden och beslut".beslut VALUES (10, 1, 'Beviljas'), (11, NULL, NULL);
"""

MARIADB_DDL = [
    """CREATE TABLE `{0}`.enhet (
         id INT PRIMARY KEY, namn VARCHAR(100) NOT NULL COMMENT 'Enhetens namn',
         CONSTRAINT namn_ej_tomt CHECK (namn <> '')) COMMENT 'Organisatoriska enheter'""",
    """CREATE TABLE `{1}`.typer (
         id INT PRIMARY KEY, txt TEXT, ts DATETIME(6), belopp DECIMAL(12,3), data BLOB,
         j JSON, status ENUM('planerad','pågår','avslutad'), uid CHAR(36), d DOUBLE,
         t TIME(6), dag DATE, ja BOOLEAN, liten TINYINT, stor BIGINT, bin VARBINARY(16),
         u UUID, ip INET6, bitar BIT(3), `år` YEAR, val SET('a','b'), f FLOAT,
         CONSTRAINT belopp_ej_negativt CHECK (belopp >= 0)) COMMENT 'Alla typer'""",
    """CREATE VIEW `{1}`.`pågående` AS SELECT id, status FROM `{1}`.typer
         WHERE status = 'pågår'""",
    """CREATE TABLE `{2}`.beslut (
         id BIGINT PRIMARY KEY, enhet_id INT, text LONGTEXT,
         FOREIGN KEY (enhet_id) REFERENCES `{0}`.enhet (id))""",
    """CREATE FUNCTION `{2}`.antal_beslut() RETURNS INT READS SQL DATA
         COMMENT 'Antal beslut' RETURN (SELECT count(*) FROM `{2}`.beslut)""",
    "INSERT INTO `{0}`.enhet VALUES (1, 'Vårdcentral Öster 😀'), (2, 'tab\there\r\nCR')",
    """INSERT INTO `{1}`.typer VALUES
         (1, 'emoji 😀 and RTL שלום', '2024-02-29 23:59:59.123456', 1234.567,
          X'00FF10', '{{"a": [1, 2.5]}}', 'pågår', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
          1.5e300, '12:34:56.789000', '0001-01-02', TRUE, -128, 9223372036854775807,
          X'DEADBEEF', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '2001:db8::1', b'101', 2027,
          'a,b', 0.5),
         (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
          NULL, NULL, NULL, NULL, NULL, NULL),
         (3, '', '9999-12-31 23:59:59', 0.001, X'', '[]', 'avslutad',
          'ffffffff-ffff-ffff-ffff-ffffffffffff', -0.0, '00:00:00', '9999-12-31', FALSE, 127,
          -9223372036854775808, X'00', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '::ffff:1.2.3.4',
          b'000', 1901, '', -0.25)""",
    "INSERT INTO `{2}`.beslut VALUES (10, 1, 'Beviljas'), (11, NULL, NULL)",
]


def build_pg(url: str) -> None:
    eng = create_engine(url)
    with eng.begin() as c:
        c.exec_driver_sql(PG_DDL)
    eng.dispose()


def build_mariadb(url: str, names: list[str]) -> None:
    eng = create_engine(url)
    with eng.begin() as c:
        for stmt in MARIADB_DDL:
            c.exec_driver_sql(stmt.format(*names).replace("%", "%%"))
    eng.dispose()


def schema_errors(siard: Path) -> list[str]:
    """metadata.xml against the official SIARD 2.2 metadata.xsd, and every table file against
    the table schema next to it: the problems found (empty: all valid)."""
    problems: list[str] = []
    meta_schema = etree.XMLSchema(etree.parse(str(STANDARDS_DIR / "siard-2.2-metadata.xsd")))
    with zipfile.ZipFile(siard) as zf:
        meta = etree.fromstring(zf.read("header/metadata.xml"))
        if not meta_schema.validate(meta):
            problems += [f"metadata.xml: {e.message}" for e in meta_schema.error_log]
        for name in zf.namelist():
            if name.startswith("content/") and name.endswith(".xml"):
                xsd = etree.XMLSchema(etree.fromstring(zf.read(name[:-4] + ".xsd")))
                doc = etree.fromstring(zf.read(name), etree.XMLParser(huge_tree=True))
                if not xsd.validate(doc):
                    problems += [f"{name}: {e.message}" for e in xsd.error_log]
    return problems
