"""The decision's shape (CONTRACT section 3 and its documented extensions) as types a checker can use.

`Policy.evaluate` returns a plain dict of this shape (JSON-ready); these TypedDicts only describe it, so
that a caller's `decision["deadlines"]["first_response"]["due"]` type-checks under `mypy --strict`.
Keys that appear only sometimes (lifecycle, billing, edition; why_not, unknown_facts and a deadline's
breakdown with explanation on) are `NotRequired`.
"""
from __future__ import annotations

from typing import Any, Literal, Optional

try:
    from typing import NotRequired, TypedDict
except ImportError:  # Python 3.10
    from typing_extensions import NotRequired, TypedDict

Status = Literal["in_scope", "out_of_scope", "consultation_only", "not_accepted"]


class PolicyRef(TypedDict):
    id: str
    version: str
    hash: str
    effective_from: NotRequired[str]
    edition: NotRequired[str]
    edition_chosen: NotRequired[str]


class Reason(TypedDict):
    rule: str
    source: str
    message: str


class Eligibility(TypedDict):
    status: Status
    reasons: list[Reason]


class Tier(TypedDict):
    id: str
    name: str
    source: str


class Deadline(TypedDict):
    due: Optional[str]
    not_before: Optional[str]
    target: str
    calendar: Optional[str]
    source: str
    started: NotRequired[str]
    status: NotRequired[str]
    breakdown: NotRequired[dict[str, Any]]  # explanation on: counted time per day (slapolicy.calendar.breakdown)


class Deadlines(TypedDict, total=False):
    first_response: Optional[Deadline]
    next_response: Optional[Deadline]
    resolution: Optional[Deadline]


class Coded(TypedDict):
    code: str
    source: str
    message: str


class Assumption(TypedDict):
    id: str
    clause: str
    text: str


class Decision(TypedDict):
    ticket: str
    policy: PolicyRef
    eligibility: Eligibility
    tier: Optional[Tier]
    deadlines: Deadlines
    delay_reasons: list[Coded]
    notices: list[dict[str, Any]]
    missing_facts: list[str]
    assumptions: list[Assumption]
    explanation: list[dict[str, Any]]
    billing: NotRequired[dict[str, Any]]
    as_of: NotRequired[str]
    lifecycle: NotRequired[dict[str, Any]]
    why_not: NotRequired[list[dict[str, Any]]]  # explanation on (slapolicy.decide.whynot)
    unknown_facts: NotRequired[list[dict[str, Any]]]  # explanation on (slapolicy.decide.unknown)
