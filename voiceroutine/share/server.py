"""Run the share app on the local network with uvicorn, until Ctrl-C or the timeout."""

from __future__ import annotations

import errno
import functools
import ipaddress
import io
import secrets
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from ..errors import VoiceRoutineError
from .guard import GuardedH11Protocol, GuardedServer, Limits, file_limit

EVERY_INTERFACE = "0.0.0.0"


class ShareError(VoiceRoutineError):
    """The server could not start."""


@dataclass(frozen=True)
class Share:
    url: str  # the page, token included
    feed_url: str
    bound: tuple[str, int]  # the address the socket listens on
    local_only: bool  # no other device can reach it


def lan_address() -> str:
    """This machine's address on the local network, or 127.0.0.1 when it has none.

    Connecting a UDP socket sends nothing; it only asks the kernel which
    interface would carry traffic out, and so which address phones can reach.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed to anyone
            return probe.getsockname()[0]
        except OSError:
            pass
    try:
        address = socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"
    return address


def open_socket(host: str | None, port: int | None, default_port: int) -> socket.socket:
    """A listening socket; the default port falls back to any free one when taken."""
    bind_host = host or EVERY_INTERFACE
    family = socket.AF_INET6 if ":" in bind_host else socket.AF_INET
    for candidate in [port] if port is not None else [default_port, 0]:
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on connections accepted from such a socket; without
        # it Nagle's algorithm meets the client's delayed ACK, and each kept-alive request waits ~40 ms.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((bind_host, candidate))
            sock.listen(128)
            return sock
        except OSError as e:
            sock.close()
            if e.errno == errno.EADDRINUSE and port is None:
                continue
            if e.errno == errno.EADDRINUSE:
                raise ShareError(f"port {port} is already in use; choose another with --port, or leave it out") from None
            if e.errno == errno.EACCES:
                raise ShareError(f"not allowed to listen on port {port}; ports below 1024 need root, so pick a higher one") from None
            raise ShareError(f"cannot listen on {bind_host}: {e.strerror}; check --host is an address of this machine") from None
    raise AssertionError("port 0 is always free")


def new_token() -> str:
    return secrets.token_urlsafe(12)


def describe(sock: socket.socket, host: str | None, token: str) -> Share:
    bound_host, port = sock.getsockname()[:2]
    shown = host if host and host not in (EVERY_INTERFACE, "::") else lan_address()
    url_host = f"[{shown}]" if ":" in shown else shown
    url = f"http://{url_host}:{port}/{token}/"
    return Share(url, url + "feed.xml", (bound_host, port), _is_loopback(shown))


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def qr_code(url: str) -> str:
    """The URL as a QR code drawn with block characters, for a phone's camera to scan."""
    import segno

    out = io.StringIO()
    segno.make(url, error="m").terminal(out=out, compact=True)
    return out.getvalue()


class ShareServer:
    """The share app served by uvicorn on a socket opened by ``open_socket``.

    ``limits`` bound how long a client may take and how many connections stay
    open (by default, below this process's file limit; see guard.py).
    """

    def __init__(
        self,
        folder: Path,
        sock: socket.socket,
        token: str,
        folder_label: str | None = None,
        studio: bool = False,
        limits: Limits | None = None,
    ) -> None:
        from .app import make_app
        from .studio import Studio, build_with_library

        limits = limits or Limits.for_file_limit(file_limit())
        self._studio = Studio(folder, build_with_library) if studio else None
        app = make_app(folder, token, folder_label, self._studio, limits)
        config = uvicorn.Config(
            app,
            http=functools.partial(GuardedH11Protocol, limits=limits),
            timeout_keep_alive=limits.head_timeout_s,  # an idle kept-alive connection closes as a half-sent one does
            backlog=limits.accept_burst,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=3,
            server_header=False,
        )
        self._server = GuardedServer(config)
        self._sock = sock
        self._timed_out = threading.Event()

    def run(self, timeout_s: float | None = None) -> str:
        """Serve until Ctrl-C, SIGTERM, ``stop()`` or the timeout; returns "timeout" or "stopped"."""
        timer = threading.Timer(timeout_s, self._time_up) if timeout_s else None
        if timer:
            timer.daemon = True
            timer.start()
        try:
            self._server.run(sockets=[self._sock])
        except KeyboardInterrupt:
            pass  # uvicorn shut down gracefully, then passed the signal on
        finally:
            if timer:
                timer.cancel()
            if self._studio:
                self._studio.close()
            self._sock.close()
        return "timeout" if self._timed_out.is_set() else "stopped"

    def stop(self) -> None:
        self._server.should_exit = True

    def _time_up(self) -> None:
        self._timed_out.set()
        self.stop()
