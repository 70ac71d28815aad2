"""Attacks on a running engine, one per hole family, with their outcomes classified.

Each attack sends hostile input the way an attacker or a careless operator would and
returns the response (or raises on a dropped connection). The campaign runs each one
against a live engine and then checks that the engine still answers ``/state/v1/health``
quickly; it counts cases tried, refused (4xx), 5xx, hangs, crashes and leaked secrets
(a planted secret found in any response). Used by tests/reliability/test_attacks.py
(scale 1) and bench/reliability.py (bigger scales).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from gitsync.config import package

SECRET = "8675309-planted-secret"
Attack = Callable[[httpx.Client, int], httpx.Response]
JSON = {"Content-Type": "application/json"}
ZIP = {"Content-Type": "application/zip"}
V2 = "/application/v2/tenant/default"


def _zip_yaml(text: str) -> bytes:
    return package.build_zip({"services.xml": b"<services/>", "serve.yaml": text.encode()})


def _deploy_yaml(http: httpx.Client, text: str) -> httpx.Response:
    return http.post(f"{V2}/prepareandactivate", content=_zip_yaml(text), headers=ZIP)


def _app(**extra: object) -> dict[str, object]:
    return {"name": "a", "import_path": "m:a", "route_prefix": "/a", **extra}


def compact_nesting(http: httpx.Client, scale: int) -> httpx.Response:
    return _deploy_yaml(http, "applications:\n" + "- " * (100_000 * scale) + "x\n")


def mid_nesting(http: httpx.Client, scale: int) -> httpx.Response:
    return _deploy_yaml(http, "applications:\n" + "- " * 5_000 + "x\n")


def deep_json(http: httpx.Client, scale: int) -> httpx.Response:
    body = b"[" * (100_000 * scale) + b"]" * (100_000 * scale)
    return http.put("/api/serve/applications/", content=body, headers=JSON)


def non_string_key(http: httpx.Client, scale: int) -> httpx.Response:
    return _deploy_yaml(http, "applications:\n- name: a\n  import_path: m:a\n  args: {0: cat}\n")


def huge_integer(http: httpx.Client, scale: int) -> httpx.Response:
    return _deploy_yaml(
        http, "applications:\n- name: a\n  import_path: m:a\n  args:\n    n: " + "9" * 5_000 + "\n"
    )


def infinity_in_put(http: httpx.Client, scale: int) -> httpx.Response:
    body = b'{"applications": [{"name": "a", "import_path": "m:a", "args": {"x": 1e999}}]}'
    return http.put("/api/serve/applications/", content=body, headers=JSON)


def quadratic_scrubber(http: httpx.Client, scale: int) -> httpx.Response:
    value = "a" * (300_000 * scale) + "://" + "b" * 1000
    return http.put("/api/serve/applications/", json={"applications": [_app(args={"u": value})]})


def million_findings(http: httpx.Client, scale: int) -> httpx.Response:
    body = b'{"applications": [' + b",".join([b"1"] * (1_000_000 * scale)) + b"]}"
    return http.put("/api/serve/applications/", content=body, headers=JSON, timeout=600)


def secret_in_error(http: httpx.Client, scale: int) -> httpx.Response:
    config = {"applications": [_app(runtime_env={"env_vars": {"DB": [SECRET]}})]}
    return http.put("/api/serve/applications/", json=config)


def secret_in_url(http: httpx.Client, scale: int) -> httpx.Response:
    url = f"https://user:{SECRET}@example.com/x.zip?private_token={SECRET}"
    config = {"applications": [_app(runtime_env={"working_dir": url}, num_replicas="x")]}
    return http.put("/api/serve/applications/", json=config)


def dns_rebinding(http: httpx.Client, scale: int) -> httpx.Response:
    return http.get("/api/serve/applications/", headers={"Host": "evil.example"})


def nul_zip_entry(http: httpx.Client, scale: int) -> httpx.Response:
    data = package.build_zip({"services.xml": b"<services/>", "evilXx.yaml": b"a: 1\n"})
    data = data.replace(b"evilXx.yaml", b"evil\x00x.yaml")
    return http.post(f"{V2}/prepareandactivate", content=data, headers=ZIP)


def control_chars_in_name(http: httpx.Client, scale: int) -> httpx.Response:
    config = {"applications": [{**_app(), "name": "a\x1b]0;owned\x07\u202e"}]}
    return http.put("/api/serve/applications/", json=config)


def long_name(http: httpx.Client, scale: int) -> httpx.Response:
    config = {"applications": [{**_app(), "name": "n" * (100_000 * scale)}]}
    return http.put("/api/serve/applications/", json=config)


def deep_source_header(http: httpx.Client, scale: int) -> httpx.Response:
    header = "[" * 8_000
    return http.post(
        "/api/gitsync/v1/tenant/default/application/default/deploy",
        content=_zip_yaml("applications: []\n"),
        headers={**ZIP, "X-Gitsync-Source": header},
    )


def hoarded_connections(http: httpx.Client, scale: int) -> httpx.Response:
    host, port = http.base_url.host, http.base_url.port or 80
    held = []
    try:
        for i in range(200 * scale):
            sock = socket.create_connection((host, port), timeout=5)
            if i % 2:
                sock.sendall(b"GET /state/v1/health HTTP/1.1\r\nHost: localhost\r\n")
            held.append(sock)
        return http.get("/state/v1/health")
    finally:
        for sock in held:
            sock.close()


ATTACKS: dict[str, Attack] = {
    "yaml: compact nesting (SIGSEGV before)": compact_nesting,
    "yaml: 5,000 compact levels (RecursionError before)": mid_nesting,
    "json: 100,000 nested arrays": deep_json,
    "yaml: non-string key": non_string_key,
    "yaml: 5,000-digit integer": huge_integer,
    "serve PUT: 1e999": infinity_in_put,
    "regex: 300 KB near-URL (quadratic scrubber before)": quadratic_scrubber,
    "validation: a million findings": million_findings,
    "secret: env_vars value in an error": secret_in_error,
    "secret: URL credentials and query token": secret_in_url,
    "read: DNS rebinding Host": dns_rebinding,
    "zip: NUL in a raw entry name": nul_zip_entry,
    "name: control and bidi characters": control_chars_in_name,
    "name: 100,000 characters": long_name,
    "header: deeply nested source JSON": deep_source_header,
    "connections: 200 idle and half-sent, then health": hoarded_connections,
}


@dataclass
class Campaign:
    tried: int = 0
    refused: int = 0
    accepted: int = 0
    server_errors: list[str] = field(default_factory=list)
    hangs: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def _healthy(url: str, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/state/v1/health", timeout=within_s).status_code == 200:
                return True
        except httpx.HTTPError:
            time.sleep(0.2)
    return False


def run_campaign(
    url: str, token: str, *, scale: int = 1, timeout_s: float = 120.0, alive: Callable[[], bool]
) -> Campaign:
    """Every attack against the engine at ``url``; ``alive`` says whether its process lives."""
    result = Campaign()
    headers = {"Authorization": f"Bearer {token}"}
    for name, attack in ATTACKS.items():
        result.tried += 1
        started = time.monotonic()
        with httpx.Client(base_url=url, headers=headers, timeout=timeout_s) as http:
            try:
                response = attack(http, scale)
            except httpx.TimeoutException:
                result.hangs.append(name)
                response = None
            except httpx.HTTPError as exc:
                response = None
                if alive():
                    result.hangs.append(f"{name}: {type(exc).__name__}")
        result.seconds[name] = time.monotonic() - started
        if not alive():
            result.crashes.append(name)
            break
        if not _healthy(url, 10.0):
            result.hangs.append(f"{name}: health did not answer within 10 s")
        if response is None:
            continue
        if SECRET in response.text:
            result.leaks.append(name)
        if response.status_code >= 500:
            result.server_errors.append(f"{name}: {response.status_code}")
        elif response.status_code >= 400:
            result.refused += 1
        else:
            result.accepted += 1
    return result
