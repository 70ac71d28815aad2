"""Real git: one ``git()`` runner, one work repository, and a smart-HTTP server behind
Basic auth (the real ``git http-backend``), with their fixtures."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.testing.tools import tool_path
from tests.testing.wait import free_port

# A fixed identity and dates and no system config: the same commits on every machine.
# The root conftest sets these for every test; ``git()`` adds them for benches too.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada Lovelace",
    "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_AUTHOR_DATE": "2024-05-01T12:00:00+00:00",
    "GIT_COMMITTER_NAME": "Ada Lovelace",
    "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_COMMITTER_DATE": "2024-05-01T12:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


def git(cwd: Path, *args: str, check: bool = True, timeout_s: float = 120) -> str:
    """Run ``git ARGS`` in ``cwd`` and return its output, stripped; raise on failure
    (with git's message) unless ``check`` is false."""
    done = subprocess.run(
        [tool_path("git"), *args],
        cwd=cwd,
        env={**GIT_ENV, **os.environ},
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


class WorkRepo:
    """A work tree on branch ``main`` that tests and benches write, commit and push from."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        git(path, "init", "--quiet", "--initial-branch=main")

    def write(self, rel: str, data: str | bytes) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(data, bytes):
            target.write_bytes(data)
        else:
            target.write_text(data)

    def commit(self, message: str, files: Mapping[str, str | bytes | None] | None = None) -> str:
        """Write ``files`` (None deletes one), commit everything, return the new HEAD."""
        for rel, data in (files or {}).items():
            if data is None:
                (self.path / rel).unlink(missing_ok=True)
            else:
                self.write(rel, data)
        git(self.path, "add", "--all")
        git(self.path, "commit", "--quiet", "--allow-empty", "-m", message)
        return self.head()

    def head(self) -> str:
        return git(self.path, "rev-parse", "HEAD")

    def bare_clone(self, dest: Path) -> Path:
        git(dest.parent, "clone", "--quiet", "--bare", str(self.path), str(dest))
        return dest

    def push(self, remote: str, *extra: str) -> subprocess.CompletedProcess[str]:
        """``git push`` of HEAD to ``main``; the result is returned, not checked (tests
        look at refusals)."""
        return subprocess.run(
            [tool_path("git"), "push", *extra, remote, "HEAD:refs/heads/main"],
            cwd=self.path,
            capture_output=True,
            text=True,
            timeout=120,
        )


@pytest.fixture
def repo(tmp_path: Path) -> WorkRepo:
    return WorkRepo(tmp_path / "work")


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def closed_port() -> int:
    """A 127.0.0.1 port with nothing listening."""
    return free_port()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never answers (a hung remote)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


class GitHttpServer:
    """Smart HTTP through the real ``git http-backend``, behind Basic auth."""

    def __init__(self, project_root: Path, user: str, password: str) -> None:
        self.project_root = project_root
        self.expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.auth_failures = 0
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                if self.headers.get("Authorization") != server.expected:
                    if self.headers.get("Authorization"):
                        server.auth_failures += 1
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="git"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path, _, query = self.path.partition("?")
                env = {
                    "PATH": os.environ["PATH"],
                    "GIT_PROJECT_ROOT": str(server.project_root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "PATH_INFO": path,
                    "QUERY_STRING": query,
                    "REQUEST_METHOD": self.command,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "REMOTE_USER": "tester",
                    "REMOTE_ADDR": "127.0.0.1",
                    "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                    "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                }
                out = subprocess.run(
                    [tool_path("git"), "http-backend"],
                    input=body,
                    env=env,
                    capture_output=True,
                    timeout=60,
                ).stdout
                head, _, payload = out.partition(b"\r\n\r\n")
                status = 200
                headers: list[tuple[str, str]] = []
                for line in head.decode().split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value.strip()))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler


@pytest.fixture
def http_git(tmp_path: Path) -> Iterator[GitHttpServer]:
    root = tmp_path / "served"
    root.mkdir()
    server = GitHttpServer(root, "alice", "s3cret-pass")
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()
