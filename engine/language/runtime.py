"""What compiled code runs with, the closures and the generated fast path alike: UNKNOWN, Env and Stub."""
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


class Stub:
    """a generated function compiled when it is first called (`lazy.get(path)`: slapolicy.language.codegen.Lazy,
    or the compiled policy's variant that makes one on first use)"""
    __slots__ = ("lazy", "path", "fn")

    def __init__(self, lazy, path):
        self.lazy, self.path, self.fn = lazy, path, None

    def __call__(self, *args):
        fn = self.fn
        if fn is None:
            fn = self.fn = self.lazy.get(self.path)
        return fn(*args)

    def compiled(self):
        """the function itself (compiled now if it was not)"""
        if self.fn is None:
            self.fn = self.lazy.get(self.path)
        return self.fn
