"""Keeping the share server answering whatever its clients do.

uvicorn closes a kept-alive connection left idle, but holds one whose request
head never completes for as long as the client likes, and accepts connections
until the process runs out of file descriptors; then no phone gets an answer.
Here every request head has a deadline, and connections are capped below the
file limit: at the cap, a new connection closes the one that has waited
longest without a complete request (an idle or half-sent one), and when every
connection is busy with a real request, the newcomer hears 503.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

MAX_CONNECTIONS = 256
MAX_ACCEPT_BURST = 128
LISTEN_QUEUE = 1024  # connections the kernel holds until they are accepted: they use no descriptor of ours
# Descriptors kept for the rest of the process: the interpreter and event loop, the catalog's
# reads, and a studio build's ffmpeg pipes, synthesis workers and cache files.
RESERVED_FILES = 32
ARRIVING_BURSTS = 3
BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\nretry-after: 5\r\n"
    b"connection: close\r\ncontent-length: 36\r\n\r\nToo many connections; try again soon."
)


@dataclass(frozen=True)
class Limits:
    """How long a client may take, and how many connections the server keeps open at once."""

    head_timeout_s: float = 5.0  # from connecting, or from the previous response, to the end of the request head
    body_timeout_s: float = 10.0  # for the studio's form to arrive once its head has
    max_connections: int = MAX_CONNECTIONS
    accept_burst: int = MAX_ACCEPT_BURST  # connections accepted at once, each time round the event loop

    @classmethod
    def for_file_limit(cls, file_limit: int, **timeouts: float) -> Limits:
        """Limits that keep every connection and a file it sends, and the connections still arriving, under ``file_limit``.

        asyncio accepts up to ``accept_burst`` connections each time round its loop, and a
        connection closed to make room lets go of its descriptor two rounds later: so three bursts
        may be open beyond the cap at once.
        """
        usable = max(16, file_limit - RESERVED_FILES)
        burst = max(1, min(MAX_ACCEPT_BURST, usable // 8))
        return cls(max_connections=min(MAX_CONNECTIONS, (usable - ARRIVING_BURSTS * burst) // 2), accept_burst=burst, **timeouts)


def file_limit() -> int:
    """How many files this process may have open (the soft RLIMIT_NOFILE)."""
    try:
        import resource
    except ImportError:  # Windows: no rlimit; its C runtime allows 512 files by default
        return 512
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline on each request head and a cap on connections."""

    def __init__(self, *args, limits: Limits, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self._head_deadline: asyncio.TimerHandle | None = None
        self._waiting_since = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections and not self._make_room():
            transport.write(BUSY)
            transport.close()
            return
        self._await_head()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete:
            self._stop_waiting()  # a whole head arrived: the request is the app's now

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # A pipelined request may have started already; otherwise the next head is awaited.
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    @property
    def waiting(self) -> bool:
        """Whether the connection waits for a request head: idle, or half-sent."""
        return self._head_deadline is not None

    def _await_head(self) -> None:
        self._stop_waiting()
        self._waiting_since = time.monotonic()
        self._head_deadline = self.loop.call_later(self.limits.head_timeout_s, self._close_waiting)

    def _stop_waiting(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _close_waiting(self) -> None:
        self._stop_waiting()
        self.transport.close()

    def _make_room(self) -> bool:
        """Close the connection that has waited longest for a request head; False when none is waiting."""
        waiting = [c for c in self.connections if c is not self and isinstance(c, GuardedH11Protocol) and c.waiting]
        if not waiting:
            return False
        min(waiting, key=lambda c: c._waiting_since)._close_waiting()
        return True


class GuardedServer(uvicorn.Server):
    """uvicorn's server with a long queue of connections waiting in the kernel.

    uvicorn hands asyncio one number for both the kernel's queue and how many connections are
    accepted each time round the loop. The second must stay small to bound descriptors (the
    config's ``backlog`` is ``Limits.accept_burst``); with the first as small, a flood fills the
    queue and the kernel drops a phone's connection, which retries only a second or more later.
    """

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        for sock in sockets or ():
            sock.listen(LISTEN_QUEUE)  # on a listening socket this changes only the queue's length
