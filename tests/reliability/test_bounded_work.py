"""Bounded work per request: a hostile write costs bounded time, answers a bounded
body, and does not stop the engine from answering reads meanwhile."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from gitsync.config.schema import MAX_FINDINGS, validate_config
from tests.testing.api import run_server

# Generous: the GET normally takes milliseconds; before, it waited ~47 s for the lock.
GET_BOUND_S = 3.0


def test_a_million_findings_are_cut_short() -> None:
    start = time.process_time()
    issues = validate_config({"applications": [1] * 1_000_000})
    assert time.process_time() - start < 20
    assert len(issues) == MAX_FINDINGS + 1
    assert issues[-1].message.startswith(f"and more: validation stops after {MAX_FINDINGS}")


def test_reads_answer_while_the_worst_write_is_validated(tmp_path: Path) -> None:
    body = b'{"applications": [' + b",".join([b"1"] * 1_000_000) + b"]}"  # 2 MB
    with run_server(tmp_path / "state") as server:
        latencies: list[float] = []
        outcome: dict[str, httpx.Response] = {}

        def write() -> None:
            with server.client() as http:
                outcome["put"] = http.put(
                    "/api/serve/applications/",
                    content=body,
                    headers={"Content-Type": "application/json"},
                    timeout=600,
                )

        writer = threading.Thread(target=write)
        writer.start()
        with server.client() as http:
            time.sleep(0.3)  # the write is being read and validated
            while writer.is_alive() or len(latencies) < 3:
                for path in ("/state/v1/health", "/api/serve/applications/"):
                    start = time.perf_counter()
                    assert http.get(path).status_code == 200
                    latencies.append(time.perf_counter() - start)
                time.sleep(0.05)
        writer.join()
        put = outcome["put"]
        assert put.status_code == 400
        assert len(put.content) < 64 * 1024
        assert "and more" in put.text
        assert max(latencies) < GET_BOUND_S, sorted(latencies)[-5:]
