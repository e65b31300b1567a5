"""slapolicy: support regulations (SLA documents) as checked, compiled policies.

    from slapolicy import load_policy
    policy = load_policy("advantshop")             # a bundled id, or a path to a policy file
    decision = policy.evaluate({"id": "T-1", ...})  # a Decision (a TypedDict, see slapolicy.decide.decision)
    decision["deadlines"]["first_response"]["due"]

The pipeline, one sub-package per stage (docs/architecture.md has the map):
    calendar/   business time (imports nothing else of slapolicy)
    language/   load (YAML with positions) -> schema -> parse (lark) -> check -> compile / codegen
    decide/     tickets (validation) -> evaluate (registration decision) -> lifecycle (SLA clocks)
    api         the facade used by the CLI, the service, the tools and the tests
    monitor/    the live SLA monitor;  tools/  lint, fmt, diff, render, test, corpus
    service/    the HTTP service and the workbench;  backends/  other executors
Every error raised to callers is a `SlapolicyError` with a stable `code` (docs/diagnostics.md).
The names below are imported on first use, so `import slapolicy` stays cheap.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

from slapolicy import cachedir as _cachedir  # noqa: E402  (slapolicy's own bytecode, when Python writes none)

_cachedir.install()

__all__ = ["load_policy", "Policy", "SlapolicyError", "PolicyError", "PolicyNotFound", "TicketError", "InputError",
           "Diagnostic", "Decision", "Deadline", "check_file", "check_paths", "policy_ids", "parse_timestamp",
           "validate_ticket", "__version__"]

_WHERE = {
    "load_policy": "slapolicy.api", "Policy": "slapolicy.api", "check_file": "slapolicy.api",
    "check_paths": "slapolicy.api", "policy_ids": "slapolicy.api", "parse_timestamp": "slapolicy.api",
    "SlapolicyError": "slapolicy.language.diagnostics", "PolicyError": "slapolicy.language.diagnostics",
    "PolicyNotFound": "slapolicy.language.diagnostics", "TicketError": "slapolicy.language.diagnostics",
    "InputError": "slapolicy.language.diagnostics", "Diagnostic": "slapolicy.language.diagnostics",
    "Decision": "slapolicy.decide.decision", "Deadline": "slapolicy.decide.decision",
    "validate_ticket": "slapolicy.decide.tickets",
}

if TYPE_CHECKING:  # what type checkers see; at run time __getattr__ imports on first use
    from slapolicy.api import Policy, check_file, check_paths, load_policy, parse_timestamp, policy_ids
    from slapolicy.decide.decision import Deadline, Decision
    from slapolicy.decide.tickets import validate_ticket
    from slapolicy.language.diagnostics import (
        Diagnostic,
        InputError,
        PolicyError,
        PolicyNotFound,
        SlapolicyError,
        TicketError,
    )


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'slapolicy' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(where), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_WHERE))
