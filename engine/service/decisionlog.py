"""The decision log of `slapolicy serve --decision-log FILE`: JSON Lines, one line per decision (request id,
time, route, item, policy id and hash, the ticket, the decision).

What a logged request costs (issue 17): the decision is encoded once. The response's own bytes of it go into
the record (`item`'s fourth element): the record without the decision is encoded, and the decision's bytes
are spliced in as its last member, which is what orjson writes for the whole record (compact, keys in
order); a record orjson cannot encode (a value it refuses, in the ticket) is encoded whole by
`slapolicy.service.http.dumps` as before, and a decision encoded by its fallback is never spliced. The
lines are written as bytes (with the platform's line separator, as the text file wrote them), not decoded
to text and encoded again.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from pathlib import Path

import orjson
from slapolicy.service.http import ApiError, dumps

log = logging.getLogger("slapolicy.server")
_NEWLINE = os.linesep.encode("ascii")  # what the text file opened with newline=None wrote for "\n"


def encode(obj) -> tuple[bytes, bool]:
    """(compact JSON of obj as `dumps` makes it, whether orjson made it: its bytes may be spliced)"""
    try:
        return orjson.dumps(obj), True
    except TypeError:  # orjson.JSONEncodeError: dumps' fallback
        return dumps(obj), False


class DecisionLog:
    """JSON Lines, one line per decision: request id, time, policy id and hash, the ticket, the decision."""

    def __init__(self, path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._file = open(self.path, "ab")
        self.failure: tuple | None = None  # (since, message) while writes fail: /readyz is 503

    def write(self, request_id: str, route: str, items):
        """items: [(position or None, ticket, decision[, the decision's bytes from `encode` if orjson's, or None])]"""
        at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
        lines = []
        for item in items:
            position, ticket, decision = item[0], item[1], item[2]
            record = {"request_id": request_id, "at": at, "route": route, "item": position,
                      "policy": decision["policy"]["id"], "hash": decision["policy"].get("hash"), "ticket": ticket}
            encoded = item[3] if len(item) > 3 else None
            line = None
            if encoded is not None:
                try:
                    line = orjson.dumps(record)[:-1] + b',"decision":' + encoded + b"}"
                except TypeError:  # the whole record through dumps' fallback, as before
                    pass
            if line is None:
                record["decision"] = decision
                line = dumps(record)
            lines.append(line + _NEWLINE)
        if not lines:
            return
        with self._lock:
            try:
                self._file.write(b"".join(lines))
                self._file.flush()
            except (OSError, ValueError) as exc:  # a full disk, a closed file: the decision cannot be logged
                message = f"cannot write the decision log {self.path}: {getattr(exc, 'strerror', None) or exc}"
                if self.failure is None:
                    log.error("%s", message)
                    self.failure = (_now_iso(), message)
                raise ApiError(503, "decision-log-failed", message + "; the decision was not given") from None
            if self.failure is not None:
                log.warning("the decision log %s is written again", self.path)
                self.failure = None

    def close(self):
        with self._lock:
            try:
                self._file.close()
            except OSError as exc:  # what is still buffered cannot be written (a full disk): said, not raised
                log.error("closing the decision log %s: %s", self.path, exc)


def _now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
