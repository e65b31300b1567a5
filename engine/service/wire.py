"""A response's status line and headers go out in one write with its body (issue 17: the server's CPU
per request).

uvicorn's httptools protocol writes a response in two `transport.write` calls: the status line and
headers when the app sends `http.response.start`, then the body; uvloop sends each at once, so every
response cost two send(2) calls and two TCP segments on loopback (and two wake-ups of the client).
`HeadHolder` stands between one request-response cycle and the connection's transport: it keeps the
head until the cycle's next write (the body, which the evaluate route sends right after) and hands
both to the transport at once (`writelines`: one writev(2) with uvloop, no copy of the body); if
the body does not follow in the same turn of the event loop (a streaming response awaiting its
first chunk, a HEAD request), the head goes out on its own at the end of that turn
(`loop.call_soon`). A close writes a held head first, so the bytes on the wire, and their order,
are what uvicorn wrote.

hardening.protocol_class puts one in each cycle (`cycle.transport`, which the cycle writes its
response through); the protocol itself keeps the transport (reading, flow control, timeouts).
"""
from __future__ import annotations


class HeadHolder:
    """The transport of one uvicorn RequestResponseCycle: write, close, is_closing, as the cycle uses them."""

    __slots__ = ("transport", "cycle", "loop", "held", "started")

    def __init__(self, transport, cycle, loop):
        self.transport = transport
        self.cycle = cycle
        self.loop = loop
        self.held = None  # the response head, not written yet
        self.started = False  # the head has come (held or written)

    def write(self, data) -> None:
        held = self.held
        if held is not None:  # the body after its head: one write
            self.held = None
            self.transport.writelines((held, data))
        elif not self.started and self.cycle.response_started:  # the head (a `100 Continue` comes before it)
            self.started = True
            self.held = data
            self.loop.call_soon(self.flush)
        else:
            self.transport.write(data)

    def flush(self) -> None:
        """write the held head, if any (the end of the loop turn it came in, or a close)"""
        held = self.held
        if held is not None:
            self.held = None
            if not self.transport.is_closing():
                self.transport.write(held)

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def is_closing(self) -> bool:
        return self.transport.is_closing()
