"""`voiceroutine share` keeps answering whatever clients do: idle and half-sent requests are closed,
connections are capped below the file limit, and a flood of them cannot keep a phone out.

Everything runs on loopback. The flood runs the server in a subprocess with a file limit of 64, as a
small machine might have; the timeouts in these tests only guard against a hang, nothing is timed.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import resource
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from voiceroutine.share.guard import Limits, file_limit
from voiceroutine.share.server import ShareServer, describe, new_token, open_socket

integration = pytest.mark.integration

GUARD_S = 30  # only ever reached if the server fails to do what is tested
FLOOD = 300
FILE_LIMIT = 64
HALF_HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow"  # never ends with the blank line


class Server:
    """The share server in this process on loopback, with the limits given."""

    def __init__(self, folder: Path, limits: Limits, studio: bool = False) -> None:
        self.token = new_token()
        sock = open_socket("127.0.0.1", 0, 0)
        self.port = sock.getsockname()[1]
        self.url = describe(sock, "127.0.0.1", self.token).url
        self.server = ShareServer(folder, sock, self.token, studio=studio, limits=limits)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        wait_until_answering(self.port, self.token)
        return self

    def __exit__(self, *exc) -> None:
        self.server.stop()
        self.thread.join(timeout=10)

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=GUARD_S)


def wait_until_answering(port: int, token: str) -> None:
    for _ in range(400):
        try:
            assert get(port, f"/{token}/").status == 200
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("the share server never answered")


def get(port: int, path: str) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=GUARD_S)
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has closed this connection, without waiting."""
    sock.setblocking(False)
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True  # reset


def wait_for_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection; fails if it never does."""
    sock.settimeout(GUARD_S)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError(f"the server kept the connection open for {GUARD_S} s") from None
    return received


# Idle and half-sent requests


@integration
@pytest.mark.parametrize("sent", [b"", HALF_HEAD], ids=["nothing", "half-a-head"])
def test_a_request_head_that_never_completes_is_closed(shared_folder, sent):
    """A connection that sends nothing, or half a request, is closed by the server, not held for ever."""
    with Server(shared_folder, Limits(head_timeout_s=1)) as server, server.connect() as sock:
        sock.sendall(sent)
        assert wait_for_close(sock) == b""
        assert get(server.port, f"/{server.token}/").status == 200


@integration
@pytest.mark.parametrize("then", [b"", HALF_HEAD], ids=["idle", "half-a-head"])
def test_a_kept_alive_connection_is_closed_when_idle_or_half_sent(shared_folder, then):
    """After a response, a kept-alive connection that stays idle, or starts a request and stalls, is closed."""
    with Server(shared_folder, Limits(head_timeout_s=1)) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=GUARD_S)
        connection.request("GET", f"/{server.token}/feed.xml")
        response = connection.getresponse()
        assert response.status == 200 and response.read().startswith(b"<?xml")
        assert not response.will_close  # the server kept it alive
        connection.sock.sendall(then)
        assert wait_for_close(connection.sock) == b""
        connection.close()


@integration
def test_a_studio_form_that_never_finishes_arriving_is_408(shared_folder):
    """A build request whose body stalls gets 408 and the connection closes; nothing is built."""
    before = sorted(p.name for p in shared_folder.iterdir())
    with Server(shared_folder, Limits(body_timeout_s=1), studio=True) as server, server.connect() as sock:
        head = f"POST /{server.token}/studio/build HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
        sock.sendall(head.encode() + b'{"base": "bed')
        reply = wait_for_close(sock)
    assert reply.startswith(b"HTTP/1.1 408 "), reply[:200]
    assert b"too long" in reply
    assert sorted(p.name for p in shared_folder.iterdir()) == before


# The connection cap


@integration
def test_when_every_connection_is_busy_a_new_one_hears_503(shared_folder):
    """At the cap with no idle connection to close, a newcomer is told 503 at once; once one ends, requests work again."""
    limits = Limits(head_timeout_s=GUARD_S, body_timeout_s=GUARD_S, max_connections=2)
    with Server(shared_folder, limits, studio=True) as server:
        busy = []
        for _ in range(2):  # a build request whose form is still arriving: a request in progress
            sock = server.connect()
            head = "Content-Type: application/json\r\nContent-Length: 99\r\nExpect: 100-continue\r\n"
            sock.sendall(f"POST /{server.token}/studio/build HTTP/1.1\r\nHost: x\r\n{head}\r\n".encode())
            # The app asks for the body, so "100 Continue" says the head was read and the request is under way.
            assert sock.recv(100).startswith(b"HTTP/1.1 100 ")
            busy.append(sock)
        with server.connect() as newcomer:
            newcomer.sendall(f"GET /{server.token}/ HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            reply = wait_for_close(newcomer)
        assert reply.startswith(b"HTTP/1.1 503 "), reply[:200]
        assert all(not closed_by_server(sock) for sock in busy)
        busy.pop().close()
        for _ in range(100):  # the server notices the close on its next turn
            try:
                if get(server.port, f"/{server.token}/").status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        else:
            raise AssertionError("no request got through after a busy connection ended")
        for sock in busy:
            sock.close()


def test_the_cap_leaves_room_below_the_file_limit():
    """Each connection may hold its socket and one file it sends, plus three bursts of accepts: all under the limit."""
    for limit in (64, 128, 256, 1024, 4096, 1 << 20):
        limits = Limits.for_file_limit(limit)
        assert 4 <= limits.max_connections
        assert 1 <= limits.accept_burst <= limits.max_connections
        assert 2 * limits.max_connections + 3 * limits.accept_burst < limit - 16, limit
    assert file_limit() == resource.getrlimit(resource.RLIMIT_NOFILE)[0]


FLOOD_SERVER = """
import sys
from pathlib import Path
from voiceroutine.share.guard import Limits, file_limit
from voiceroutine.share.server import ShareServer, open_socket

sock = open_socket("127.0.0.1", 0, 0)
print(sock.getsockname()[1], flush=True)
# Heads are given a minute, so only the connection cap can keep the server answering during the flood.
limits = Limits.for_file_limit(file_limit(), head_timeout_s=60)
ShareServer(Path(sys.argv[1]), sock, sys.argv[2], limits=limits).run(timeout_s=120)
"""


def low_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FILE_LIMIT, FILE_LIMIT))


@integration
def test_a_flood_of_half_sent_requests_cannot_keep_a_phone_out(shared_folder, tmp_path):
    """300 connections that send half a request and wait, against a server allowed 64 files: a real request
    is still answered, the server never runs out of files, and it keeps no more connections than its cap."""
    token = new_token()
    cap = Limits.for_file_limit(FILE_LIMIT).max_connections
    server = subprocess.Popen(
        [sys.executable, "-c", FLOOD_SERVER, str(shared_folder), token],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=low_file_limit,
    )
    flood: list[socket.socket] = []
    try:
        port = int(server.stdout.readline())
        wait_until_answering(port, token)
        for _ in range(FLOOD):
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=GUARD_S)
            except TimeoutError:
                break  # the server stopped accepting: the request below tells whether it still answers
            flood.append(sock)
            try:
                sock.sendall(HALF_HEAD)
            except OSError:
                pass  # already closed to make room for a newer one
        assert len(flood) > 2 * cap
        page = get(port, f"/{token}/")
        assert page.status == 200
        files_open = len(os.listdir(f"/proc/{server.pid}/fd"))
        still_open = sum(not closed_by_server(sock) for sock in flood)
    finally:
        for sock in flood:
            sock.close()
        server.terminate()
        _, errors = server.communicate(timeout=GUARD_S)
    assert files_open < FILE_LIMIT
    assert still_open <= cap < FLOOD
    assert "out of system resource" not in errors and "Too many open files" not in errors, errors
    assert "Traceback" not in errors, errors


# Keep-alive speed: TCP_NODELAY (measured in scripts/bench.py; here, that it is set)


def test_connections_accepted_from_the_share_socket_have_nagle_off():
    """asyncio turns Nagle off only on connections from a socket made with IPPROTO_TCP: open_socket makes one."""

    async def accept_one() -> int:
        sock = open_socket("127.0.0.1", 0, 0)
        accepted: asyncio.Future = asyncio.get_running_loop().create_future()

        class Protocol(asyncio.Protocol):
            def connection_made(self, transport) -> None:
                accepted.set_result(transport.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Protocol, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            nodelay = await asyncio.wait_for(accepted, GUARD_S)
            writer.close()
        return nodelay

    assert asyncio.run(accept_one()) != 0
