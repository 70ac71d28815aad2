"""Git faults: remote unreachable, repository deleted, force-push, a
corrupted object store, a file over the size limits. The agent (reading a real
``git daemon`` remote on 127.0.0.1) stays up, keeps the last good generation, says
why, and recovers once the fault is gone."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitsync.agent.loop import Agent, AgentConfig
from gitsync.agent.metrics import AgentMetrics
from gitsync.agent.source import GitAgentSource
from gitsync.sources.spec import SourceSpec
from gitsync.sync.target import EmbeddedTarget
from tests.testing.git import GIT_ENV, WorkRepo, git
from tests.testing.wait import free_port, wait_until


def app_config(price: int) -> bytes:
    return (
        "applications:\n  - name: shop\n    route_prefix: /shop\n    import_path: m:app\n"
        f"    deployments:\n      - name: Stand\n        user_config: {{price: {price}}}\n"
    ).encode()


class GitDaemon:
    """``git daemon`` serving ``root`` on 127.0.0.1; stopped and started by pid."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "git",
                "daemon",
                "--reuseaddr",
                "--export-all",
                f"--base-path={self.root}",
                "--listen=127.0.0.1",
                f"--port={self.port}",
                str(self.root),
            ],
            env={**os.environ, **GIT_ENV},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._accepts, "git daemon to listen")

    def _accepts(self) -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(("127.0.0.1", self.port)) == 0

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.proc = None


class Setup:
    def __init__(self, tmp: Path) -> None:
        self.work = WorkRepo(tmp / "work")
        self.work.commit("first", {"serve.yaml": app_config(1)})
        self.bare = tmp / "served" / "shop.git"
        self.bare.parent.mkdir()
        git(tmp, "clone", "--quiet", "--bare", str(self.work.path), str(self.bare))
        self.daemon = GitDaemon(self.bare.parent)
        self.daemon.start()
        self.url = f"git://127.0.0.1:{self.daemon.port}/shop.git"
        self.target = EmbeddedTarget(tmp / "state")
        spec = SourceSpec(self.url, ref="main")
        source = GitAgentSource(spec, AgentMetrics(), cache_dir=tmp / "cache", timeout_s=20)
        config = AgentConfig(backoff_base_s=0.0, backoff_max_s=0.0)
        self.agent = Agent(source, self.target, config)

    def push(self, files: dict[str, bytes | None], *extra: str) -> str:
        sha = self.work.commit("change", files)
        git(self.work.path, "push", "--quiet", *extra, str(self.bare), "HEAD:refs/heads/main")
        return sha

    def generation(self) -> int:
        return self.target.live("default", "default").generation

    def price(self) -> int:
        config = self.target.live("default", "default").config or {}
        return int(config["applications"][0]["deployments"][0]["user_config"]["price"])


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    built = Setup(tmp_path)
    try:
        first = built.agent.reconcile_once()
        assert first.result == "applied", first
        yield built
    finally:
        built.daemon.stop()
        built.target.close()


def assert_kept_and_said(setup: Setup, generation: int, result: str, words: str) -> None:
    outcome = setup.agent.reconcile_once()
    assert outcome.result == result, outcome
    assert outcome.error is not None and words in outcome.error, outcome.error
    assert setup.generation() == generation  # the last good generation stays live
    status = setup.agent.status.to_json()
    assert status["lastSync"]["error"] == outcome.error


def test_remote_unreachable_then_back(setup: Setup) -> None:
    generation = setup.generation()
    setup.daemon.stop()
    assert_kept_and_said(setup, generation, "source-unavailable", setup.url)
    assert setup.agent.status.degraded
    setup.daemon.start()
    setup.push({"serve.yaml": app_config(2)})
    assert setup.agent.reconcile_once().result == "applied"
    assert setup.price() == 2 and not setup.agent.status.degraded


def test_repository_deleted_then_restored(setup: Setup, tmp_path: Path) -> None:
    generation = setup.generation()
    aside = tmp_path / "aside.git"
    setup.bare.rename(aside)
    assert_kept_and_said(setup, generation, "source-unavailable", "shop.git")
    aside.rename(setup.bare)
    setup.push({"serve.yaml": app_config(3)})
    assert setup.agent.reconcile_once().result == "applied"
    assert setup.price() == 3


def test_force_push_is_followed(setup: Setup) -> None:
    setup.push({"serve.yaml": app_config(4)})
    assert setup.agent.reconcile_once().result == "applied"
    git(setup.work.path, "reset", "--quiet", "--hard", "HEAD~1")
    rewritten = setup.push({"serve.yaml": app_config(5)}, "--force")
    outcome = setup.agent.reconcile_once()
    assert outcome.result == "applied" and outcome.revision == rewritten
    assert setup.price() == 5


def _loose_object(repo: Path, sha: str) -> Path:
    return repo / "objects" / sha[:2] / sha[2:]


def test_corrupted_object_store_on_the_remote_then_repaired(setup: Setup, tmp_path: Path) -> None:
    generation = setup.generation()
    setup.push({"serve.yaml": app_config(6)})
    git(setup.bare, "repack", "-a", "-d", "--quiet")  # nothing loose: corrupt the pack
    git(setup.bare, "prune-packed")
    packs = sorted((setup.bare / "objects" / "pack").glob("*.pack"))
    saved = {p: p.read_bytes() for p in packs}
    for pack in packs:
        corrupted = bytearray(saved[pack])
        for offset in range(32, len(corrupted) - 20, 7):
            corrupted[offset] ^= 0x5A
        pack.write_bytes(bytes(corrupted))
    outcome = setup.agent.reconcile_once()
    assert outcome.result in ("source-unavailable", "failed"), outcome
    assert outcome.error
    assert setup.generation() == generation
    for pack, data in saved.items():
        pack.write_bytes(data)
    assert setup.agent.reconcile_once().result == "applied"
    assert setup.price() == 6


def test_corrupted_local_cache_is_rebuilt(setup: Setup, tmp_path: Path) -> None:
    cache = next((tmp_path / "cache").glob("*.git"))
    for path in (cache / "objects").rglob("*"):
        if path.is_file() and path.parent.name != "info":
            path.chmod(0o644)
            path.write_bytes(b"garbage")
    setup.push({"serve.yaml": app_config(7)})
    assert setup.agent.reconcile_once().result == "applied"
    assert setup.price() == 7


def test_a_file_over_the_size_limit_is_refused_then_removed(setup: Setup) -> None:
    generation = setup.generation()
    big = b"x" * (10 * 1024 * 1024 + 1)
    setup.push({"serve.yaml": app_config(8), "data/big.bin": big})
    assert_kept_and_said(
        setup,
        generation,
        "failed",
        "data/big.bin: file is 10485761 bytes, over the limit of 10485760 bytes",
    )
    setup.push({"data/big.bin": None})
    assert setup.agent.reconcile_once().result == "applied"
    assert setup.price() == 8
    shutil.rmtree(setup.work.path / "data", ignore_errors=True)
