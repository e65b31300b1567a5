"""Targets ("3 business hours", "24 business days", "4 hours") and the calendar's error type."""
from __future__ import annotations

import math
import re

UNITS = ("business_minutes", "business_hours", "business_days",
         "elapsed_minutes", "elapsed_hours", "elapsed_days")
_UNIT_SECONDS = {"minutes": 60, "hours": 3600, "days": 86400}
_TARGET_RE = re.compile(
    r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*(?:(business|working)\s+)?(minute|min|hour|day)s?\s*$", re.IGNORECASE)
_KIND_SECONDS, _KIND_ELAPSED, _KIND_DAYS = 0, 1, 2


class CalendarError(ValueError):
    """A bad calendar spec or target, or a question the calendar cannot answer.

    `key_path` names the spec key at fault, e.g. ("week", "mon-fri"); () when not about a key."""

    def __init__(self, message: str, key_path=()):
        super().__init__(message)
        self.message = message
        self.key_path = tuple(str(k) for k in key_path)


class Target:
    """An amount of business or elapsed time: Target("business_hours", 3). Immutable, equal and hashed by
    (unit, amount), as the frozen dataclass it was (a plain class: a dataclass generates and compiles its
    methods at every import)."""

    __slots__ = ("unit", "amount", "_seconds", "_kind")

    def __init__(self, unit: str, amount: float) -> None:
        if unit not in UNITS:
            raise CalendarError(f"unknown target unit '{unit}': one of {', '.join(UNITS)}")
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount):
            raise CalendarError(f"a target amount is a finite number, not {amount!r}")
        if amount < 0:
            raise CalendarError(f"a target cannot be negative ({amount})")
        kind, name = unit.split("_", 1)
        set_ = object.__setattr__
        set_(self, "unit", unit)
        set_(self, "amount", amount)
        set_(self, "_seconds", float(amount) * _UNIT_SECONDS[name])
        set_(self, "_kind", _KIND_ELAPSED if kind == "elapsed" else _KIND_DAYS if name == "days" else _KIND_SECONDS)

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return (self.unit, self.amount) == (other.unit, other.amount)
        return NotImplemented

    def __hash__(self):
        return hash((self.unit, self.amount))

    def __repr__(self):
        return f"Target(unit={self.unit!r}, amount={self.amount!r})"

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete field {name!r}")

    def __reduce__(self):
        return Target, (self.unit, self.amount)

    @classmethod
    def from_mapping(cls, mapping) -> "Target":
        """{"business_hours": 2} -> Target("business_hours", 2); "working_" is read as "business_"."""
        if not isinstance(mapping, dict) or len(mapping) != 1:
            got = sorted(map(str, mapping)) if isinstance(mapping, dict) else repr(mapping)
            raise CalendarError(f"a target is a mapping with exactly one unit, e.g. {{business_hours: 2}}, got {got}")
        (unit, amount), = mapping.items()
        unit = str(unit).strip().lower()
        if unit.startswith("working_"):
            unit = "business_" + unit[len("working_"):]
        return cls(unit, amount)

    @property
    def seconds(self) -> float:
        """The length in seconds (open seconds for business minutes/hours; for business_days the
        nominal 86 400 s a day, which no calendar computation uses)."""
        return self._seconds

    @property
    def is_business(self) -> bool:
        return self._kind != _KIND_ELAPSED

    def scaled(self, share: float) -> "Target":
        return Target(self.unit, self.amount * share)

    def __str__(self):
        amount = self.amount
        if float(amount).is_integer():
            amount = int(amount)
        kind, unit = self.unit.split("_", 1)
        if amount == 1:
            unit = unit[:-1]
        return f"{amount} business {unit}" if kind == "business" else f"{amount} {unit}"


def parse_target(text) -> Target:
    """'3 business hours', '1 business hour', '24 working hours', '1.5 business hours', '90 business
    minutes', '24 business days', '4 hours' / '14 days' / '30 minutes' (elapsed)."""
    m = _TARGET_RE.match(str(text))
    if not m:
        raise CalendarError(f"'{text}' is not a target: write e.g. '3 business hours', '24 business days', "
                            "'90 business minutes' or '4 hours'")
    amount = float(m.group(1))
    unit = m.group(3).lower()
    unit = "minutes" if unit == "min" else unit + "s"
    return Target(("business_" if m.group(2) else "elapsed_") + unit, int(amount) if amount.is_integer() else amount)
