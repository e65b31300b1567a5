"""What compiled code runs with, the closures and the generated fast path alike: UNKNOWN and Env."""
from __future__ import annotations


class _Unknown:
    __slots__ = ()

    def __repr__(self):
        return "UNKNOWN"

    def __bool__(self):
        raise TypeError("UNKNOWN has no truth value")


UNKNOWN = _Unknown()


class Env:
    """Per-evaluation state handed to compiled closures."""

    __slots__ = ("ticket", "stage", "vars", "defs", "missing", "read", "policy")

    def __init__(self, ticket, policy, explain=False):
        self.ticket = ticket
        self.policy = policy
        self.stage = {}
        self.vars = {}
        self.defs = {}
        self.missing = []
        self.read = [] if explain else None
