"""Diagnostics: every problem is a code, a severity, a message and a span.

Codes are stable kebab-case names (documented in docs/diagnostics.md); tools and tests match them.
"""
from __future__ import annotations

from slapolicy.language.source import Frozen, Span, _set, excerpt

ERROR = "error"
WARNING = "warning"


class Diagnostic(Frozen):
    """A problem: a stable code, a message, where (a Span), a severity and maybe a hint (a frozen record)."""

    __slots__ = ("code", "message", "span", "severity", "hint")
    _fields = ("code", "message", "span", "severity", "hint")

    def __init__(self, code: str, message: str, span: Span, severity: str = ERROR, hint: str | None = None) -> None:
        _set(self, "code", code)
        _set(self, "message", message)
        _set(self, "span", span)
        _set(self, "severity", severity)
        _set(self, "hint", hint)

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


class SlapolicyError(Exception):
    """Every error slapolicy raises to its callers: a stable `code` (docs/diagnostics.md, the same codes
    as the HTTP error bodies) and a message."""

    code: str = "error"

    def to_json(self) -> dict:
        return {"code": self.code, "message": str(self)}


class InputError(SlapolicyError, ValueError):
    """Bad input that is not a ticket field: JSON that does not parse, a bad parameter (`as_of`), a value
    beyond the input limits. `field` names the parameter or field when there is one."""

    def __init__(self, code: str, message: str, field: str | None = None, **extra):
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.extra = extra

    def to_json(self) -> dict:
        return {"code": self.code, "message": self.message, **({"field": self.field} if self.field else {}),
                **self.extra}


class PolicyNotFound(SlapolicyError, LookupError):
    """An unknown policy id (code `unknown-policy`) or edition (`unknown-edition`)."""

    def __init__(self, message: str, code: str = "unknown-policy"):
        super().__init__(message)
        self.code = code


class PolicyError(SlapolicyError):
    """Raised when a policy cannot be used (code `invalid-policy`); carries every diagnostic found, sorted,
    and the texts of the files they point into (file -> text, for excerpts)."""

    code = "invalid-policy"

    def __init__(self, diagnostics: list[Diagnostic], texts: dict[str, str] | None = None) -> None:
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        self.texts = {} if texts is None else texts
        super().__init__(self.format())

    def __eq__(self, other):
        if other.__class__ is self.__class__:
            return (self.diagnostics, self.texts) == (other.diagnostics, other.texts)
        return NotImplemented

    __hash__ = None  # as the (unfrozen) dataclass it was

    def __repr__(self):
        return f"PolicyError(diagnostics={self.diagnostics!r}, texts={self.texts!r})"

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == ERROR]

    def format(self) -> str:
        return "\n".join(d.format(self.texts.get(d.span.file)) for d in self.diagnostics)

    def to_json(self) -> dict:
        return {"code": self.code, "message": f"{len(self.errors)} error(s) in the policy",
                "diagnostics": [d.to_json() for d in self.diagnostics]}


class TicketError(SlapolicyError, ValueError):
    """A ticket that violates the vocabulary (code `invalid-ticket`): one message per problem, each naming
    the field path."""

    code = "invalid-ticket"

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
