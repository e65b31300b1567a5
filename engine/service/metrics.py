"""Prometheus metrics of the HTTP service (prometheus_client, one registry per app).

Measured cost on the 2-core dev machine: a few microseconds per request for the counters and the
histogram together, against hundreds of microseconds for the request itself: cheap enough, and the
library gets the text format (escaping, histogram buckets, HELP/TYPE lines) right.

Except the two series of every request, the requests counter and the latency histogram (issue 17: with
the evaluate route answered in the protocol, their Counter.inc and Histogram.observe, each a lock, checks
and a loop over the buckets, were ~20 k of a request's ~340 k instructions): `RequestSeries` keeps them as
plain numbers (a count, a bucket found by bisection and a sum; the event loop's thread is the only one
that counts requests) and hands them to prometheus_client as metric families when the registry is read,
so the text is the library's, as before: the same names, HELP and TYPE lines, labels, buckets and order.

Labels are bounded: `route` is the route template (`/v1/policies/{id}/evaluate`, or `unmatched`),
`policy` is a policy id the store serves, `tier` a tier id of that policy (or `none`).
"""
from __future__ import annotations

from bisect import bisect_left

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.utils import floatToGoString

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self):
        disable_created_metrics()  # no `*_created` series: they double the output and nobody reads them
        r = self.registry = CollectorRegistry(auto_describe=True)
        series = RequestSeries()
        r.register(series)
        self.requests, self.latency = series.requests, series.latency
        self.decisions = Counter("slapolicy_decisions", "Decisions made, by policy, eligibility and tier",
                                 ["policy", "eligibility", "tier"], registry=r)
        self.errors = Counter("slapolicy_errors", "Errors returned (whole requests and batch items), by code",
                              ["route", "code"], registry=r)
        self.reloads = Counter("slapolicy_policy_reloads", "Policy files loaded, reloaded, refused or removed",
                               ["policy", "event"], registry=r)
        self.refused = Gauge("slapolicy_policy_refused", "1 while the policy's file on disk is refused by the checker",
                             ["policy"], registry=r)
        self._refused_labels: set = set()
        self._children: dict = {}  # bounded as the labels are (see the module docstring)
        self.policies = Gauge("slapolicy_policies_served", "Policies being served", registry=r)

    def child(self, metric, *labels):
        """metric.labels(*labels), memoised: labels() takes a lock and builds a key on every call"""
        key = (id(metric),) + labels
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def decision(self, decision: dict):
        tier = decision.get("tier")
        self.child(self.decisions, decision["policy"]["id"], decision["eligibility"]["status"],
                   tier["id"] if tier else "none").inc()

    def error(self, route: str, code: str):
        self.errors.labels(route, code).inc()

    def sync_store(self, snapshot):
        """Refresh the policy gauges from a store snapshot (called on /metrics and /readyz)."""
        self.policies.set(len(snapshot.policies))
        present = set(snapshot.policies) | set(snapshot.refused)
        for pid in self._refused_labels - present:  # a removed policy leaves no stale series
            self.refused.remove(pid)
        for pid in present:
            self.refused.labels(pid).set(1 if pid in snapshot.refused else 0)
        self._refused_labels = present

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Count:
    __slots__ = ("value",)

    def __init__(self):
        self.value = 0

    def inc(self, amount=1):
        self.value += amount


class _Latency:
    __slots__ = ("counts", "sum")

    def __init__(self):
        self.counts = [0] * (len(BUCKETS) + 1)  # per bucket (not cumulative); the last is +Inf
        self.sum = 0.0

    def observe(self, amount: float):
        self.counts[bisect_left(BUCKETS, amount)] += 1  # the first bound >= amount, as Histogram.observe
        self.sum += amount


class _Family:
    """labels(*values) -> the child of those label values (made on first use, kept in that order)"""

    def __init__(self, child):
        self.child = child
        self.children: dict = {}

    def labels(self, *values):
        found = self.children.get(values)
        if found is None:
            found = self.children[values] = self.child()
        return found


class RequestSeries:
    """The requests counter and the latency histogram as a prometheus_client collector (module docstring)."""

    def __init__(self):
        self.requests = _Family(_Count)
        self.latency = _Family(_Latency)

    def collect(self):
        requests = CounterMetricFamily("slapolicy_http_requests", "HTTP requests by route, method and status",
                                       labels=["route", "method", "status"])
        for values, count in list(self.requests.children.items()):
            requests.add_metric(values, float(count.value))
        yield requests
        latency = HistogramMetricFamily("slapolicy_http_request_duration_seconds", "HTTP request latency by route",
                                        labels=["route"])
        for values, child in list(self.latency.children.items()):
            buckets, total = [], 0.0
            for bound, count in zip((*BUCKETS, float("inf")), child.counts):
                total += count
                buckets.append((floatToGoString(bound), total))
            latency.add_metric(values, buckets, child.sum)
        yield latency
