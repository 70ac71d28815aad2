"""Vespa Deploy API v2 over real HTTP: the seed's curl recipes as httpx calls, exact
JSON and the error model of vespa-deploy-api.md §3."""

from __future__ import annotations

import httpx

from gitsync.config import package
from tests.testing.api import LiveServer
from tests.testing.configs import SERVICES_XML, package_files, serve_yaml

BOTH_STORES = True  # the store matters here: tests/api/conftest.py runs each on both

V2 = "/application/v2/tenant/default"
APP = f"{V2}/application/default/environment/prod/region/default/instance/default"
ZIP = {"Content-Type": "application/zip"}
TGZ = {"Content-Type": "application/x-gzip"}


def _error(response: httpx.Response, status: int, code: str, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error-code": code, "message": message}


def test_prepareandactivate_tar_gz_upload(live: LiveServer, http: httpx.Client) -> None:
    body = package.build_tar_gz(package_files(("app1", "/a")))
    response = http.post(f"{V2}/prepareandactivate", content=body, headers=TGZ)
    assert response.status_code == 200
    assert response.json() == {
        "log": [],
        "message": "Session 2 for tenant 'default' prepared and activated.",
        "session-id": "2",
        "activated": True,
        "tenant": "default",
        "url": f"{live.url}{APP}",
        "configChangeActions": {
            "restart": [],
            "refeed": [],
            "reindex": [],
            "create": ["app1"],
            "delete": [],
            "reconfigure": [],
            "scale": [],
        },
    }
    assert http.get(f"{V2}/application/").json() == [f"{live.url}{APP}"]
    info = http.get(f"{V2}/application/default").json()
    assert info["generation"] == 2 and info["modelVersions"] == ["8.763.13"]


def test_urls_follow_the_host_header(http: httpx.Client, zip_package: bytes) -> None:
    headers = {**ZIP, "Host": "config.localhost:19071"}  # any allowed name
    response = http.post(f"{V2}/session", content=zip_package, headers=headers)
    assert response.json()["prepared"] == (
        "http://config.localhost:19071/application/v2/tenant/default/session/2/prepared"
    )


def test_session_flow_create_edit_prepare_activate(
    live: LiveServer, http: httpx.Client, zip_package: bytes
) -> None:
    created = http.post(f"{V2}/session", content=zip_package, headers=ZIP)
    base = f"{live.url}{V2}/session/2"
    assert created.json() == {
        "log": [],
        "tenant": "default",
        "session-id": "2",
        "prepared": f"{base}/prepared",
        "content": f"{base}/content/",
        "message": "Session 2 for tenant 'default' created.",
    }
    # The docs' content edit: mkdir, then a file inside it.
    assert http.put(f"{V2}/session/2/content/files/").json() == {"prepared": f"{base}/prepared"}
    put = http.put(f"{V2}/session/2/content/files/test1.txt", content=b"hello")
    assert put.status_code == 200
    assert http.get(f"{V2}/session/2/content/files/test1.txt").content == b"hello"
    listing = http.get(f"{V2}/session/2/content/").json()
    assert listing == [
        f"{base}/content/files/",
        f"{base}/content/serve.yaml",
        f"{base}/content/services.xml",
    ]
    recursive = http.get(f"{V2}/session/2/content/", params={"recursive": "true"}).json()
    assert f"{base}/content/files/test1.txt" in recursive
    status = http.get(f"{V2}/session/2/content/files/test1.txt", params={"return": "status"})
    assert status.json() == {
        "status": "new",
        "md5": "5d41402abc4b2a76b9719d911017c592",
        "name": f"{base}/content/files/test1.txt",
    }
    xml = http.get(f"{V2}/session/2/content/services.xml")
    assert xml.headers["content-type"] == "application/xml"
    assert xml.content == SERVICES_XML
    prepared = http.put(f"{V2}/session/2/prepared", params={"applicationName": "default"})
    assert prepared.json()["activate"] == f"{base}/active"
    assert prepared.json()["message"] == "Session 2 for tenant 'default' prepared."
    assert http.get(f"{V2}/session/2/prepared").status_code == 200
    active = http.put(f"{V2}/session/2/active")
    assert active.status_code == 200
    body = active.json()
    assert body["message"] == "Session 2 for tenant 'default' activated."
    assert body["session-id"] == "2"
    assert body["application"]["id"] == "default:default:default"
    assert body["application"]["generation"] == 2
    assert body["application"]["previousActiveGeneration"] == 0
    assert body["url"] == f"{live.url}{APP}"
    # Re-activating the active session is a 200 no-op (§1.9).
    assert http.put(f"{V2}/session/2/active").status_code == 200


def test_create_from_active_and_conflicts(http: httpx.Client, zip_package: bytes) -> None:
    http.post(f"{V2}/prepareandactivate", content=zip_package, headers=ZIP)
    stale = http.post(f"{V2}/session", content=zip_package, headers=ZIP).json()["session-id"]
    copied = http.post(f"{V2}/session", params={"from": f"http://any:1{APP}"})
    assert copied.status_code == 200 and copied.json()["session-id"] == "4"
    new_yaml = serve_yaml(("app1", "/a"), price=7)
    http.put(f"{V2}/session/4/content/serve.yaml", content=new_yaml)
    http.put(f"{V2}/session/4/prepared")
    assert http.put(f"{V2}/session/4/active").status_code == 200
    http.put(f"{V2}/session/{stale}/prepared")
    _error(
        http.put(f"{V2}/session/{stale}/active"),
        409,
        "ACTIVATION_CONFLICT",
        "This session 3 was prepared when session 2 was active, but session 4 has since "
        "become active: refusing to activate this session, please redeploy",
    )
    _error(
        http.put(f"{V2}/session/{stale}/active", params={"force": "true"}),
        409,
        "ACTIVATION_CONFLICT",
        "Cannot activate session 3, because it is older than current active session (4), "
        "please try deploying again from start",
    )


def test_illegal_from_and_missing_active(http: httpx.Client) -> None:
    _error(
        http.post(f"{V2}/session", params={"from": "active"}),
        400,
        "BAD_REQUEST",
        "Parameter 'from' has illegal value 'active'",
    )
    _error(
        http.post(f"{V2}/session", params={"from": f"http://h:1{APP}"}),
        400,
        "BAD_REQUEST",
        "Application 'default.default.default' has no active session.",
    )


def test_upload_errors(http: httpx.Client) -> None:
    _error(http.post(f"{V2}/session", headers=ZIP), 400, "BAD_REQUEST", "Request contains no data")
    _error(
        http.post(f"{V2}/session", content=b"x"),
        400,
        "BAD_REQUEST",
        "Request contains no Content-Type header",
    )
    _error(
        http.post(f"{V2}/session", content=b"x", headers={"Content-Type": "text/plain"}),
        400,
        "BAD_REQUEST",
        "Request contains invalid Content-Type header (text/plain)",
    )
    garbage = http.post(f"{V2}/session", content=b"not gzip at all", headers=TGZ)
    assert garbage.status_code == 400
    assert garbage.json()["message"].startswith("Unable to create compressed application stream")


def test_invalid_package_is_invalid_application_package(http: httpx.Client) -> None:
    files = {"services.xml": SERVICES_XML, "serve.yaml": b"applications:\n  - name: a\n"}
    response = http.post(f"{V2}/prepareandactivate", content=package.build_zip(files), headers=ZIP)
    assert response.status_code == 400
    assert response.json()["error-code"] == "INVALID_APPLICATION_PACKAGE"
    assert "import_path" in response.json()["message"]


def test_unknown_and_non_numeric_sessions(http: httpx.Client) -> None:
    _error(
        http.put(f"{V2}/session/99/prepared"),
        404,
        "NOT_FOUND",
        "Local session 99 for 'default' was not found",
    )
    response = http.get(f"{V2}/session/abc/content/")
    assert response.status_code == 400
    assert response.json()["message"].startswith("Session id in request is not a number")


def test_content_rules(http: httpx.Client, zip_package: bytes) -> None:
    http.post(f"{V2}/session", content=zip_package, headers=ZIP)
    _error(
        http.put(f"{V2}/session/2/content/empty.txt"),
        400,
        "BAD_REQUEST",
        "Request must contain body when creating a file",
    )
    traversal = http.put(f"{V2}/session/2/content/a%2F..%2Fb", content=b"x")
    assert traversal.status_code == 400
    assert traversal.json()["error-code"] == "BAD_REQUEST"
    _error(
        http.get(f"{V2}/session/2/content/missing.txt"),
        404,
        "NOT_FOUND",
        "Session 2 does not contain a file at path '/missing.txt'",
    )
    bad_return = http.get(f"{V2}/session/2/content/", params={"return": "zip"})
    assert bad_return.status_code == 400
    http.put(f"{V2}/session/2/content/dir/f.txt", content=b"1")
    _error(
        http.delete(f"{V2}/session/2/content/dir"),
        400,
        "BAD_REQUEST",
        "File 'dir' is not an empty directory",
    )
    assert http.delete(f"{V2}/session/2/content/dir/f.txt").status_code == 200
    deleted = http.get(f"{V2}/session/2/content/dir/f.txt", params={"return": "status"})
    assert deleted.json()["status"] == "deleted"


def test_prepare_state_errors(http: httpx.Client, zip_package: bytes) -> None:
    http.post(f"{V2}/session", content=zip_package, headers=ZIP)
    _error(http.put(f"{V2}/session/2/active"), 400, "BAD_REQUEST", "Session 2 is not prepared")
    _error(http.get(f"{V2}/session/2/prepared"), 400, "BAD_REQUEST", "Session not prepared: 2")
    _error(
        http.put(f"{V2}/session/2/prepared", params={"applicationName": "bad name"}),
        400,
        "BAD_REQUEST",
        "application name must match '[a-zA-Z0-9_-]{1,256}', but got: 'bad name'",
    )
    _error(
        http.put(f"{V2}/session/2/prepared", params={"timeout": "soon"}),
        400,
        "BAD_REQUEST",
        "Parameter 'timeout' must be a number, but got: 'soon'",
    )


def test_prepareandactivate_put_and_dry_run(http: httpx.Client, zip_package: bytes) -> None:
    dry = http.post(
        f"{V2}/prepareandactivate", params={"dryRun": "true"}, content=zip_package, headers=ZIP
    )
    assert dry.json()["activated"] is False
    retry = http.put(f"{V2}/prepareandactivate/2")
    assert retry.json() == {"message": "Session 2 for default.default.default activated"}


def test_application_delete_and_unknown(http: httpx.Client, zip_package: bytes) -> None:
    http.post(f"{V2}/prepareandactivate", content=zip_package, headers=ZIP)
    assert http.delete(APP).json() == {"message": "Application 'default.default.default' deleted"}
    _error(
        http.delete(f"{V2}/application/default"),
        404,
        "NOT_FOUND",
        "Unable to delete default.default.default: Not found",
    )
    _error(
        http.get(f"{V2}/application/other"),
        404,
        "NOT_FOUND",
        "Unknown application id 'default.other.default'",
    )


def test_instance_content_is_read_only_and_unknown_paths(
    http: httpx.Client, zip_package: bytes
) -> None:
    http.post(f"{V2}/prepareandactivate", content=zip_package, headers=ZIP)
    assert http.get(f"{APP}/content/serve.yaml").content.startswith(b"applications:")
    _error(
        http.put(f"{APP}/content/serve.yaml", content=b"x"),
        404,
        "NOT_FOUND",
        f"Nothing at path '{APP}/content/serve.yaml'",
    )
    _error(http.get(f"{APP}/logs"), 404, "NOT_FOUND", f"Nothing at path '{APP}/logs'")


def test_tenants(http: httpx.Client, zip_package: bytes) -> None:
    assert http.get("/application/v2/tenant").json() == {"tenants": ["default"]}
    assert http.put("/application/v2/tenant/t1").json() == {"message": "Tenant t1 created."}
    assert http.put("/application/v2/tenant/t1").json() == {"message": "Tenant 't1' already exists"}
    assert http.get("/application/v2/tenant/t1").json() == {"message": "Tenant 't1' exists."}
    http.post(
        "/application/v2/tenant/t1/prepareandactivate",
        params={"applicationName": "shop"},
        content=package.build_zip(package_files(("other", "/o"))),
        headers=ZIP,
    )
    _error(
        http.delete("/application/v2/tenant/t1"),
        400,
        "BAD_REQUEST",
        "Cannot delete tenant 't1', it has active applications: [t1.shop.default]",
    )
    _error(
        http.delete("/application/v2/tenant/default"),
        400,
        "BAD_REQUEST",
        "Deleting 'default' tenant is not allowed",
    )
    _error(
        http.get("/application/v2/tenant/nobody/application/"),
        404,
        "NOT_FOUND",
        "Tenant 'nobody' was not found.",
    )
    _error(
        http.put("/application/v2/tenant/b%20d"),
        400,
        "BAD_REQUEST",
        "tenant name must match '[a-zA-Z0-9_-]{1,256}', but got: 'b d'",
    )


def test_host_lookup(http: httpx.Client, zip_package: bytes) -> None:
    _error(
        http.get("/application/v2/host/localhost"),
        404,
        "NOT_FOUND",
        "Could not find any application using host 'localhost'",
    )
    http.post(f"{V2}/prepareandactivate", content=zip_package, headers=ZIP)
    assert http.get("/application/v2/host/localhost").json() == {
        "tenant": "default",
        "application": "default",
        "environment": "prod",
        "region": "default",
        "instance": "default",
    }


def test_health_endpoints_and_method_errors(http: httpx.Client) -> None:
    assert http.get("/status.html").status_code == 200
    head = http.head("/ApplicationStatus")
    assert head.status_code == 200 and head.http_version == "HTTP/1.1"
    assert http.get("/state/v1/health").json() == {"status": {"code": "up"}}
    assert http.get("/state/v1/version").json() == {"version": "8.763.13"}
    _error(
        http.get(f"{V2}/session"),
        405,
        "METHOD_NOT_ALLOWED",
        "Method 'GET' is not supported",
    )
    _error(http.get("/nowhere"), 404, "NOT_FOUND", "Nothing at path '/nowhere'")


def test_host_lookup_reads_the_active_packages_hosts_xml(
    live: LiveServer, http: httpx.Client
) -> None:
    files = package_files(("app1", "/a"))
    files["hosts.xml"] = b'<hosts><host name="node-1.example"><alias>a</alias></host></hosts>'
    body = package.build_tar_gz(files)
    assert http.post(f"{V2}/prepareandactivate", content=body, headers=TGZ).status_code == 200
    found = http.get("/application/v2/host/node-1.example")
    assert found.status_code == 200, found.text
    assert found.json() == {
        "tenant": "default",
        "application": "default",
        "environment": "prod",
        "region": "default",
        "instance": "default",
    }
    _error(
        http.get("/application/v2/host/localhost"),
        404,
        "NOT_FOUND",
        "Could not find any application using host 'localhost'",
    )
