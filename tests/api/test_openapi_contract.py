"""The contract: ``schemas/openapi.yaml`` is served at ``/openapi.yaml`` (self-contained)
and a bounded schemathesis run against the live server finds no 5xx and no response
that breaks the document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings

from gitsync.config import package
from gitsync.config.schema import schemas_dir
from tests.testing.api import run_server, schema_operations

schemathesis.serializer.alias(["application/zip", "application/x-gzip"], "application/octet-stream")

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


def test_document_is_served_self_contained(http: httpx.Client) -> None:
    response = http.get("/openapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/yaml"
    served = yaml.safe_load(response.text)
    assert served["openapi"] == "3.1.0"
    assert "cfg-deploy-config" in served["components"]["schemas"]
    refs = [line for line in response.text.splitlines() if "$ref:" in line]
    assert refs and all("'#/" in line or '"#/' in line or "$ref: '#" in line for line in refs)
    on_disk = yaml.safe_load((schemas_dir() / "openapi.yaml").read_text())
    put = on_disk["paths"]["/api/serve/applications/"]["put"]
    assert put["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "deploy-config.schema.json"
    }


def _seed(url: str) -> None:
    """An active application, so the read routes have something to answer with."""
    zipped = package.build_zip(
        {
            "services.xml": b"<services/>",
            "serve.yaml": b"applications:\n  - name: a\n    route_prefix: /a\n"
            b"    import_path: m:app\n",
        }
    )
    httpx.post(
        f"{url}/application/v2/tenant/default/prepareandactivate",
        content=zipped,
        headers={"Content-Type": "application/zip"},
    )


def test_api_contract(tmp_path: Path) -> None:
    """Every operation, a few generated cases each (bounded: well under two minutes)."""
    failures: list[str] = []
    with run_server(tmp_path / "state") as live:
        _seed(live.url)
        operations = schema_operations(f"{live.url}/openapi.yaml")
        assert len(operations) >= 30
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(
                max_examples=8,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
                database=None,
            )
            def check(case: schemathesis.Case[Any]) -> None:
                # Ray's scale endpoint answers 503 when no Serve instance runs (documented).
                scale = "/scale" in case.operation.path
                case.call_and_validate(checks=CHECKS[1:] if scale else CHECKS)

            try:
                check()
            except Exception as exc:  # collect every operation's failure, then report
                failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_contract_document_lists_every_route(tmp_path: Path) -> None:
    document = yaml.safe_load((schemas_dir() / "openapi.yaml").read_text())
    assert "/application/v2/tenant/{tenant}/prepareandactivate" in document["paths"]
    assert "/api/serve/deployments/status" in document["paths"]
