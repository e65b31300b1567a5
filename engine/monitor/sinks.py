"""Alert sinks: deliver the monitor's outbox at least once, the alert id as the idempotency key.

`deliver_pending(store, sink)` takes the due undelivered alerts from the store (claimed with a lease, so
two deliverers on one PostgreSQL store rarely both send one), hands each to the sink, and marks it
delivered as soon as the sink confirmed it; a failure is counted on the alert (`attempts`,
`last_error`) and retried later, after an exponential backoff with a cap. Nothing is ever dropped.

What a consumer may see: every alert, in the order it was recorded (per deliverer), as one JSON object
whose `id` is deterministic. The same `id` may come more than once, with the same body: after a retry
whose first attempt did arrive, or after a crash between the sink's send and `mark_delivered`, or after
a lease ran out. A consumer that keeps the ids it has seen (or sends `Idempotency-Key` on to a system
that does) sees each alert once. No alert is lost: an alert is in the outbox, committed with the event
that produced it, before any sink sees it.

Sinks:
  StdoutSink()                         JSON Lines on stdout (or any text stream)
  WebhookSink(url, secret=...)         HTTP POST, body = the alert JSON; headers Idempotency-Key and
                                       X-Slapolicy-Alert-Id (the id), X-Slapolicy-Signature: sha256=<hex
                                       HMAC-SHA256 of the exact body bytes with the shared secret>.
                                       2xx = delivered. 408/425/429/5xx and network errors are retried
                                       within the call (backoff, cap, Retry-After honoured up to the cap),
                                       then left to the store's schedule; another 4xx is not retried in the
                                       call (the receiver refused it) but stays in the outbox.
  FanoutSink([sink, ...])              every one of them (an alert is delivered when all took it)
  CommandSink(["cmd", "arg"])          runs the command with the alert JSON on stdin (and
                                       SLAPOLICY_ALERT_ID in its environment); exit 0 = delivered,
                                       non-zero or a timeout = retry later.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol

from slapolicy.monitor.store import Alert, MonitorStore

SIGNATURE_HEADER = "X-Slapolicy-Signature"
ALERT_ID_HEADER = "X-Slapolicy-Alert-Id"
RETRYABLE_STATUS = {408, 425, 429}


class DeliveryError(Exception):
    """A sink could not deliver an alert this time; it stays in the outbox."""


def alert_body(alert: Alert) -> bytes:
    """The bytes every sink delivers: the alert's payload with its `id`, keys sorted, one line."""
    return json.dumps({**alert.payload, "id": alert.id}, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode()


def sign(body: bytes, secret: str | bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str | bytes, header: str | None) -> bool:
    """For receivers (and tests): does the signature header match the body?"""
    return header is not None and hmac.compare_digest(sign(body, secret), header)


def backoff(attempt: int, base: float, cap: float) -> float:
    """Seconds before retry number `attempt` (0 = the first retry): base * 2**attempt, at most cap."""
    return min(cap, base * (2 ** min(attempt, 62)))


class Sink(Protocol):
    name: str

    def send(self, alert: Alert, body: bytes) -> None:
        """Deliver one alert; return when the receiver has it, raise DeliveryError otherwise."""


class StdoutSink:
    name = "stdout"

    def __init__(self, stream=None):
        self.stream = stream

    def send(self, alert, body):
        stream = self.stream or sys.stdout
        try:
            stream.write(body.decode() + "\n")
            stream.flush()
        except (OSError, ValueError) as exc:
            raise DeliveryError(f"stdout: {exc}") from None


class WebhookSink:
    name = "webhook"

    def __init__(self, url: str, secret: str | bytes | None = None, *, timeout: float = 10.0, retries: int = 3,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0, headers: dict | None = None, sleep=time.sleep):
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"a webhook URL is http:// or https://, not {url!r}")
        self.url, self.secret, self.timeout = url, secret, timeout
        self.retries, self.backoff_base, self.backoff_cap = retries, backoff_base, backoff_cap
        self.headers = dict(headers or {})
        self.sleep = sleep
        self.requests = 0  # HTTP requests sent, for tests and metrics

    def _headers(self, alert, body):
        headers = {"Content-Type": "application/json", "User-Agent": "slapolicy-monitor",
                   "Idempotency-Key": alert.id, ALERT_ID_HEADER: alert.id, **self.headers}
        if self.secret is not None:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        return headers

    def _post(self, alert, body):
        """None when delivered; else (retryable, message, retry_after seconds or None)."""
        request = urllib.request.Request(self.url, data=body, method="POST", headers=self._headers(alert, body))
        self.requests += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read(65536)
                return None
        except urllib.error.HTTPError as exc:
            retry_after = exc.headers.get("Retry-After") if exc.headers else None
            retry_after = float(retry_after) if retry_after and retry_after.strip().isdigit() else None
            retryable = exc.code in RETRYABLE_STATUS or exc.code >= 500
            return retryable, f"HTTP {exc.code} {exc.reason}", retry_after
        except (urllib.error.URLError, OSError) as exc:  # refused, reset, timed out
            return True, f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}", None

    def send(self, alert, body):
        for attempt in range(self.retries + 1):
            failure = self._post(alert, body)
            if failure is None:
                return
            retryable, message, retry_after = failure
            if not retryable or attempt == self.retries:
                tries = attempt + 1
                raise DeliveryError(f"webhook {self.url}: {message} ({tries} attempt{'s' * (tries > 1)})")
            delay = backoff(attempt, self.backoff_base, self.backoff_cap)
            if retry_after is not None:
                delay = min(self.backoff_cap, max(delay, retry_after))
            self.sleep(delay)


class CommandSink:
    name = "command"

    def __init__(self, command, *, timeout: float = 30.0, env: dict | None = None):
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.argv:
            raise ValueError("a command sink needs a command")
        self.timeout, self.env = timeout, env

    def send(self, alert, body):
        env = {**os.environ, **(self.env or {}), "SLAPOLICY_ALERT_ID": alert.id}
        try:
            proc = subprocess.run(self.argv, input=body + b"\n", capture_output=True, timeout=self.timeout, env=env)
        except subprocess.TimeoutExpired:
            raise DeliveryError(f"command {self.argv[0]}: no exit within {self.timeout:g} s") from None
        except OSError as exc:
            raise DeliveryError(f"command {self.argv[0]}: {exc}") from None
        if proc.returncode != 0:
            tail = proc.stderr.decode(errors="replace").strip()[-500:]
            raise DeliveryError(f"command {self.argv[0]} exited {proc.returncode}" + (f": {tail}" if tail else ""))


class FanoutSink:
    """Several sinks: an alert is delivered when every sink took it. When one fails, the alert stays in
    the outbox and is retried on all of them (a sink that took it already sees it again, same id)."""
    name = "fanout"

    def __init__(self, sinks):
        self.sinks = list(sinks)

    def send(self, alert, body):
        for sink in self.sinks:
            sink.send(alert, body)


def open_sink(spec: str, *, secret: str | None = None) -> Sink:
    """A sink from a command-line spec: `stdout`, `http(s)://...` (a webhook), `exec:COMMAND ARGS`."""
    if spec in ("stdout", "-"):
        return StdoutSink()
    if spec.startswith(("http://", "https://")):
        return WebhookSink(spec, secret)
    if spec.startswith("exec:"):
        return CommandSink(spec[len("exec:"):])
    raise ValueError(f"unknown sink {spec!r}: stdout, http(s)://URL or exec:COMMAND")


@dataclass
class DeliveryReport:
    delivered: int = 0
    failed: int = 0
    errors: list = None

    def __post_init__(self):
        self.errors = self.errors or []


def deliver_pending(store: MonitorStore, sink: Sink, *, limit: int = 100, now: dt.datetime | None = None,
                    lease: dt.timedelta = dt.timedelta(minutes=5), retry_base: float = 30.0,
                    retry_cap: float = 3600.0) -> DeliveryReport:
    """One pass over the due undelivered alerts (at most `limit`): send each, mark it delivered at once.
    A failed alert's next attempt is `backoff(attempts, retry_base, retry_cap)` seconds from now."""
    now = now or dt.datetime.now(dt.timezone.utc)
    report = DeliveryReport()
    for alert in store.pending_alerts(limit, now=now, lease=lease):
        try:
            sink.send(alert, alert_body(alert))
        except Exception as exc:  # any sink failure: count it, keep the alert, go on with the others
            retry_at = now + dt.timedelta(seconds=backoff(alert.attempts, retry_base, retry_cap))
            store.mark_failed(alert.id, str(exc), retry_at)
            report.failed += 1
            report.errors.append((alert.id, str(exc)))
            continue
        store.mark_delivered([alert.id])
        report.delivered += 1
    return report
