"""What issue 40's probe did to a running server, as functions a test or a benchmark calls: a body sent
chunked (no declared length) for as long as the server takes it, a sender trickling one byte every two
seconds, and the server's memory as /proc reports it. Raw sockets, so nothing a client library does
(buffering a body, giving up early) changes what the server meets."""

import select
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int | None  # None: the server closed the connection without a status line
    sent: int  # body bytes the server took before it answered or closed
    seconds: float
    body: bytes


def _connect(url: str, source: str, timeout: float) -> tuple[socket.socket, str]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    return socket.create_connection((host, port), timeout=timeout, source_address=(source, 0)), f"{host}:{port}"


def _head(path: str, host: str, headers: dict[str, str]) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_answer(sock: socket.socket) -> tuple[int | None, bytes]:
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            more = sock.recv(65536)
            if not more:
                break
            data += more
        head, _, body = data.partition(b"\r\n\r\n")
        length = next(
            (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
        )
        while len(body) < length:
            more = sock.recv(65536)
            if not more:
                break
            body += more
    except (ConnectionResetError, TimeoutError, OSError):
        head, body = data, b""
    status = head.split(b" ", 2)[1] if head.startswith(b"HTTP/1.1 ") else None
    return (int(status) if status else None), body


def chunked_post(
    url: str,
    path: str,
    total: int,
    headers: dict[str, str] | None = None,
    first: bytes = b"",
    chunk: int = 1 << 16,
    source: str = "127.0.0.1",
    timeout: float = 120,
) -> Answer:
    """POST a body of `total` bytes (starting with `first`, the rest 'x') with Transfer-Encoding: chunked and
    no declared length; stop sending as soon as the server answers or closes. Returns what it took."""
    sock, host = _connect(url, source, timeout)
    start, sent = time.monotonic(), 0
    try:
        sock.sendall(_head(path, host, {"Transfer-Encoding": "chunked", **(headers or {})}))
        filler = b"x" * chunk
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break  # an answer (or the connection closed): the server took no more
            data = (first if sent == 0 and first else filler)[: total - sent]
            try:
                sock.sendall(b"%x\r\n" % len(data) + data + b"\r\n")
            except (BrokenPipeError, ConnectionResetError, TimeoutError):
                break
            sent += len(data)
        else:
            try:
                sock.sendall(b"0\r\n\r\n")
            except OSError:
                pass
        status, body = _read_answer(sock)
        return Answer(status, sent, time.monotonic() - start, body)
    finally:
        sock.close()


class Trickle(threading.Thread):
    """One slow sender: the headers of a POST with a small declared body (or a chunked one), then one byte
    every `every` seconds until the server answers, the connection drops or `stop` is set."""

    def __init__(
        self,
        url: str,
        path: str,
        source: str,
        stop: threading.Event,
        every: float = 2.0,
        declared: int | None = 1000,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.url, self.path, self.source, self.stop, self.every = url, path, source, stop, every
        self.declared, self.headers = declared, headers or {}
        self.status: int | None = None
        self.answered_after: float | None = None
        self.sent = 0
        self.started = threading.Event()

    def run(self) -> None:
        framing = {"Content-Length": str(self.declared)} if self.declared else {"Transfer-Encoding": "chunked"}
        sock, host = _connect(self.url, self.source, timeout=120)
        start = time.monotonic()
        try:
            sock.sendall(_head(self.path, host, {"Content-Type": "application/json", **framing, **self.headers}))
            while not self.stop.is_set():
                try:
                    sock.sendall(b"{" if self.declared else b"1\r\n{\r\n")
                except OSError:
                    break
                self.sent += 1
                self.started.set()
                if select.select([sock], [], [], self.every)[0]:
                    self.status, _ = _read_answer(sock)
                    self.answered_after = time.monotonic() - start
                    break
        finally:
            self.started.set()
            sock.close()


def memory_mb(pid: int) -> dict[str, float]:
    """A process's resident memory now (VmRSS) and at its peak (VmHWM), in MB."""
    fields = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0]) / 1024
    return fields
