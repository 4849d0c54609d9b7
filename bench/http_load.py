"""Loopback HTTP load for the benchmarks: latency percentiles at a concurrency or a rate."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

Request = Callable[[int], tuple[bytes, dict[str, str], dict[str, str]]]  # n → body, headers, params


@dataclass
class LoadResult:
    latencies_ms: list[float]
    seconds: float
    errors: int

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return (
            ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")
        )

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


def run_load(url: str, make_request: Request, *, clients: int, requests_per_client: int,
             rate_per_second: float | None = None) -> LoadResult:  # fmt: skip
    """`clients` threads, each sending `requests_per_client` requests one after another;
    with a rate, requests are spaced so that all clients together keep to it."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    interval = clients / rate_per_second if rate_per_second else 0.0
    start = time.perf_counter()

    def client(index: int) -> None:
        nonlocal errors
        with httpx.Client(timeout=10) as http:
            for n in range(requests_per_client):
                if interval:
                    due = start + (n + index / clients) * interval
                    pause = due - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                body, headers, params = make_request(index * requests_per_client + n)
                began = time.perf_counter()
                response = http.post(url, content=body, headers=headers, params=params)
                elapsed = (time.perf_counter() - began) * 1000
                with lock:
                    if response.status_code == 200:
                        latencies.append(elapsed)
                    else:
                        errors += 1

    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(latencies, time.perf_counter() - start, errors)
