"""What lint reports: findings (code, severity, message, span, example ticket) and results."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from slapolicy.language.source import Span, excerpt

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_ORDER = {ERROR: 0, WARNING: 1, INFO: 2}
DEFAULT_LIMIT = 40_000
MISSING = None  # a fact's "missing" value: the ticket has no such field
BASE_DAY = dt.date(2026, 3, 11)  # a Wednesday; the day most example tickets are created on
REQUIRED_DEFAULTS = {"channel": "portal", "customer.segment": "commercial"}
CHECKER_WARNINGS = ("unused-calendar", "unused-assumption", "unused-definition", "unused-tier", "unreachable-rule")


@dataclass
class Finding:
    code: str
    severity: str
    message: str
    span: Span
    rule: str | None = None
    example: dict | None = None  # a ticket (JSON) that shows the finding
    related: list = field(default_factory=list)  # ids of other rules involved
    count: int | None = None  # tickets concerned

    def sort_key(self):
        return (self.span.file, self.span.line, self.span.col, SEVERITY_ORDER[self.severity], self.code, self.message)

    def format(self, text: str | None = None) -> str:
        head = f"{self.span}: {self.severity}: {self.code}: {self.message}"
        snippet = excerpt(text, self.span)
        out = f"{head}\n{snippet}" if snippet else head
        if self.example is not None:
            out += "\n    example ticket: " + json.dumps(self.example, ensure_ascii=False, separators=(", ", ": "))
        return out

    def github(self) -> str:
        level = {"error": "error", "warning": "warning", "info": "notice"}[self.severity]
        return (f"::{level} file={_gh_prop(self.span.file)},line={self.span.line},col={self.span.col},"
                f"title={_gh_prop(self.code)}::{_gh_data(self.message)}")

    def to_json(self) -> dict:
        out = {"code": self.code, "severity": self.severity, "message": self.message,
               "file": self.span.file, "line": self.span.line, "col": self.span.col}
        if self.rule:
            out["rule"] = self.rule
        if self.related:
            out["related"] = list(self.related)
        if self.count is not None:
            out["tickets"] = self.count
        if self.example is not None:
            out["example"] = self.example
        return out


def _gh_data(text: str) -> str:
    return str(text).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_prop(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


@dataclass
class LintResult:
    file: str
    text: str
    findings: list  # of Finding, sorted
    diagnostics: list = field(default_factory=list)  # check errors that stopped the analysis
    stats: dict = field(default_factory=dict)  # list name -> {"tickets": n, "space": n, "exhaustive": bool}
    compiled: object = None  # the compiled policy analysed (slapolicy.language.compile.CompiledPolicy), if it checked

    @property
    def errors(self):
        return [f for f in self.findings if f.severity == ERROR]
