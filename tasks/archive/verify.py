# ruff: noqa: E501  (XML and SQL templates read better unwrapped)
"""Re-checking an archive package at any later time (``samsa-decom verify PACKAGE``).

Fast check (always): the root METS.xml parses and is valid against METS 1.12 + the DILCIS
extensions; every file it or the representation METS references exists with the recorded size
and SHA-256; no file is in the package that no METS references; no reference leaves the
package. When the ledger knows the package, the root METS.xml's own SHA-256 is compared too.

Deep check (``deep=True``): the SIARD archive is re-read, metadata.xml is validated against the
official schema, every table's rows are decoded (strictly: markup, characters, escapes and each
cell's lexical form against its column type; anything unusual goes to libxml2 and the table's
XSD, which names the problem), and row counts + content digests are compared with the values
recorded in PREMIS (significant properties). ``schemas=True`` (``--deep --schemas``) validates
every table file against its XSD with libxml2 as well.

Every problem is collected (damaged, missing, unexpected, invalid), then reported at once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from lxml import etree

from models.errors import InputError
from tasks.archive import STANDARDS_DIR
from tasks.archive.file_digests import FileDigests
from tasks.archive.package import NS_METS, NS_PREMIS, NS_XLINK, sha256_file

_M = f"{{{NS_METS}}}"
_HREF = f"{{{NS_XLINK}}}href"


@dataclass(frozen=True)
class Damage:
    """One problem: the file (relative to the package root), what kind, and the facts."""

    path: str
    kind: str  # damaged | missing | unexpected | invalid | outside
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.path} – {self.detail}"


@dataclass
class PackageVerdict:
    package: Path
    files_checked: int = 0
    problems: list[Damage] = field(default_factory=list)
    tables_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Ref:
    path: str  # relative to package root
    size: int | None
    sha256: str | None
    listed_in: str


_METS_SCHEMA: etree.XMLSchema | None = None


def mets_schema() -> etree.XMLSchema:
    """METS 1.12 + XLink + DILCIS CSIP/SIP extensions, all loaded from local files."""
    global _METS_SCHEMA
    if _METS_SCHEMA is None:
        driver = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="http://www.w3.org/1999/xlink" schemaLocation="{(STANDARDS_DIR / "xlink.xsd").as_uri()}"/>
  <xs:import namespace="http://www.loc.gov/METS/" schemaLocation="{(STANDARDS_DIR / "mets.xsd").as_uri()}"/>
  <xs:import namespace="https://DILCIS.eu/XML/METS/CSIPExtensionMETS" schemaLocation="{(STANDARDS_DIR / "DILCISExtensionMETS.xsd").as_uri()}"/>
  <xs:import namespace="https://DILCIS.eu/XML/METS/SIPExtensionMETS" schemaLocation="{(STANDARDS_DIR / "DILCISExtensionSIPMETS.xsd").as_uri()}"/>
</xs:schema>"""

        class _Local(etree.Resolver):
            def resolve(self, url, pubid, context):  # type: ignore[no-untyped-def]
                if url and url.endswith("xlink.xsd"):
                    return self.resolve_filename(str(STANDARDS_DIR / "xlink.xsd"), context)
                return None

        parser = etree.XMLParser(no_network=True)
        parser.resolvers.add(_Local())
        _METS_SCHEMA = etree.XMLSchema(etree.fromstring(driver.encode(), parser))
    return _METS_SCHEMA


def premis_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(STANDARDS_DIR / "premis.xsd")))


def _inside(root: Path, base: str, href: str) -> str | None:
    """``href`` (relative to folder ``base``) as a package-relative path, or None if outside."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href) or href.startswith("/"):
        return None
    parts: list[str] = []
    for p in PurePosixPath(base, href).parts:
        if p == "..":
            if not parts:
                return None
            parts.pop()
        elif p not in (".", ""):
            parts.append(p)
    return "/".join(parts)


def _refs(
    doc: etree._Element, root: Path, base: str, listed_in: str, out: list[Damage]
) -> list[_Ref]:
    refs = []
    for el in doc.iter(f"{_M}file", f"{_M}mdRef"):
        loc = el if el.tag == f"{_M}mdRef" else el.find(f"{_M}FLocat")
        href = loc.get(_HREF) if loc is not None else None
        if not href:
            out.append(Damage(listed_in, "invalid", f"{el.get('ID')}: no xlink:href"))
            continue
        rel = _inside(root, base, href)
        if rel is None:
            out.append(
                Damage(href, "outside", f"referenced by {listed_in} but outside the package")
            )
            continue
        size = el.get("SIZE")
        ctype = (el.get("CHECKSUMTYPE") or "").upper()
        checksum = el.get("CHECKSUM") if ctype == "SHA-256" else None
        if el.get("CHECKSUM") and ctype != "SHA-256":
            out.append(
                Damage(rel, "invalid", f"checksum type {ctype!r} in {listed_in}, expected SHA-256")
            )
        refs.append(_Ref(rel, int(size) if size and size.isdigit() else None, checksum, listed_in))
    return refs


def _check_file(
    root: Path, ref: _Ref, out: list[Damage], digests: FileDigests | None = None
) -> bool:
    path = root / ref.path
    if not path.is_file():
        out.append(Damage(ref.path, "missing", f"listed in {ref.listed_in}, not in the package"))
        return False
    size = path.stat().st_size
    if ref.size is not None and size != ref.size:
        what = "truncated" if size < ref.size else "grown"
        out.append(
            Damage(ref.path, "damaged", f"{what}: {size} bytes, {ref.listed_in} records {ref.size}")
        )
        return False
    if ref.sha256:
        found = digests.of(path) if digests else sha256_file(path)
        if found != ref.sha256.lower():
            out.append(
                Damage(
                    ref.path,
                    "damaged",
                    f"SHA-256 {found[:16]}…, {ref.listed_in} records {ref.sha256[:16]}…",
                )
            )
            return False
    return True


def _parse_mets(root: Path, rel: str, out: list[Damage]) -> etree._Element | None:
    try:
        doc = etree.parse(str(root / rel), etree.XMLParser(no_network=True, resolve_entities=False))
    except (etree.XMLSyntaxError, OSError) as exc:
        out.append(Damage(rel, "damaged", f"not readable XML ({exc})"))
        return None
    schema = mets_schema()
    if not schema.validate(doc):
        for e in list(schema.error_log)[:5]:
            out.append(Damage(rel, "invalid", f"line {e.line}: {e.message}"))
    return doc.getroot()


def verify_package(
    package: Path,
    *,
    deep: bool = False,
    expected_mets_sha256: str | None = None,
    schemas: bool = False,
    digests: FileDigests | None = None,
) -> PackageVerdict:
    """Check ``package`` (a folder); the verdict lists every problem found. ``deep`` re-reads
    the SIARD archive; ``schemas`` also validates every table file against its XSD then.
    ``digests``: the files' SHA-256 already being taken in the background (see
    :class:`~tasks.archive.file_digests.FileDigests`); without it each file is hashed here."""
    root = Path(package)
    if not root.is_dir():
        raise InputError(f"{root}: not a package folder")
    verdict = PackageVerdict(root)
    out = verdict.problems
    if not (root / "METS.xml").is_file():
        out.append(Damage("METS.xml", "missing", "the package METS is not there"))
    referenced: set[str] = {"METS.xml"}
    if (root / "METS.xml").is_file():
        digest_of = digests.of if digests else sha256_file
        if expected_mets_sha256 and digest_of(root / "METS.xml") != expected_mets_sha256:
            out.append(
                Damage("METS.xml", "damaged", "SHA-256 differs from the one the ledger recorded")
            )
        doc = _parse_mets(root, "METS.xml", out)
        if doc is not None:
            for ref in _refs(doc, root, "", "METS.xml", out):
                referenced.add(ref.path)
                verdict.files_checked += 1
                ok = _check_file(root, ref, out, digests)
                if ok and ref.path.endswith("METS.xml"):
                    rep_base = ref.path.rsplit("/", 1)[0]
                    rep_doc = _parse_mets(root, ref.path, out)
                    if rep_doc is not None:
                        for rref in _refs(rep_doc, root, rep_base, ref.path, out):
                            referenced.add(rref.path)
                            verdict.files_checked += 1
                            _check_file(root, rref, out, digests)
                elif ok and ref.path.endswith("premis.xml"):
                    pdoc = etree.parse(str(root / ref.path))
                    ps = premis_schema()
                    if not ps.validate(pdoc):
                        for e in list(ps.error_log)[:5]:
                            out.append(Damage(ref.path, "invalid", f"line {e.line}: {e.message}"))
    for p in sorted(root.rglob("*")):
        if p.is_file():
            rel = p.relative_to(root).as_posix()
            if rel not in referenced:
                out.append(Damage(rel, "unexpected", "in the package but referenced by no METS"))
    if deep and not any(d.kind in ("damaged", "missing") for d in out):
        _deep_check(root, verdict, schemas)
    return verdict


def recorded_table_digests(premis_path: Path) -> dict[str, tuple[int, str]]:
    """Table name → (rows, digest) from the PREMIS significant properties."""
    doc = etree.parse(str(premis_path))
    ns = {"p": NS_PREMIS}
    out: dict[str, tuple[int, str]] = {}
    for sp in doc.iterfind(".//p:significantProperties", ns):
        kind = sp.findtext("p:significantPropertiesType", namespaces=ns) or ""
        value = sp.findtext("p:significantPropertiesValue", namespaces=ns) or ""
        if not kind.startswith("table "):
            continue
        m = re.search(r"rows=(\d+) \S+=([0-9a-f]{64})", value)
        if m:
            out[kind.removeprefix("table ")] = (int(m.group(1)), m.group(2))
    return out


def recorded_inventory(premis_path: Path) -> dict[str, int]:
    """The source's inventory counts recorded in PREMIS (``{}`` when none was recorded)."""
    from tasks.archive.inventory import Inventory

    doc = etree.parse(str(premis_path))
    ns = {"p": NS_PREMIS}
    for sp in doc.iterfind(".//p:significantProperties", ns):
        if sp.findtext("p:significantPropertiesType", namespaces=ns) == "inventory":
            value = sp.findtext("p:significantPropertiesValue", namespaces=ns) or ""
            return Inventory.parse_summary(value)
    return {}


def _deep_check(root: Path, verdict: PackageVerdict, schemas: bool = False) -> None:
    from tasks.archive.reader import find_siard
    from tasks.archive.verdict import verify_siard

    premis = root / "metadata" / "preservation" / "premis.xml"
    expected = recorded_table_digests(premis)
    siard = find_siard(root)
    rel = siard.relative_to(root).as_posix()
    for problem in verify_siard(siard, expected, schemas=schemas):
        verdict.problems.append(Damage(rel, "damaged", problem))
    recorded = recorded_inventory(premis)
    if recorded:  # packages made before the inventory was recorded have none
        import zipfile

        from tasks.archive.inventory import compare_counts, held_inventory

        with zipfile.ZipFile(siard) as zf:
            held = held_inventory(zf.read("header/metadata.xml"))
        for problem in compare_counts(recorded, held):
            verdict.problems.append(Damage(rel, "damaged", problem))
    verdict.tables_checked = len(expected)
