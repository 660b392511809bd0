"""A burst of simultaneous HTTP requests: every request is prepared, the threads wait on one
barrier, and the clock runs from the release until the last answer arrives."""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class BurstResult:
    wall_seconds: float
    latencies_ms: list[float]
    statuses: list[int]
    bodies: list[dict]

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]

    def count(self, status: int) -> int:
        return sum(1 for s in self.statuses if s == status)

    @property
    def server_errors(self) -> int:
        return sum(1 for s in self.statuses if s >= 500 or s == 0)


def burst(base_url: str, method: str, path: str, requests: list[tuple[dict, dict]], timeout: float = 60) -> BurstResult:
    """``requests``: (headers, json body) per request, all sent at once."""
    parts = urlsplit(base_url)
    barrier = threading.Barrier(len(requests) + 1)
    latencies = [0.0] * len(requests)
    statuses = [0] * len(requests)
    bodies: list[dict] = [{} for _ in requests]
    finished = [0.0] * len(requests)

    def send(index: int, headers: dict, body: dict) -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        payload = json.dumps(body).encode()
        barrier.wait()
        started = time.perf_counter()
        try:
            connection.request(method, path, body=payload,
                               headers={"Content-Type": "application/json", **headers})
            response = connection.getresponse()
            raw = response.read()
            statuses[index] = response.status
            try:
                bodies[index] = json.loads(raw or b"{}")
            except ValueError:
                bodies[index] = {"raw": raw[:200].decode(errors="replace")}
        except OSError as exc:
            statuses[index] = 0
            bodies[index] = {"error": str(exc)}
        finally:
            finished[index] = time.perf_counter()
            latencies[index] = (finished[index] - started) * 1000
            connection.close()

    threads = [threading.Thread(target=send, args=(i, h, b), daemon=True) for i, (h, b) in enumerate(requests)]
    for thread in threads:
        thread.start()
    barrier.wait()
    released = time.perf_counter()
    for thread in threads:
        thread.join(timeout + 5)
    return BurstResult(max(finished) - released, latencies, statuses, bodies)
