"""A real uvicorn serving an ASGI app on 127.0.0.1, on a port the OS picked, in a thread (tests only)."""
import socket
import threading
import time

import uvicorn


class LiveServer:
    def __init__(self, app, **limits):
        """`limits`: the options of slapolicy.service.hardening.server_config (as `slapolicy serve` runs
        uvicorn: header timeout, keep-alive, ...); without them a plain uvicorn.Config."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        if limits:
            from slapolicy.service.hardening import server_config

            config = server_config(app, log_level="warning", lifespan="on", **limits)
        else:
            config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "the server did not start"
            time.sleep(0.02)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)


# -- comparing two servers that answered the same requests (tests/test_fastroute.py, tests/test_lane.py) --------
def request_series(app) -> list:
    """the request, error and decision series of an app's /metrics (the latency histogram aside), sorted"""
    text = app.state.service.metrics.render().decode()
    return sorted(line for line in text.splitlines()
                  if line.startswith(("slapolicy_http_requests", "slapolicy_errors", "slapolicy_decisions"))
                  and not line.startswith("slapolicy_http_request_duration"))


def decision_log(directory, made_up_ids: bool = False) -> list:
    """the records of a decision log (directory/decisions.jsonl) without their time; `made_up_ids`: request ids
    the server made up (32 hex digits) masked"""
    import json
    import re

    out = []
    for line in (directory / "decisions.jsonl").read_text().splitlines():
        record = {k: v for k, v in json.loads(line).items() if k != "at"}
        if made_up_ids and re.fullmatch("[0-9a-f]{32}", record["request_id"]):
            record["request_id"] = "(made up)"
        out.append(record)
    return out
