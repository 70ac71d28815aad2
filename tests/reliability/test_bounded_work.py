"""Bounded work per request: a hostile write costs bounded time, answers a bounded
body, and does not stop the engine from answering reads meanwhile."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from gitsync.config import tally
from gitsync.config.schema import MAX_FINDINGS, schema_set, validate_config
from tests.testing.api import run_server

# Generous: the GET normally takes milliseconds; before, it waited ~47 s for the lock.
GET_BOUND_S = 3.0
# Generous too: the whole answer takes a few seconds here; before, ~47 s.
PUT_BOUND_S = 30.0


def test_a_million_findings_are_cut_short() -> None:
    start = time.process_time()
    issues = validate_config({"applications": [1] * 1_000_000})
    assert time.process_time() - start < 20
    assert len(issues) == MAX_FINDINGS + 1
    # counted, not explained: every item past the first 100 is one more failing entry
    assert issues[-1].message.startswith("and 999,900 more applications or deployments")
    assert f"only the first {MAX_FINDINGS} findings are explained" in issues[-1].message


def test_the_count_past_the_cap_is_bounded_in_time() -> None:
    config = {"applications": [1] * 1_000_000}
    counted = tally.count_failing(config, schema_set().counters, budget_s=0.0)
    assert not counted.complete
    assert 0 < counted.failing < 1_000_000  # stopped early: a lower bound
    whole = tally.count_failing(config, schema_set().counters)
    assert whole == tally.Tally(1_000_000, True)


def test_a_million_values_json_cannot_hold_are_cut_short_too() -> None:
    args = {f"k{i}": float("inf") for i in range(300_000)}
    start = time.process_time()
    issues = validate_config({"applications": [{"name": 5, "import_path": "m:a", "args": args}]})
    assert time.process_time() - start < 20
    assert len(issues) == MAX_FINDINGS + 1, len(issues)
    assert "cannot be represented in JSON" in issues[0].message


def test_findings_inside_one_application_are_counted_too() -> None:
    deployments = [{"name": 1}] * 5_000
    issues = validate_config(
        {"applications": [{"name": "a", "import_path": "m:a", "deployments": deployments}]}
    )
    assert issues[-1].message.startswith("and 4,900 more applications or deployments")


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
        started = time.monotonic()
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
        took = time.monotonic() - started
        put = outcome["put"]
        assert put.status_code == 400
        assert len(put.content) < 64 * 1024
        last = put.text.strip().splitlines()[-1]  # after the 100 findings, not before them
        assert "and 999,900 more applications or deployments with errors" in last, last
        assert took < PUT_BOUND_S, took
        assert max(latencies) < GET_BOUND_S, sorted(latencies)[-5:]
