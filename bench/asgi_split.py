"""The HTTP service's own CPU per request, without sockets: the ASGI app called directly.

    python bench/asgi_split.py [--policy ID] [--requests N] [--profile]

Builds the app of `slapolicy serve` (create_app, the bundled policies), and calls it in-process with a
fake receive/send for POST /v1/policies/{id}/evaluate (explained and explain=false), the body whole in
the first receive as uvicorn hands a small body over. Prints, per scenario, the CPU per request of the
whole app, of the decision alone (decode + Policy.decide + orjson.dumps of the decision, as the app does
them) and the difference: the service's own part (routing, checks, metrics, the response, the request
id). uvicorn's HTTP parsing is not in these figures (bench/load.py measures the whole server).
`--profile`: a cProfile of the app calls, the top functions by own time.
"""
import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from load import tickets_for  # noqa: E402


def scope_of(path, query=b""):
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
            "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 50000), "scheme": "http", "method": "POST",
            "root_path": "", "path": path, "raw_path": path.encode(), "query_string": query,
            "headers": [(b"host", b"127.0.0.1"), (b"content-type", b"application/json"),
                        (b"content-length", b"0")]}


async def call(app, path, query, body):
    scope = scope_of(path, query)
    scope["headers"][2] = (b"content-length", str(len(body)).encode())
    sent = []

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        sent.append(message)

    await app(scope, receive, send)
    return sent


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--policy", default="bitrix-inc")
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--profile", action="store_true")
    args = p.parse_args(argv)
    from slapolicy.service.app import _decode_ticket, create_app
    from slapolicy.service.http import dumps

    app = create_app()
    service = app.state.service
    policy = service.policy(args.policy)
    bodies = [json.dumps(t).encode() for t in tickets_for(args.policy, None)]
    path = f"/v1/policies/{args.policy}/evaluate"
    loop = asyncio.new_event_loop()
    n = args.requests

    def run_app(query):
        async def many():
            for i in range(n):
                await call(app, path, query, bodies[i % len(bodies)])
        loop.run_until_complete(many())

    def run_decision(explain):
        for i in range(n):
            body = bodies[i % len(bodies)]
            dumps(policy.decide(_decode_ticket(body, policy), as_of=None, explain=explain, edition=None,
                                unknown_facts=False))

    for query, explain, name in ((b"", True, "single"), (b"explain=false", False, "single, explain=false")):
        sent = loop.run_until_complete(call(app, path, query, bodies[0]))
        assert sent[0]["status"] == 200, sent
        run_app(query)  # warm-up
        run_decision(explain)
        best_app = best_dec = float("inf")
        for _ in range(3):
            t = time.process_time()
            run_app(query)
            best_app = min(best_app, (time.process_time() - t) / n)
            t = time.process_time()
            run_decision(explain)
            best_dec = min(best_dec, (time.process_time() - t) / n)
        print(f"{name:24} app {best_app * 1e6:7.1f} us  decision {best_dec * 1e6:7.1f} us  "
              f"own {(best_app - best_dec) * 1e6:7.1f} us  (best of 3 x {n})")
    if args.profile:
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        run_app(b"explain=false")
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(35)


if __name__ == "__main__":
    main()
