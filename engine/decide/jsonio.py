"""JSON in and out for the CLI and the server: orjson for speed, the standard library's messages on errors.

`loads(text)` parses with orjson; when orjson refuses, the standard library parses again, so a syntax
error carries its clearer message ("Expecting ',' delimiter", with line and column), and what only
orjson refuses (integers beyond 64 bits) still loads. `dumps(obj)` is compact UTF-8 text.
"""
from __future__ import annotations

import json

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; `python cli.py` still works without it
    orjson = None


def loads(text):
    if orjson is not None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def dumps(obj) -> str:
    if orjson is not None:
        try:
            return orjson.dumps(obj).decode("utf-8")
        except TypeError:  # what orjson refuses (e.g. a lone surrogate): the standard library
            pass
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def dumps_bytes(obj) -> bytes:
    """one JSON Lines record: compact UTF-8 bytes and a newline"""
    if orjson is not None:
        try:
            return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
        except TypeError:
            pass
    return (json.dumps(obj, separators=(",", ":")) + "\n").encode("ascii")  # a lone surrogate as \\udxxx
