"""Tiny 127.0.0.1 servers for the telemetry tests: one that never answers, one that records pushes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness.telemetry.config import HostPort


@contextmanager
def silent_server() -> Iterator[HostPort]:
    """Accepts TCP connections and never answers: a hung Pushgateway."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            accepted.append(connection)  # kept open, never read from or written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield HostPort("127.0.0.1", listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in accepted:
            connection.close()
        listener.close()


def refused_tcp_port() -> HostPort:
    """A port nothing listens on (bound, then released)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return HostPort("127.0.0.1", port)


def refused_udp_port() -> HostPort:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return HostPort("127.0.0.1", port)


@dataclass
class RecordedPush:
    method: str
    path: str
    body: bytes


@dataclass
class RecordingGateway:
    address: HostPort
    pushes: list[RecordedPush] = field(default_factory=list)


@contextmanager
def recording_gateway() -> Iterator[RecordingGateway]:
    """Accepts every PUT/POST like a Pushgateway and records it."""
    recorded: list[RecordedPush] = []

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            recorded.append(RecordedPush(self.command, self.path, self.rfile.read(length)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_PUT = _record  # noqa: N815 (http.server's naming)
        do_POST = _record  # noqa: N815

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield RecordingGateway(HostPort("127.0.0.1", server.server_address[1]), recorded)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


SENTINEL = b"sentinel:0|g"


@dataclass
class RecordingStatsd:
    address: HostPort
    datagrams: list[bytes] = field(default_factory=list)

    def received(self, timeout_s: float = 10.0) -> list[bytes]:
        """Every datagram sent before this call: a sentinel sent now arrives after them (loopback keeps
        the order), so waiting for it means nothing sent earlier is still on its way."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            sender.sendto(SENTINEL, (self.address.host, self.address.port))
        deadline = time.monotonic() + timeout_s
        while SENTINEL not in self.datagrams and time.monotonic() < deadline:
            time.sleep(0.01)
        assert SENTINEL in self.datagrams, "the recording StatsD server never got the sentinel"
        return self.datagrams[: self.datagrams.index(SENTINEL)]


@contextmanager
def recording_statsd() -> Iterator[RecordingStatsd]:
    """A UDP socket on 127.0.0.1 that records every datagram, like a StatsD server that only listens."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    recorder = RecordingStatsd(HostPort("127.0.0.1", sock.getsockname()[1]))
    stop = threading.Event()

    def receive() -> None:
        while not stop.is_set():
            try:
                recorder.datagrams.append(sock.recv(65536))
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=receive, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()
