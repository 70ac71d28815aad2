"""The web page's tests: a real headless Chromium (Debian's, driven by Selenium through
Debian's chromedriver), real agent and engine processes on ephemeral 127.0.0.1 ports, a
git copy of example-repo, and axe-core in the page. Every wait is bounded."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from tests.testing.git import WorkRepo
from tests.testing.tools import ROOT, gitsync_command, tool_path
from tests.testing.wait import answers, free_port, wait_until

EXAMPLE_REPO = ROOT / "example-repo"
AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "artifacts" / "ui"  # screenshots (gitignored; CI keeps them)


class ConfigRepo(WorkRepo):
    """A copy of example-repo as a git repository on branch main."""

    def __init__(self, path: Path) -> None:
        shutil.copytree(EXAMPLE_REPO, path)
        super().__init__(path)
        self.commit("Add the example serving config")

    def edit(self, rel: str, old: str, new: str) -> str:
        text = (self.path / rel).read_text()
        assert old in text, f"{old!r} not in {rel}"
        return text.replace(old, new, 1)


class Server:
    """``gitsync agent`` or ``gitsync engine`` as a real process on a free port."""

    def __init__(self, args: list[str], log: Path, *, token: str | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._log = log.open("w")
        self.log = log
        command = gitsync_command(*args, "--listen", f"127.0.0.1:{self.port}")
        self.proc = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        wait_until(self._up, f"{args[0]} on {self.url}")

    def _up(self) -> bool:
        if self.proc.poll() is not None:
            pytest.fail(f"gitsync exited with {self.proc.returncode}:\n{self.log.read_text()}")
        return answers(self.url + "/state/v1/health")  # open even with a token

    def json(self, path: str) -> Any:
        response = httpx.get(self.url + path, headers=self.headers, timeout=10)
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


def _first_tool(*names: str) -> str:
    for name in names[:-1]:
        try:
            return tool_path(name)
        except FileNotFoundError:
            continue
    return tool_path(names[-1])


def make_browser() -> WebDriver:
    try:
        chromium = _first_tool("chromium", "chromium-browser")
        driver = tool_path("chromedriver")
    except FileNotFoundError:
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
