"""Several engines on one PostgreSQL: python bench/ha.py [--engines 3] [--clients 6]
[--seconds 20].

Starts a private PostgreSQL server (fsync on) and N ``gitsync engine --store`` processes,
then clients deploy small packages through the engines in turn (each client its own
deployment unit, so activations do not conflict) and report sustained activations per
second, latency percentiles and any failure. Then the same with one engine, for scale.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gitsync.config import package
from tests.testing.configs import serve_yaml
from tests.testing.engine import EngineProcess
from tests.testing.postgres import PostgresServer


def client_loop(
    urls: list[str], unit: str, stop: float, latencies: list[float], failures: list[str]
) -> None:
    path = f"/api/gitsync/v1/tenant/default/application/{unit}/deploy"
    step = 0
    with httpx.Client(timeout=60) as client:
        while time.monotonic() < stop:
            step += 1
            body = package.build_zip({"serve.yaml": serve_yaml((unit, f"/{unit}"), price=step)})
            url = urls[step % len(urls)]
            started = time.perf_counter()
            response = client.post(
                url + path, content=body, headers={"Content-Type": "application/zip"}
            )
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                failures.append(f"{response.status_code} {response.text[:120]}")


def measure(server: PostgresServer, root: Path, engines: int, clients: int, seconds: float) -> None:
    url = server.create_database("bench")
    nodes = [
        EngineProcess(
            root / f"e{engines}-{i}", root / f"e{engines}-{i}.log", extra=["--store", url]
        )
        for i in range(engines)
    ]
    try:
        for node in nodes:
            node.start()
        urls = [node.url for node in nodes]
        latencies: list[float] = []
        failures: list[str] = []
        stop = time.monotonic() + seconds
        threads = [
            threading.Thread(target=client_loop, args=(urls, f"u{i}", stop, latencies, failures))
            for i in range(clients)
        ]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start
        ms = sorted(v * 1000 for v in latencies)
        p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))] if ms else 0.0
        print(
            f"{engines} engine(s), {clients} clients, {elapsed:.0f} s: "
            f"{len(latencies) / elapsed:.1f} activations/s (create+prepare+activate per "
            f"request), p50 {statistics.median(ms) if ms else 0:.1f} ms, p99 {p99:.1f} ms, "
            f"{len(failures)} failed{': ' + failures[0] if failures else ''}"
        )
    finally:
        for node in nodes:
            node.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engines", type=int, default=3)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    server = PostgresServer(fsync=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for engines in sorted({1, args.engines}):
                measure(server, Path(tmp), engines, args.clients, args.seconds)
    finally:
        server.remove()


if __name__ == "__main__":
    main()
