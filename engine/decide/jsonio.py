"""JSON in and out for every reader (CLI ticket and JSON Lines, HTTP bodies and batch items, events,
share links): orjson for speed, the standard library's messages on errors, and one set of input limits.

`loads(text)` parses with orjson; when orjson refuses, the standard library parses again, so a syntax
error carries its clearer message ("Expecting ',' delimiter", with line and column), and an integer
beyond 64 bits (which orjson would turn into a float) is exact. `dumps(obj)` is compact UTF-8 text.

The limits (README "Input limits", docs/diagnostics.md) are checked by `check_limits`, apart from the
parser (a faster parser or validator can replace either without touching the other). A value beyond
them raises `InputError` with its code, never a RecursionError, a ValueError of the int parser or a
UnicodeEncodeError later on:

    input-too-large        the document is longer than MAX_DOCUMENT_CHARS characters
    input-too-deep         arrays / objects nested deeper than MAX_DEPTH
    input-number-too-large an integer of more than MAX_INT_DIGITS digits, a float that is not finite
    input-string-too-long  a string (or a key) longer than MAX_STRING_CHARS characters

Text that is not valid Unicode (a lone surrogate such as "\\ud800", which JSON escapes allow but no
UTF-8 output can carry) is a `TicketError` (`invalid-ticket`) naming the field path.
"""
from __future__ import annotations

import json
import math
import re

from slapolicy.decide.shared import plain
from slapolicy.language.diagnostics import InputError, TicketError

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; `python cli.py` still works without it
    orjson = None

MAX_DOCUMENT_CHARS = 8 * 1024 * 1024  # one ticket, one JSON Lines line, one batch body (the server caps its bodies lower)
MAX_DEPTH = 32  # a ticket is 3 levels deep (events[i].at); 32 leaves room and stays far from any recursion limit
MAX_INT_DIGITS = 100  # no ticket field needs more; Python refuses to parse 4,300 digits and more
MAX_STRING_CHARS = 100_000

LIMITS = {"input-too-large": MAX_DOCUMENT_CHARS, "input-too-deep": MAX_DEPTH,
          "input-number-too-large": MAX_INT_DIGITS, "input-string-too-long": MAX_STRING_CHARS}


# orjson (3.13) parses an integer beyond 64 bits as a float without a word (18446744073709551616 becomes
# 1.8446744073709552e+19), so a text with a run of 19 digits (in a number, or in a string: either way the
# standard library is right) is parsed by the standard library, whose ints are exact and limited by
# MAX_INT_DIGITS
_LONG_DIGITS = re.compile(r"[0-9]{19}").search


def _parse_int(text: str) -> int:
    digits = len(text) - (text[:1] == "-")
    if digits > MAX_INT_DIGITS:
        raise InputError("input-number-too-large", f"an integer of {digits} digits; the limit is {MAX_INT_DIGITS}",
                         limit=MAX_INT_DIGITS)
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InputError("input-number-too-large", f"the number {text[:40]} is beyond the range of a float")
    return value


def _parse_constant(name: str):
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


def loads(text, check_text: bool = True):
    """Decode one JSON document within the limits; json.JSONDecodeError on a syntax error (orjson's
    JSONDecodeError is one), InputError beyond a limit, TicketError on text that is not Unicode.

    With `check_text=False` (a batch, whose items are checked one by one) a lone surrogate is left in
    place: call `check_text_of(item)` on each item (a walk of its values)."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        text = bytes(text).decode("utf-8")  # UnicodeDecodeError (a ValueError) for bytes that are not UTF-8
    if len(text) > MAX_DOCUMENT_CHARS:
        raise InputError("input-too-large", f"the document has {len(text)} characters; the limit is "
                         f"{MAX_DOCUMENT_CHARS}", limit=MAX_DOCUMENT_CHARS)
    if orjson is not None and not _LONG_DIGITS(text):
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
        else:
            # orjson yields valid Unicode and 64-bit integers; only depth and string size are left,
            # and the document's size bounds both (checked only when it could exceed them)
            if len(text) > MAX_STRING_CHARS or text.count("[") + text.count("{") > MAX_DEPTH:
                check_limits(value)
            return value
    try:
        value = json.loads(text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant)
    except RecursionError:
        raise InputError("input-too-deep", f"arrays and objects are nested deeper than {MAX_DEPTH} levels",
                         limit=MAX_DEPTH) from None
    check_limits(value, text_checked=not check_text)
    return value


def check_text_of(value):
    """TicketError naming the path of a string (or key) of `value` that is not valid Unicode."""
    check_limits(value, text_checked=False)


def check_limits(value, text_checked: bool = True, depth: int = 0):
    """Walk a decoded value (without recursion): InputError beyond the depth or string limits, TicketError
    naming the path of a string that is not valid Unicode (checked unless `text_checked`). `depth`: the
    value's own depth in the document it is part of."""
    stack = [(value, depth, ())]
    while stack:
        v, depth, path = stack.pop()
        if isinstance(v, str):
            _check_string(v, path, text_checked)
        elif isinstance(v, (dict, list)):
            if depth >= MAX_DEPTH:
                raise InputError("input-too-deep", f"arrays and objects are nested deeper than {MAX_DEPTH} levels",
                                 None, limit=MAX_DEPTH)
            if isinstance(v, dict):
                for key, item in v.items():
                    _check_string(key, path + (key,), text_checked)
                    stack.append((item, depth + 1, path + (key,)))
            else:
                stack.extend((item, depth + 1, path + (i,)) for i, item in enumerate(v))
        elif isinstance(v, float) and not math.isfinite(v):
            raise InputError("input-number-too-large", "a number that is not finite", field_path(path) or None)


def _check_string(s: str, path, text_checked: bool):
    if len(s) > MAX_STRING_CHARS:
        raise InputError("input-string-too-long", f"a string of {len(s)} characters; the limit is {MAX_STRING_CHARS}",
                         field_path(path) or None, limit=MAX_STRING_CHARS)
    if not text_checked and not s.isascii():
        try:
            s.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise TicketError([(field_path(path), f"not valid Unicode text: {s[exc.start]!r} at character "
                                                  f"{exc.start + 1} (a lone surrogate)")]) from None


def field_path(path) -> str:
    """("events", 0, "at") -> "events[0].at", as TicketError paths are written."""
    out = ""
    for p in path:
        if isinstance(p, str) and not p.isascii():
            p = p.encode("utf-8", "backslashreplace").decode("utf-8")  # a key that is not Unicode, printable
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def read_lines(stream, limit: int = MAX_DOCUMENT_CHARS):
    """The lines of a text (or binary) stream, each at most `limit` characters (bytes) read: a longer line yields None in its
    place (the rest of it is skipped without being kept), so that lines out == lines in."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        newline = b"\n" if isinstance(line, bytes) else "\n"  # a text or a binary stream
        if len(line) > limit and not line.endswith(newline):
            while True:  # skip to the end of this line
                rest = stream.readline(limit)
                if not rest or rest.endswith(newline):
                    break
            yield None
            continue
        yield line


def read_blocks(stream, size: int = 1 << 20, limit: int = MAX_DOCUMENT_CHARS):
    """(number of its first line, parts) for consecutive runs of whole lines of a binary stream, read `size`
    bytes at a time with no work per line: each part is bytes holding whole lines, or None for a line longer
    than `limit` bytes (skipped without being kept). `lines_of(parts)` gives what read_lines would: together
    the blocks hold every line (lines out == lines in)."""
    number = 1
    partial: list = []  # the start of a line whose end is not read yet
    partial_len = 0
    skipping = False  # inside a line longer than the limit
    while True:
        data = stream.read(size)
        if not data:
            break
        parts = []
        if skipping or partial:
            end = data.find(b"\n")
            if end < 0:
                if not skipping:
                    partial.append(data)
                    partial_len += len(data)
                    if partial_len > limit:
                        partial, partial_len, skipping = [], 0, True
                continue
            if skipping:
                parts.append(None)
                skipping = False
            else:
                partial.append(data[:end + 1])
                parts.append(b"".join(partial))
                partial, partial_len = [], 0
            data = data[end + 1:]
        end = data.rfind(b"\n") + 1
        if end:
            parts.append(data[:end])
        if end < len(data):
            partial, partial_len = [data[end:]], len(data) - end
            if partial_len > limit:
                partial, partial_len, skipping = [], 0, True
        if parts:
            yield number, parts
            number += sum(1 if p is None else p.count(b"\n") for p in parts)
    if skipping:
        yield number, [None]
    elif partial:
        yield number, [b"".join(partial)]


def lines_of(parts, limit: int = MAX_DOCUMENT_CHARS):
    """the lines of read_blocks' parts (without their newline; None for a line longer than `limit`)"""
    for part in parts:
        if part is None:
            yield None
            continue
        lines = part.split(b"\n")
        if part.endswith(b"\n"):
            lines.pop()
        for line in lines:
            yield line if len(line) <= limit else None


def too_large_line(limit: int = MAX_DOCUMENT_CHARS) -> InputError:
    return InputError("input-too-large", f"the line is longer than {limit} characters", limit=limit)


def error_record(exc) -> dict:
    """The `error` of a JSON Lines / batch error record for what `loads` raises."""
    if isinstance(exc, json.JSONDecodeError):
        return {"code": "json-syntax", "message": f"{exc.msg} at column {exc.colno}"}
    if isinstance(exc, UnicodeDecodeError):
        return {"code": "json-syntax", "message": f"not UTF-8 text ({exc.reason})"}
    return exc.to_json()


def dumps(obj) -> str:
    if orjson is not None:
        try:
            return orjson.dumps(obj).decode("utf-8")
        except TypeError:  # what orjson refuses (e.g. an integer beyond 64 bits): the standard library
            pass
    return json.dumps(plain(obj), ensure_ascii=False, separators=(",", ":"))


def dumps_bytes(obj) -> bytes:
    """one JSON Lines record: compact UTF-8 bytes and a newline"""
    if orjson is not None:
        try:
            return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
        except TypeError:
            pass
    return (json.dumps(plain(obj), separators=(",", ":")) + "\n").encode("ascii")  # a lone surrogate as \\udxxx
