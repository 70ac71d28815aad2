"""A real headless Chromium (Debian's, driven by Selenium through Debian's chromedriver),
real agent and engine processes on ephemeral 127.0.0.1 ports, real git repositories.
Every wait is bounded; nothing here asserts on timing."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_REPO = REPO_ROOT / "example-repo"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
ARTIFACTS = REPO_ROOT / "artifacts" / "ui"  # screenshots (gitignored; CI keeps them)
WAIT_S = 60.0
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Lovelace",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada Lovelace",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
}


def wait_until(
    check: Callable[[], Any], what: str, timeout_s: float = WAIT_S, show: Callable[[], Any] = str
) -> Any:
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what} (last: {last!r}; {show()})")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout.strip()


class ConfigRepo:
    """A copy of example-repo as a git repository on branch main."""

    def __init__(self, path: Path) -> None:
        self.path = path
        shutil.copytree(EXAMPLE_REPO, path)
        git(path, "init", "--quiet", "--initial-branch=main")
        self.commit("Add the example serving config")

    def commit(self, message: str, files: dict[str, str] | None = None) -> str:
        for rel, text in (files or {}).items():
            (self.path / rel).write_text(text)
        git(self.path, "add", "--all")
        git(self.path, "commit", "--quiet", "--allow-empty", "-m", message)
        return git(self.path, "rev-parse", "HEAD")

    def edit(self, rel: str, old: str, new: str) -> str:
        text = (self.path / rel).read_text()
        assert old in text, f"{old!r} not in {rel}"
        return text.replace(old, new, 1)


def gitsync(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **GIT_ENV, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "gitsync.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Server:
    """``gitsync agent`` or ``gitsync engine`` as a real process on a free port."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log.open("w")
        self.log = log
        env = {**os.environ, **GIT_ENV}
        command = [
            sys.executable,
            "-m",
            "gitsync.main",
            *args,
            "--listen",
            f"127.0.0.1:{self.port}",
        ]
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        wait_until(self._up, f"{args[0]} on {self.url}")

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"gitsync exited with {self.proc.returncode}:\n{self.log.read_text()}")
        try:
            return httpx.get(self.url + "/ui/version", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def json(self, path: str) -> Any:
        response = httpx.get(self.url + path, timeout=10)
        response.raise_for_status()
        return response.json()

    def generation(self) -> int:
        live = self.json("/api/gitsync/v1/tenant/default/application/default/live")
        return int(live["generation"])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._log.close()


def make_browser() -> WebDriver:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.fail(
            "the web page's tests need Debian's chromium and chromium-driver "
            "(apt-get install -y chromium chromium-driver; scripts/test.sh does it)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(driver), options=options)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = make_browser()
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def screenshot(driver: WebDriver, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(target))
    return target


def axe_violations(driver: WebDriver) -> list[dict[str, Any]]:
    """axe-core run in the page: the serious and critical violations."""
    driver.execute_script(AXE.read_text())
    result: dict[str, Any] = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => done(JSON.parse(JSON.stringify(r))), e => done({error: String(e)}));"
    )
    assert "error" not in result, result
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def main_text(driver: WebDriver) -> str:
    text: str = driver.execute_script(
        "const main = document.querySelector('main'); return main ? main.innerText : '';"
    )
    return text


def as_json(value: Any) -> str:
    return json.dumps(value, indent=1)
