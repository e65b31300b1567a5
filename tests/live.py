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
