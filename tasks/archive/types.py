"""From database types to SIARD: the SQL:2008 type, the XSD type of the cell, and the lexical
form of a value (what goes into the XML, before escaping) and back.

Value conventions (the same on both sides, so digests match):
- timestamps: UTC, ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``; a naive timestamp (SQLite) is taken as UTC;
- dates ``YYYY-MM-DD``; times ``HH:MM:SS[.ffffff]Z``;
- decimals in plain notation (``format(d, "f")``); floats as Python ``repr`` (INF/-INF/NaN);
- booleans ``true``/``false``; binaries as upper-case hex (inline) or raw bytes (LOB files).
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import types as sat


class Kind(StrEnum):
    """How a column's values are written and read back."""

    integer = "integer"
    decimal = "decimal"
    real = "real"
    double = "double"
    boolean = "boolean"
    string = "string"
    clob = "clob"
    binary = "binary"
    blob = "blob"
    date = "date"
    time = "time"
    timestamp = "timestamp"
    interval = "interval"

    @property
    def is_lob(self) -> bool:
        return self in (Kind.clob, Kind.blob)

    @property
    def is_binary(self) -> bool:
        return self in (Kind.binary, Kind.blob)


XSD_TYPE: dict[Kind, str] = {
    Kind.integer: "xs:integer",
    Kind.decimal: "xs:decimal",
    Kind.real: "xs:float",
    Kind.double: "xs:double",
    Kind.boolean: "xs:boolean",
    Kind.string: "xs:string",
    Kind.clob: "clobType",
    Kind.binary: "xs:hexBinary",
    Kind.blob: "blobType",
    Kind.date: "dateType",
    Kind.time: "timeType",
    Kind.timestamp: "dateTimeType",
    Kind.interval: "xs:duration",
}


@dataclass(frozen=True)
class SqlType:
    kind: Kind
    sql: str  # SQL:2008, as SIARD's predefinedTypeType accepts it


def sql_type_of(t: sat.TypeEngine[Any]) -> SqlType:
    """The SIARD view of a reflected SQLAlchemy type."""
    if isinstance(t, sat.Boolean):
        return SqlType(Kind.boolean, "BOOLEAN")
    if isinstance(t, sat.BigInteger):
        return SqlType(Kind.integer, "BIGINT")
    if isinstance(t, sat.SmallInteger):
        return SqlType(Kind.integer, "SMALLINT")
    if isinstance(t, sat.Integer):
        return SqlType(Kind.integer, "INTEGER")
    if isinstance(t, sat.Float | sat.Double) or type(t).__name__ in ("REAL", "DOUBLE_PRECISION"):
        if type(t).__name__ == "REAL":
            return SqlType(Kind.real, "REAL")
        return SqlType(Kind.double, "DOUBLE PRECISION")
    if isinstance(t, sat.Numeric):
        p, s = t.precision, t.scale
        if p:
            return SqlType(Kind.decimal, f"DECIMAL({p}, {s or 0})")
        return SqlType(Kind.decimal, "DECIMAL")
    if isinstance(t, sat.DateTime):
        tz = bool(getattr(t, "timezone", False))
        return SqlType(Kind.timestamp, "TIMESTAMP WITH TIME ZONE" if tz else "TIMESTAMP")
    if isinstance(t, sat.Date):
        return SqlType(Kind.date, "DATE")
    if isinstance(t, sat.Time):
        return SqlType(Kind.time, "TIME")
    if isinstance(t, sat.Interval):
        return SqlType(Kind.interval, "INTERVAL DAY TO SECOND")
    if isinstance(t, sat.LargeBinary | sat._Binary):
        length = getattr(t, "length", None)
        if length:
            return SqlType(Kind.binary, f"VARBINARY({length})")
        return SqlType(Kind.blob, "BLOB")
    if isinstance(t, sat.String):
        length = getattr(t, "length", None)
        if length and not isinstance(t, sat.Text):
            return SqlType(Kind.string, f"VARCHAR({length})")
        return SqlType(Kind.clob, "CLOB")
    raise TypeError(f"no SIARD mapping for database type {t!r}")


# -- value → lexical -----------------------------------------------------------------------
def _ts(v: datetime) -> str:
    if v.tzinfo is not None:
        v = v.astimezone(UTC)
    if v.microsecond:
        return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}Z"  # noqa: E501
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z"


def _date(v: date) -> str:
    if isinstance(v, datetime):  # SQLite may hand a DATE column a datetime
        v = v.date()
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}"


def _time(v: time | timedelta) -> str:
    if isinstance(v, timedelta):  # MySQL/MariaDB TIME comes as a duration since midnight
        v = (datetime(2000, 1, 1) + v).time()
    elif v.tzinfo is not None:  # TIME WITH TIME ZONE: the same instant in UTC, as timestamps
        v = datetime.combine(date(2000, 1, 1), v).astimezone(UTC).time()
    s = f"{v.hour:02d}:{v.minute:02d}:{v.second:02d}"
    return (s + f".{v.microsecond:06d}Z") if v.microsecond else s + "Z"


def _decimal(v: Any) -> str:
    if not isinstance(v, Decimal):
        v = Decimal(str(v))
    return format(v, "f")


def _float(v: Any) -> str:
    f = float(v)
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "INF" if f > 0 else "-INF"
    return repr(f)


def _bool(v: Any) -> str:
    return "true" if v else "false"


_ISO_INTERVAL = re.compile(
    r"P(?:(-?\d+)Y)?(?:(-?\d+)M)?(?:(-?\d+)D)?"
    r"(?:T(?:(-?\d+)H)?(?:(-?\d+)M)?(?:(-?\d+)(?:\.(\d+))?S)?)?"
)


def _iso_interval(text: str) -> str:
    """A PostgreSQL interval in ``intervalstyle = iso_8601`` (``P1Y2M3DT4H5M6.5S``, each part
    signed on its own) as an ``xs:duration`` (one sign in front). A value whose parts have
    different signs (``1 mon -1 day``) has no ``xs:duration``: ValueError."""
    m = _ISO_INTERVAL.fullmatch(text.strip())
    if not m:
        raise ValueError(f"not an ISO 8601 interval: {text!r}")
    y, mo, d, h, mi, sec, frac = m.groups()
    parts = [int(x or 0) for x in (y, mo, d, h, mi, sec)]
    us = int(((frac or "") + "000000")[:6])
    if sec and sec.startswith("-"):
        us = -us
    signs = {p > 0 for p in (*parts, us) if p != 0}
    if len(signs) > 1:
        raise ValueError("an interval whose parts have different signs has no xs:duration")
    sign = "-" if signs == {False} else ""
    y, mo, d, h, mi, sec = (abs(p) for p in parts)
    us = abs(us)
    ym = f"{y}Y{mo}M" if y or mo else ""
    frac_s = f".{us:06d}" if us else ""
    return f"{sign}P{ym}{d}DT{h}H{mi}M{sec}{frac_s}S"


def _interval(v: timedelta | str) -> str:
    if isinstance(v, str):
        return _iso_interval(v)
    total_us = v.days * 86_400_000_000 + v.seconds * 1_000_000 + v.microseconds
    sign = "-" if total_us < 0 else ""
    total_us = abs(total_us)
    days, rest = divmod(total_us, 86_400_000_000)
    secs, us = divmod(rest, 1_000_000)
    h, rem = divmod(secs, 3600)
    m, s = divmod(rem, 60)
    frac = f".{us:06d}" if us else ""
    return f"{sign}P{days}DT{h}H{m}M{s}{frac}S"


def _str(v: Any) -> str:
    return v if isinstance(v, str) else str(v)


def _hex(v: Any) -> str:
    return binascii.hexlify(bytes(v)).decode("ascii").upper()


LEXICAL: dict[Kind, Callable[[Any], str]] = {
    Kind.integer: lambda v: str(int(v)),
    Kind.decimal: _decimal,
    Kind.real: _float,
    Kind.double: _float,
    Kind.boolean: _bool,
    Kind.string: _str,
    Kind.clob: _str,
    Kind.binary: _hex,
    Kind.blob: _hex,
    Kind.date: _date,
    Kind.time: _time,
    Kind.timestamp: _ts,
    Kind.interval: _interval,
}


# -- lexical → value -----------------------------------------------------------------------
def _parse_ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).astimezone(UTC)


def _parse_time(s: str) -> time:
    return time.fromisoformat(s.rstrip("Z"))


def _parse_float(s: str) -> float:
    return {"INF": float("inf"), "-INF": float("-inf"), "NaN": float("nan")}.get(s) or float(s)


def _parse_interval(s: str) -> timedelta | str:
    """A day-time duration as a ``timedelta``; one with years or months (which have no fixed
    length) stays the ``xs:duration`` text."""
    m = re.fullmatch(r"(-?)P(?:(\d+)Y(\d+)M)?(\d+)DT(\d+)H(\d+)M(\d+(?:\.\d+)?)S", s)
    if not m:
        raise ValueError(f"unsupported duration {s!r}")
    sign, y, mo, d, h, mi, sec = m.groups()
    if int(y or 0) or int(mo or 0):
        return s
    td = timedelta(days=int(d), hours=int(h), minutes=int(mi), seconds=float(sec))
    return -td if sign else td


PARSE: dict[Kind, Callable[[str], Any]] = {
    Kind.integer: int,
    Kind.decimal: Decimal,
    Kind.real: _parse_float,
    Kind.double: _parse_float,
    Kind.boolean: lambda s: s.strip() in ("true", "1"),
    Kind.string: str,
    Kind.clob: str,
    Kind.binary: lambda s: binascii.unhexlify(s.strip()),
    Kind.blob: lambda s: binascii.unhexlify(s.strip()),
    Kind.date: lambda s: date.fromisoformat(s.rstrip("Z")),
    Kind.time: _parse_time,
    Kind.timestamp: _parse_ts,
    Kind.interval: _parse_interval,
}
