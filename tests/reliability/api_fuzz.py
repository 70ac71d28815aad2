"""Fuzz a live engine's HTTP API and count 5xx answers: schemathesis over
``schemas/openapi.yaml`` and hypothesis over gitsync's own ``/api/gitsync/v1`` routes
(not in the document). Used by test_fuzz_api.py and bench/reliability.py."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitsync.config import package
from tests.testing.api import schema_operations

schemathesis.serializer.alias(["application/zip", "application/x-gzip"], "application/octet-stream")

GOOD = b"applications:\n  - name: a\n    route_prefix: /a\n    import_path: m:app\n"


@dataclass
class FuzzStats:
    requests: int = 0
    server_errors: list[str] = field(default_factory=list)
    operations: int = 0

    def record(self, label: str, status: int, text: str) -> None:
        self.requests += 1
        if status >= 500 and not _documented_unavailable(label, status, text):
            self.server_errors.append(f"{label}: {status} {text[:300]}")


def _documented_unavailable(label: str, status: int, text: str) -> bool:
    """Ray's scale endpoint answers 503 when no Serve instance runs, and so does the
    engine's (documented): an answer, not a server error."""
    return (
        label.endswith("/scale") and status == 503 and "Serve controller is not available" in text
    )


def seed(url: str, token: str | None) -> None:
    """An active application, so the read routes have something to answer with."""
    headers = {"Content-Type": "application/zip"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = package.build_zip({"services.xml": b"<services/>", "serve.yaml": GOOD})
    response = httpx.post(
        f"{url}/application/v2/tenant/default/prepareandactivate", content=body, headers=headers
    )
    response.raise_for_status()


def fuzz_openapi(url: str, token: str | None, examples: int, stats: FuzzStats) -> None:
    """Every operation of the document, ``examples`` generated cases each."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    for operation in schema_operations(f"{url}/openapi.yaml", headers):
        stats.operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case[Any]) -> None:
            response = case.call(headers=headers, timeout=60)
            stats.record(case.operation.label, response.status_code, response.text)

        check()


ROUTES = ["live", "history", "deploy", "rollback"]
NAMES = st.one_of(st.sampled_from(["default", "other", "a-b_c"]), st.text(min_size=1, max_size=8))
BODIES = st.one_of(
    st.binary(max_size=512),
    st.just(package.build_zip({"serve.yaml": GOOD})),
    st.just(package.build_tar_gz({"serve.yaml": GOOD})),
    st.builds(lambda t: package.build_zip({"serve.yaml": t.encode()}), st.text(max_size=200)),
)
CONTENT_TYPES = st.sampled_from(
    ["application/zip", "application/x-gzip", "text/plain", "", "application/zip; x=1"]
)
SOURCE_HEADERS = st.one_of(
    st.none(),
    st.text(max_size=40).filter(lambda s: s.isascii() and s.isprintable() and s == s.strip()),
    st.builds(
        lambda r, m: json.dumps({"revision": r, "meta": m}),
        st.one_of(st.text(max_size=10), st.integers(), st.none()),
        st.one_of(
            st.dictionaries(st.text(max_size=5), st.text(max_size=5)), st.integers(), st.text()
        ),
    ),
)
QUERY = st.dictionaries(
    st.sampled_from(["force", "generation"]),
    st.one_of(st.sampled_from(["true", "1", "-1", "99999999999999999999"]), st.text(max_size=5)),
)


def fuzz_native(url: str, token: str | None, examples: int, stats: FuzzStats) -> None:
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=url, timeout=60) as http:

        @given(
            route=st.sampled_from(ROUTES),
            tenant=NAMES,
            application=NAMES,
            body=BODIES,
            content_type=CONTENT_TYPES,
            source=SOURCE_HEADERS,
            query=QUERY,
        )
        @settings(
            max_examples=examples,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(
            route: str,
            tenant: str,
            application: str,
            body: bytes,
            content_type: str,
            source: str | None,
            query: dict[str, str],
        ) -> None:
            from urllib.parse import quote

            path = (
                f"/api/gitsync/v1/tenant/{quote(tenant, safe='')}"
                f"/application/{quote(application, safe='')}/{route}"
            )
            method = "GET" if route in ("live", "history") else "POST"
            headers = {**auth, "Content-Type": content_type}
            if source is not None:
                headers["X-Gitsync-Source"] = source
            response = http.request(method, path, content=body, headers=headers, params=query)
            stats.record(f"{method} {path}", response.status_code, response.text)

        check()
