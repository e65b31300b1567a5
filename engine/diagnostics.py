"""Diagnostics: every problem is a code, a severity, a message and a span.

Codes are stable kebab-case names (documented in docs/diagnostics.md); tools and tests match them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .source import Span, excerpt

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    severity: str = ERROR
    hint: str | None = None

    def sort_key(self):
        return (self.span.file, self.span.line, self.span.col, self.code, self.message)

    def format(self, text: str | None = None) -> str:
        head = f"{self.span}: {self.severity}: {self.code}: {self.message}"
        if self.hint:
            head += f" ({self.hint})"
        snippet = excerpt(text, self.span)
        return f"{head}\n{snippet}" if snippet else head

    def to_json(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "file": self.span.file, "line": self.span.line, "col": self.span.col,
                **({"hint": self.hint} if self.hint else {})}


@dataclass
class PolicyError(Exception):
    """Raised when a policy (or a ticket) cannot be used; carries every diagnostic found."""

    diagnostics: list[Diagnostic]
    texts: dict[str, str] = field(default_factory=dict)  # file -> text, for excerpts

    def __post_init__(self):
        self.diagnostics = sorted(self.diagnostics, key=Diagnostic.sort_key)
        super().__init__(self.format())

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    def format(self) -> str:
        return "\n".join(d.format(self.texts.get(d.span.file)) for d in self.diagnostics)


class TicketError(Exception):
    """A ticket that violates the vocabulary: one message per problem, each naming the field path."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems  # (field path, message)
        super().__init__(self.format())

    def format(self, origin: str = "ticket") -> str:
        return "\n".join(f"{origin}: {path or '(ticket)'}: {msg}" if path else f"{origin}: {msg}"
                         for path, msg in self.problems)

    def to_json(self) -> dict:
        return {"code": "invalid-ticket",
                "problems": [{"field": p, "message": m} for p, m in self.problems],
                "message": "; ".join(f"{p}: {m}" if p else m for p, m in self.problems)}
