"""A burst of simultaneous HTTP requests, from one thread: every request is prepared as raw bytes
and its connection opened beforehand; at the release every request is sent, whole, one after
the other on its own socket (nothing of any request reaches the server before), and the clock
runs from the release until the last answer arrives.

Cheap on purpose: the client shares the box's cores with the server it measures. One thread and
``epoll`` (``selectors``) in place of a thread per request; the requests are bytes built before
the release; answers are kept raw and parsed after the clock stops. Each socket is read until it
would block and closed in the wake-up that brings its answer's end: gunicorn's sync worker waits
for the client to close before it takes the next connection, so a slow close is server time. ``client_cpu_seconds`` is the
process's CPU time over the burst (from the release to the last answer), so a report can say
what the client itself cost."""

from __future__ import annotations

import json
import selectors
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class BurstResult:
    wall_seconds: float
    latencies_ms: list[float]
    statuses: list[int]
    bodies: list[dict]
    client_cpu_seconds: float = 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def count(self, status: int) -> int:
        return sum(1 for s in self.statuses if s == status)

    @property
    def server_errors(self) -> int:
        return sum(1 for s in self.statuses if s >= 500 or s == 0)


def raw_request(method: str, host: str, port: int, path: str, headers: dict, body: dict | None) -> bytes:
    """One HTTP/1.1 request as bytes; ``Connection: close`` (the server's answer ends with EOF)."""
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close",
             "Accept-Encoding: identity", f"Content-Length: {len(payload)}"]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


def _parse(raw: bytes) -> tuple[int, dict]:
    head, _sep, body = raw.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0, {"error": "no answer" if not raw else f"unreadable answer: {raw[:100]!r}"}
    try:
        return status, json.loads(body or b"{}")
    except ValueError:
        return status, {"raw": body[:200].decode(errors="replace")}


def _read(sock: socket.socket, into: bytearray) -> bool:
    """Read what has arrived; False at EOF. Reads on until the socket would block, so an answer
    and the FIN after it are seen in one wake-up."""
    while True:
        try:
            chunk = sock.recv(65536)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not chunk:
            return False
        into += chunk


def burst(base_url: str, method: str, path: str, requests: list[tuple[dict, dict | None]],
          timeout: float = 60) -> BurstResult:
    """``requests``: (headers, JSON body or None) per request, all sent at once."""
    parts = urlsplit(base_url)
    host, port = parts.hostname, parts.port
    payloads = [raw_request(method, host, port, path, headers, body) for headers, body in requests]
    count = len(payloads)
    selector = selectors.DefaultSelector()
    sockets: list[socket.socket] = []
    try:
        # The connections first (a handshake is not a request): the server's accept queue holds
        # them; the one each worker accepts meanwhile waits for its request like the rest.
        for _ in payloads:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex((host, port))
            sockets.append(sock)
        for index, sock in enumerate(sockets):
            selector.register(sock, selectors.EVENT_WRITE, index)
        pending = set(range(count))
        deadline = time.monotonic() + timeout
        while pending and time.monotonic() < deadline:
            for key, _mask in selector.select(timeout=1):
                pending.discard(key.data)
                selector.unregister(key.fileobj)
        if pending:
            raise OSError(f"{len(pending)} of {count} connections not established")

        answers = [bytearray() for _ in payloads]
        unsent = [b""] * count
        sent_at = [0.0] * count
        finished = [0.0] * count
        open_ = set(range(count))
        cpu = time.process_time()
        released = time.perf_counter()
        for index, sock in enumerate(sockets):
            payload = payloads[index]
            try:
                done = sock.send(payload)
            except OSError:
                done = len(payload)  # the answer (or its absence) says what happened
            sent_at[index] = time.perf_counter()
            if done < len(payload):
                unsent[index] = payload[done:]
                selector.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, index)
            else:
                selector.register(sock, selectors.EVENT_READ, index)
        deadline = time.monotonic() + timeout
        while open_ and time.monotonic() < deadline:
            for key, mask in selector.select(timeout=1):
                index, sock = key.data, key.fileobj
                if mask & selectors.EVENT_WRITE and unsent[index]:
                    try:
                        done = sock.send(unsent[index])
                    except OSError:
                        done = len(unsent[index])
                    unsent[index] = unsent[index][done:]
                    if not unsent[index]:
                                selector.modify(sock, selectors.EVENT_READ, index)
                if mask & selectors.EVENT_READ:
                    chunk = _read(sock, answers[index])
                    if not chunk:  # EOF: the answer is whole (Connection: close)
                        finished[index] = time.perf_counter()
                        selector.unregister(sock)
                        # Closed at once: gunicorn's worker lingers after its FIN until the
                        # client closes too (up to 2 s), and serves nobody meanwhile.
                        sock.close()
                        open_.discard(index)
        ended = time.perf_counter()
        client_cpu = time.process_time() - cpu
    finally:
        selector.close()
        for sock in sockets:
            sock.close()
    statuses, bodies, latencies = [], [], []
    for index in range(count):
        status, body = _parse(bytes(answers[index])) if index not in open_ else (0, {"error": "timed out"})
        statuses.append(status)
        bodies.append(body)
        latencies.append(((finished[index] or ended) - sent_at[index]) * 1000)
    last = max(finished, default=released) if not open_ else ended  # every answer in, or the time-out
    return BurstResult(last - released, latencies, statuses, bodies, client_cpu)
