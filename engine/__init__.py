"""slapolicy: support regulations as checked, compiled policies.

The pipeline, one module per stage:
load (YAML with positions) -> schema (JSON Schema) -> parse (expressions, lark) -> check (names,
types) -> compile (closures) -> evaluate (Decision). `engine.api` is the facade used by the CLI,
the server and the tests.
"""
__version__ = "0.1.0"
