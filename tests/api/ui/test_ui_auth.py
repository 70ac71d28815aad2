"""The page's token, cookie, CSRF and same-origin rules, in a real Chromium against a
real ``gitsync engine --token`` process, and over plain HTTP for the exact answers."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from html import escape

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.testing.tools import run_gitsync
from tests.testing.ui import ConfigRepo, Server, axe_violations, main_text, screenshot
from tests.testing.wait import wait_until

pytestmark = pytest.mark.slow
TOKEN = "s3cret-token-for-tests"
UNIT = "/ui/units/default/default"


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("ui-auth")
    repo = ConfigRepo(root / "config-repo")
    server = Server(
        ["engine", "--state-dir", str(root / "state"), "--token", TOKEN],
        root / "engine.log",
        token=TOKEN,
    )
    try:
        for message in ("first", "second"):
            if message == "second":
                repo.commit("Second", {"serve/instance.yaml": _bumped(repo)})
            done = run_gitsync("sync", str(repo.path), "--engine", server.url, "--token", TOKEN)
            assert done.returncode == 0, done.stdout + done.stderr
        yield server
    finally:
        server.stop()


def _bumped(repo: ConfigRepo) -> str:
    return (repo.path / "serve/instance.yaml").read_text() + "target_capacity: 50\n"


class AttackerSite:
    """Another origin (a second port) serving a form that posts to the engine."""

    def __init__(self, action: str, csrf: str) -> None:
        page = (
            "<!doctype html><html lang=en><title>elsewhere</title>"
            f'<form method="post" action="{escape(action)}">'
            f'<input type="hidden" name="csrf" value="{escape(csrf)}">'
            '<button id="go">Win a prize</button></form>'
        ).encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_with_a_token_the_pages_ask_for_it_first_as_the_apis_reads_do(
    browser: WebDriver, engine: Server
) -> None:
    browser.delete_all_cookies()
    for path in ("/", UNIT, UNIT + "/history"):
        browser.get(engine.url + path)
        wait_until(lambda: "/ui/login" in browser.current_url, f"{path} asking to sign in")
        assert "Enter the engine's token" in main_text(browser)
        assert "default/default" not in main_text(browser)
    assert httpx.get(engine.url + "/ui/version").status_code == 401
    assert httpx.get(engine.url + "/ui/version", headers=engine.headers).status_code == 200
    screenshot(browser, "sign-in-first")


def test_sign_in_keeps_a_derived_token_in_an_httponly_strict_cookie(
    browser: WebDriver, engine: Server
) -> None:
    browser.delete_all_cookies()
    browser.get(engine.url + "/ui/login?next=" + UNIT)
    assert axe_violations(browser) == []
    screenshot(browser, "login")
    browser.find_element(By.ID, "token").send_keys("wrong")
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    wait_until(lambda: "Invalid token" in main_text(browser), "the wrong token refused")
    browser.get(engine.url + "/ui/login?next=" + UNIT)
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    wait_until(lambda: browser.current_url == engine.url + UNIT, "the page after sign-in")
    (cookie,) = browser.get_cookies()
    assert cookie["name"] == "gitsync_ui" and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert TOKEN not in cookie["value"]
    assert browser.execute_script("return document.cookie") == ""  # scripts cannot read it
    assert browser.find_element(By.XPATH, "//button[normalize-space()='Sign out']")

    # The token's cookie gone, the confirm form on the open page is refused.
    active = engine.generation()
    browser.get(engine.url + UNIT + f"/rollback/{active - 1}")
    browser.delete_all_cookies()
    browser.find_element(By.CSS_SELECTOR, "form.confirm button").click()
    wait_until(lambda: "Refused" in main_text(browser), "the action without the token refused")
    assert engine.generation() == active
    screenshot(browser, "refused-without-token")


def test_a_cross_origin_form_post_is_refused_even_with_a_valid_csrf_token(
    browser: WebDriver, engine: Server
) -> None:
    _sign_in(browser, engine)
    active = engine.generation()
    browser.get(engine.url + UNIT + f"/rollback/{active - 1}")
    csrf = browser.find_element(By.CSS_SELECTOR, "input[name=csrf]").get_attribute("value") or ""
    site = AttackerSite(engine.url + UNIT + f"/rollback/{active - 1}", csrf)
    try:
        browser.get(site.url)
        browser.find_element(By.ID, "go").click()
        wait_until(
            lambda: "Refused: a same-site request may not act" in main_text(browser),
            "the cross-origin post refused",
        )
    finally:
        site.close()
    assert engine.generation() == active
    screenshot(browser, "refused-cross-origin")

    # The same form on the page's own origin, signed in, goes through.
    browser.get(engine.url + UNIT + f"/rollback/{active - 1}")
    browser.find_element(By.CSS_SELECTOR, "form.confirm button").click()
    wait_until(lambda: f"generation {active + 1} is active" in main_text(browser), "the rollback")
    assert engine.generation() == active + 1


def _sign_in(browser: WebDriver, engine: Server) -> None:
    browser.get(engine.url + "/ui/login")
    browser.find_element(By.ID, "token").send_keys(TOKEN)
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    wait_until(lambda: "Sign out" in browser.page_source, "the signed-in page")


def test_the_exact_answers_over_http(engine: Server) -> None:
    url = engine.url + UNIT + "/rollback/2"
    with httpx.Client(base_url=engine.url, timeout=10) as anonymous:
        assert anonymous.get(UNIT + "/rollback/2").status_code == 303  # to the sign-in
        csrf = _csrf(anonymous.get("/ui/login").text)
        no_token = anonymous.post(url, data={"csrf": csrf})
        assert no_token.status_code == 401
        assert "this action needs the engine&#39;s token" in no_token.text
    with httpx.Client(base_url=engine.url, timeout=10) as client:
        signed = client.post(
            "/ui/login", data={"csrf": csrf, "token": TOKEN, "next": "/"}, follow_redirects=False
        )
        assert signed.status_code == 303
        assert "HttpOnly" in signed.headers["set-cookie"]
        assert "SameSite=strict" in signed.headers["set-cookie"]
        active = engine.generation()
        fresh = _csrf(client.get(UNIT + "/rollback/2").text)
        assert client.post(url, data={}).status_code == 403  # no CSRF token
        assert client.post(url, data={"csrf": csrf}).status_code == 403  # another session's
        evil = client.post(url, data={"csrf": fresh}, headers={"Origin": "http://evil.example"})
        assert (
            evil.status_code == 403 and "origin &#39;http://evil.example&#39; is not" in evil.text
        )
        cross = client.post(url, data={"csrf": fresh}, headers={"Sec-Fetch-Site": "cross-site"})
        assert cross.status_code == 403
        assert engine.generation() == active
        done = client.post(url, data={"csrf": fresh}, follow_redirects=False)
        assert done.status_code == 303
        assert engine.generation() == active + 1
    # The page is framed nowhere and runs only its own script.
    page = httpx.get(engine.url + "/", headers=engine.headers, timeout=10)
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    # The API's own writes stay closed to browsers and to callers without the token.
    api = engine.url + "/api/gitsync/v1/tenant/default/application/default/rollback"
    assert httpx.post(api, headers={"User-Agent": "Mozilla/5.0"}).status_code == 405
    assert httpx.post(api).status_code == 401


def _csrf(html: str) -> str:
    marker = 'name="csrf" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]
