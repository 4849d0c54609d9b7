"""Loopback HTTP load for the benchmarks: latency percentiles at a concurrency or a rate.

The clients run in processes of their own (forked), so the load generator does not share
the server's interpreter lock; requests are built before the clock starts. The servers
under load run in this process, so its CPU time over a run is theirs: what serving the
run's requests cost, whatever the clients' waits.
"""

from __future__ import annotations

import multiprocessing
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

Request = Callable[[int], tuple[bytes, dict[str, str], dict[str, str]]]  # n → body, headers, params
Prepared = list[tuple[bytes, dict[str, str], dict[str, str]]]


@dataclass
class LoadResult:
    latencies_ms: list[float]
    seconds: float
    errors: int
    cpu_seconds: float = 0.0  # this process's CPU time over the run (the server's)

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies_ms)
        return (
            ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")
        )

    def pooled(self, other: LoadResult) -> LoadResult:
        """Two runs of the same load as one (their requests and their time added up)."""
        return LoadResult(
            self.latencies_ms + other.latencies_ms,
            self.seconds + other.seconds,
            self.errors + other.errors,
            self.cpu_seconds + other.cpu_seconds,
        )

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / len(self.latencies_ms) if self.latencies_ms else 0.0

    @property
    def median(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


def _client(
    url: str,
    requests: Prepared,
    start_at: float,
    interval: float,
    offset: float,
    results: multiprocessing.Queue,
) -> None:
    latencies, errors = [], 0
    with httpx.Client(timeout=10) as http:
        while time.time() < start_at:
            time.sleep(0.001)
        began_all = time.perf_counter()
        for n, (body, headers, params) in enumerate(requests):
            if interval:
                pause = began_all + (n + offset) * interval - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            began = time.perf_counter()
            response = http.post(url, content=body, headers=headers, params=params)
            elapsed = (time.perf_counter() - began) * 1000
            if response.status_code == 200:
                latencies.append(elapsed)
            else:
                errors += 1
    results.put((latencies, errors))


def run_load(url: str, make_request: Request, *, clients: int, requests_per_client: int,
             rate_per_second: float | None = None) -> LoadResult:  # fmt: skip
    """`clients` processes, each sending `requests_per_client` requests one after another;
    with a rate, requests are spaced so that all clients together keep to it."""
    context = multiprocessing.get_context("fork")
    prepared = [
        [make_request(index * requests_per_client + n) for n in range(requests_per_client)]
        for index in range(clients)
    ]
    interval = clients / rate_per_second if rate_per_second else 0.0
    results: multiprocessing.Queue = context.Queue()
    start_at = time.time() + 0.3
    processes = [
        context.Process(
            target=_client,
            args=(url, prepared[index], start_at, interval, index / clients, results),
        )
        for index in range(clients)
    ]
    for process in processes:
        process.start()
    cpu_began = time.process_time()  # after the forks, which are the load's, not the server's
    latencies: list[float] = []
    errors = 0
    for _ in processes:
        got, failed = results.get(timeout=300)
        latencies += got
        errors += failed
    finished, cpu = time.time(), time.process_time() - cpu_began
    for process in processes:
        process.join(timeout=30)
    return LoadResult(latencies, finished - start_at, errors, cpu)
