"""Value steps of a field spec: types (`string int bool date timestamp`), transforms, and the timestamp formats
of the mapping format (`rfc3339`, `jira`, or a Bitrix FORMAT_DATETIME pattern such as `DD.MM.YYYY HH:MI:SS`).

Every conversion returns the converted value or raises BadValue with a message that names the value.
"""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TYPES = ("string", "int", "bool", "date", "timestamp")
TRANSFORMS = {"lower": str.lower, "upper": str.upper, "trim": str.strip}
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?(Z|z|[+-]\d{2}:?\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TOKENS = {"YYYY": r"(?P<Y>\d{4})", "MM": r"(?P<M>\d{1,2})", "DD": r"(?P<D>\d{1,2})", "HH": r"(?P<h>\d{1,2})",
           "MI": r"(?P<m>\d{2})", "SS": r"(?P<s>\d{2})"}
_TRUE = {"true", "y", "1", "yes"}
_FALSE = {"false", "n", "0", "no"}


class BadValue(ValueError):
    pass


def timezone(name: str):
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def pattern_regex(fmt: str):
    """The regular expression of a Bitrix FORMAT_DATETIME pattern, or None if it lacks a date token."""
    out, i = "^", 0
    while i < len(fmt):
        token = next((t for t in _TOKENS if fmt.startswith(t, i)), None)
        if token:
            out += _TOKENS[token]
            i += len(token)
        else:
            out += re.escape(fmt[i])
            i += 1
    if not all(f"(?P<{g}>" in out for g in "YMD"):
        return None
    return re.compile(out + "$")


class Timestamps:
    """How one source writes instants; `convert(value)` gives RFC 3339 with seconds, the offset kept."""

    def __init__(self, fmt: str, tz):
        self.fmt, self.tz = fmt, tz
        self.regex = None if fmt in ("rfc3339", "jira") else pattern_regex(fmt)

    def convert(self, value) -> str:
        if not isinstance(value, str):
            raise BadValue(f"{value!r} is not a timestamp ({self.fmt})")
        text = value.strip()
        if self.regex is None:
            m = _ISO.match(text)
            if not m:
                raise BadValue(f"{value!r} is not a {self.fmt} timestamp")
            y, mo, d, h, mi, s, off = m.groups()
            parts = (int(y), int(mo), int(d), int(h), int(mi), int(s))
        else:
            m = self.regex.match(text)
            if not m:
                raise BadValue(f"{value!r} does not match the timestamp format {self.fmt!r}")
            g = m.groupdict()
            parts = (int(g["Y"]), int(g["M"]), int(g["D"]), int(g.get("h") or 0), int(g.get("m") or 0),
                     int(g.get("s") or 0))
            off = None
        try:
            local = dt.datetime(*parts)
        except ValueError as exc:
            raise BadValue(f"{value!r} is not a valid instant ({exc})") from None
        stamp = local.strftime("%Y-%m-%dT%H:%M:%S")
        if off in ("Z", "z"):
            return stamp + "Z"
        if off:
            digits = off.replace(":", "")
            return f"{stamp}{digits[:3]}:{digits[3:]}"
        offset = local.replace(tzinfo=self.tz).utcoffset()
        total = int(offset.total_seconds() // 60)
        sign = "+" if total >= 0 else "-"
        return f"{stamp}{sign}{abs(total) // 60:02d}:{abs(total) % 60:02d}"


def convert(value, typ: str, stamps: Timestamps):
    """`value` as the field spec's `type`; BadValue if it does not convert."""
    if typ == "string":
        if isinstance(value, (dict, list)):
            raise BadValue(f"{_short(value)} is not a string")
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if typ == "int":
        if isinstance(value, bool):
            raise BadValue(f"{value!r} is not an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
            return int(value)
        raise BadValue(f"{_short(value)} is not an integer")
    if typ == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise BadValue(f"{_short(value)} is not a boolean (true/false, Y/N, 1/0)")
    if typ == "date":
        if isinstance(value, str) and _DATE.match(value.strip()):
            try:
                dt.date.fromisoformat(value.strip())
                return value.strip()
            except ValueError:
                pass
        raise BadValue(f"{_short(value)} is not a date (YYYY-MM-DD)")
    if typ == "timestamp":
        return stamps.convert(value)
    raise BadValue(f"unknown type {typ!r}")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
