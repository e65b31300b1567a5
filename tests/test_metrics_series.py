"""The request series of the HTTP service (engine/service/metrics.py `RequestSeries`: plain numbers handed to
prometheus_client when the registry is read) give the text prometheus_client's own Counter and Histogram give
for the same requests: names, HELP and TYPE lines, labels, buckets (bounds included), sums, series order."""
from __future__ import annotations

import random

import pytest

pytest.importorskip("prometheus_client")
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics  # noqa: E402
from prometheus_client.exposition import generate_latest  # noqa: E402
from slapolicy.service.metrics import BUCKETS, RequestSeries  # noqa: E402


def reference():
    disable_created_metrics()
    registry = CollectorRegistry(auto_describe=True)
    requests = Counter("slapolicy_http_requests", "HTTP requests by route, method and status",
                       ["route", "method", "status"], registry=registry)
    latency = Histogram("slapolicy_http_request_duration_seconds", "HTTP request latency by route", ["route"],
                        buckets=BUCKETS, registry=registry)
    return registry, requests, latency


def light():
    registry = CollectorRegistry(auto_describe=True)
    series = RequestSeries()
    registry.register(series)
    return registry, series.requests, series.latency


def test_the_request_series_read_as_prometheus_clients_own():
    rnd = random.Random(7)
    seconds = [0.0, 1e-9, *BUCKETS, *(b * 1.0001 for b in BUCKETS), 11.0, 1e6] + [rnd.random() ** 4 * 4 for _ in range(500)]
    texts = []
    for registry, requests, latency in (reference(), light()):
        empty = generate_latest(registry)
        for i, value in enumerate(seconds):
            route = ("/v1/policies/{id}/evaluate", "unmatched", "/healthz", 'odd "route"\\n')[i % 4]
            requests.labels(route, ("POST", "GET", "other")[i % 3], str((200, 404, 422, 500)[i % 4 if i % 5 else 3])).inc()
            latency.labels(route).observe(value)
        texts.append((empty, generate_latest(registry)))
    assert texts[0] == texts[1]
    assert b'le="0.0005"' in texts[1][1] and b"slapolicy_http_requests_total{" in texts[1][1]
