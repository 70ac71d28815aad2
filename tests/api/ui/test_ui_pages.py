"""The web page in a real headless Chromium, against a real agent on a real git repo.

One browser and one agent for the module; each test makes the commits it needs and
asserts on the newest state, so the tests also run alone. The agent polls only hourly:
changes arrive through the CLI, the page's own buttons, or the agent's refresh route.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.testing.tools import run_gitsync
from tests.testing.ui import ConfigRepo, Server, axe_violations, main_text, screenshot
from tests.testing.wait import wait_until

pytestmark = pytest.mark.slow
FRUIT = "serve/apps/fruit.yaml"
UNIT = "/ui/units/default/default"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> ConfigRepo:
    return ConfigRepo(tmp_path_factory.mktemp("ui") / "config-repo")


@pytest.fixture(scope="module")
def agent(repo: ConfigRepo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    state = tmp_path_factory.mktemp("ui-state")
    args = ["agent", str(repo.path), "--ref", "main", "--state-dir", str(state)]
    server = Server([*args, "--interval", "3600"], state / "agent.log")
    try:
        wait_until(lambda: server.generation() > 0, "the agent's first sync")
        yield server
    finally:
        server.stop()


def cli_sync(repo: ConfigRepo, agent: Server) -> None:
    done = run_gitsync("sync", str(repo.path), "--ref", "main", "--engine", agent.url)
    assert done.returncode == 0, done.stdout + done.stderr


def change_price(repo: ConfigRepo, price: int) -> str:
    text = re.sub(
        r"(MangoStand\n(?:.*\n)*?\s+price: )\d+",
        rf"\g<1>{price}",
        (repo.path / FRUIT).read_text(),
        count=1,
    )
    return repo.commit(f"Mango costs {price} now", {FRUIT: text})


def assert_accessible(browser: WebDriver) -> None:
    assert axe_violations(browser) == []


def test_overview_lists_example_repos_applications_after_a_sync(
    browser: WebDriver, agent: Server
) -> None:
    browser.get(agent.url + "/")
    assert browser.title == "Deployment units · gitsync"
    row = browser.find_element(By.CSS_SELECTOR, "table.units tbody tr")
    text = row.text
    assert "default/default" in text
    assert "2 Serve applications" in text
    assert "in sync" in text and "no runtime" in text
    assert "Add the example serving config" in text and "Ada Lovelace" in text
    assert "by git" in text
    assert_accessible(browser)
    screenshot(browser, "overview")

    row.find_element(By.LINK_TEXT, "default/default").click()
    wait_until(lambda: browser.current_url.endswith(UNIT), "the unit's page")
    apps = browser.find_element(By.CSS_SELECTOR, "table.apps").text
    assert "calculator" in apps and "/calc" in apps
    assert "fruit_stand" in apps and "/fruit" in apps
    assert "MangoStand: HEALTHY, 2 target" in apps
    assert "No drift" in main_text(browser)
    assert_accessible(browser)
    screenshot(browser, "unit")


def test_a_change_synced_through_the_cli_appears_without_a_reload(
    browser: WebDriver, agent: Server, repo: ConfigRepo
) -> None:
    browser.get(agent.url + UNIT)
    before = agent.generation()
    browser.execute_script("window.__sameDocument = true;")
    sha = change_price(repo, 7)
    cli_sync(repo, agent)
    synced = time.monotonic()
    wait_until(lambda: sha[:12] in main_text(browser), "the new revision on the open page")
    shown_after = time.monotonic() - synced
    assert browser.execute_script("return window.__sameDocument === true"), "the page reloaded"
    facts = browser.find_element(By.CSS_SELECTOR, ".facts dl").text
    assert f"{before + 1} by git" in facts
    assert "Mango costs 7 now" in facts
    print(f"activation -> page shows it: {shown_after * 1000:.0f} ms after the CLI returned")


def test_a_generations_plan_shows_the_changed_user_config(
    browser: WebDriver, agent: Server, repo: ConfigRepo
) -> None:
    change_price(repo, 11)
    cli_sync(repo, agent)
    newest = agent.generation()
    browser.get(agent.url + UNIT + "/history")
    first = browser.find_element(By.CSS_SELECTOR, "table.history tbody tr")
    assert first.find_element(By.CSS_SELECTOR, "th a").text == str(newest)
    assert "active" in first.text and "Mango costs 11 now" in first.text
    assert "1 reconfigure" in first.text
    screenshot(browser, "history")
    first.find_element(By.LINK_TEXT, "Plan").click()
    wait_until(lambda: f"/generations/{newest}" in browser.current_url, "the plan page")
    plan = browser.find_element(By.CSS_SELECTOR, "pre.plan")
    assert "deployments.MangoStand.user_config.price 7 → 11 (reconfigure, in place)" in plan.text
    assert 'update "fruit_stand"' in plan.find_element(By.CSS_SELECTOR, ".plan-update").text
    assert "Plan: 0 to create, 1 to update, 0 to delete." in plan.text
    assert_accessible(browser)
    screenshot(browser, "generation-plan")

    browser.find_element(By.LINK_TEXT, "Files of this generation").click()
    browser.find_element(By.LINK_TEXT, FRUIT).click()
    shown = browser.find_element(By.CSS_SELECTOR, "pre.file").text
    assert "price: 11" in shown
    assert 'FRUIT_CURRENCY: "***"' in shown and "EUR" not in shown  # masked as plans mask it
    assert_accessible(browser)
    screenshot(browser, "files")


def test_a_rollback_through_the_page_creates_a_new_generation(
    browser: WebDriver, agent: Server, repo: ConfigRepo
) -> None:
    for price in (21, 23):
        change_price(repo, price)
        cli_sync(repo, agent)
    active = agent.generation()
    history = agent.json("/api/gitsync/v1/tenant/default/application/default/history")
    target = history[1]["generation"]
    browser.get(agent.url + UNIT + "/history")
    browser.find_element(By.CSS_SELECTOR, f'a[href$="/rollback/{target}"]').click()
    plan = browser.find_element(By.CSS_SELECTOR, "pre.plan").text
    assert "deployments.MangoStand.user_config.price 23 → 21 (reconfigure, in place)" in plan
    assert agent.generation() == active, "showing the plan must not change anything"
    assert_accessible(browser)
    screenshot(browser, "rollback-confirm")

    browser.find_element(By.CSS_SELECTOR, "form.confirm button").click()
    wait_until(
        lambda: "Rolled back" in main_text(browser),
        "the rollback's notice",
        show=lambda: browser.current_url + browser.page_source[:1500],
    )
    assert f"Rolled back to generation {target}: generation {active + 1} is active" in main_text(
        browser
    )
    first = browser.find_element(By.CSS_SELECTOR, "table.history tbody tr")
    assert first.find_element(By.CSS_SELECTOR, "th a").text == str(active + 1)
    assert f"rollback to {target}" in first.text
    newest = agent.json("/api/gitsync/v1/tenant/default/application/default/history")[0]
    assert (newest["generation"], newest["kind"], newest["rollbackOf"]) == (
        active + 1,
        "rollback",
        target,
    )


def test_a_live_update_keeps_the_keyboard_focus(
    browser: WebDriver, agent: Server, repo: ConfigRepo
) -> None:
    browser.get(agent.url + "/")
    link = browser.find_element(By.LINK_TEXT, "default/default")
    browser.execute_script("arguments[0].focus();", link)
    count = "return Number(document.documentElement.dataset.liveSwaps || 0);"
    before = browser.execute_script(count)
    sha = change_price(repo, 31)
    cli_sync(repo, agent)
    wait_until(lambda: browser.execute_script(count) > before, "a live update of the page")
    assert sha[:12] in main_text(browser)
    assert browser.switch_to.active_element.text == "default/default"


def test_an_invalid_commit_shows_its_file_line_col_findings(
    browser: WebDriver, agent: Server, repo: ConfigRepo
) -> None:
    active = agent.generation()
    text = (repo.path / FRUIT).read_text().replace("num_replicas: 2", "num_replicas: two", 1)
    text = text.replace("max_ongoing_requests: 10", "max_ongoing_requests: -1", 1)
    repo.commit("Break the fruit stand", {FRUIT: text})
    browser.get(agent.url + UNIT)
    browser.find_element(By.XPATH, "//button[normalize-space()='Refresh']").click()
    wait_until(lambda: "Last sync failed" in main_text(browser), "the failed sync on the page")
    findings = [li.text for li in browser.find_elements(By.CSS_SELECTOR, "ul.findings li")]
    assert len(findings) == 2, findings
    assert all(re.match(rf"{FRUIT}:\d+:\d+ error: ", f) for f in findings), findings
    assert any("max_ongoing_requests: must be > 0, got -1" in f for f in findings), findings
    assert any("num_replicas" in f for f in findings), findings
    facts = browser.find_element(By.CSS_SELECTOR, ".facts dl").text
    assert "failed" in facts
    assert "Agent\nthis agent holds the unit (lease epoch 1)" in facts
    assert agent.generation() == active, "an invalid commit changes nothing"
    assert_accessible(browser)
    screenshot(browser, "invalid-commit")


def test_the_pages_work_by_keyboard_and_at_a_phones_width(
    browser: WebDriver, agent: Server
) -> None:
    browser.get(agent.url + "/")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    assert browser.switch_to.active_element.text == "Skip to content"
    # Tab on to the unit's link and open it with Enter.
    for _ in range(10):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if browser.switch_to.active_element.text == "default/default":
            break
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    wait_until(lambda: browser.current_url.endswith(UNIT), "the unit's page by keyboard")

    browser.set_window_size(390, 844)
    try:
        for path, name in (("/", "overview-phone"), (UNIT, "unit-phone")):
            browser.get(agent.url + path)
            overflow = browser.execute_script(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 1, f"{path} scrolls sideways by {overflow} px at 390 px"
            assert_accessible(browser)
            screenshot(browser, name)
    finally:
        browser.set_window_size(1280, 900)
