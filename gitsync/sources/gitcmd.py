"""Running git: every command with a timeout, a non-interactive environment, and its
failures turned into a GitSourceError with an actionable, credential-free message.

Commands run through :mod:`subprocess` directly: the git source reads commits with
``cat-file`` and ``ls-tree`` here, and a push hook pays for no git library import.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from gitsync.errors import GitSourceError, GitSourceReason
from gitsync.sources.gitauth import ENV_PASSWORD, ENV_TOKEN, ENV_USERNAME, redact

__all__ = ["GitRunner", "GitSourceError", "classify", "first_detail"]

Reason = GitSourceReason

# Checked in order: the first family whose marker appears in git's stderr wins.
_FAMILIES: tuple[tuple[Reason, tuple[str, ...]], ...] = (
    ("timeout", ("timeout: the command", "process killed because it timed out")),
    (
        "auth",
        (
            "authentication failed",
            "could not read username",
            "could not read password",
            "terminal prompts disabled",
            "permission denied (publickey",
            "access denied",
            "invalid username or password",
            "the requested url returned error: 401",
            "the requested url returned error: 403",
        ),
    ),
    (
        "not-found",
        (
            "repository not found",
            "does not appear to be a git repository",
            "the requested url returned error: 404",
            "not a git repository",
        ),
    ),
    (
        "corrupt",
        (
            "corrupt",
            "bad object",
            "missing blob",
            "missing tree",
            "inflate",
            "loose object",
            "bad packed object",
            "did not send all necessary objects",
            "unable to read",
        ),
    ),
    (
        "unreachable",
        (
            "could not resolve host",
            "failed to connect",
            "connection refused",
            "connection timed out",
            "connection reset",
            "network is unreachable",
            "no route to host",
            "unable to access",
            "could not read from remote repository",
            "the remote end hung up",
            "ssl",
            "host key verification failed",
        ),
    ),
)

_NOISE = re.compile(r"^(fatal|error|warning|remote):\s*", re.IGNORECASE)
_ELAPSED = re.compile(r" after \d+ ms")  # curl's timing makes messages unstable


def classify(stderr: str) -> Reason:
    low = stderr.lower()
    for reason, markers in _FAMILIES:
        if any(marker in low for marker in markers):
            return reason
    return "failed"


def first_detail(stderr: str) -> str:
    """The most telling line of git's stderr, without its ``fatal:`` prefix."""
    lines = [_ELAPSED.sub("", _NOISE.sub("", ln)).strip() for ln in stderr.splitlines()]
    lines = [ln for ln in lines if ln and not ln.lower().startswith("hint:")]
    for line in lines:  # prefer the line that explains the failure
        if classify(line) != "failed":
            return line
    return lines[-1] if lines else "no error output"


class GitRunner:
    """Runs git commands for one source, with its environment and timeout."""

    def __init__(
        self,
        env: Mapping[str, str],
        timeout_s: float,
        display_url: str,
        secrets: tuple[str, ...],
    ) -> None:
        self.env = dict(env)
        self.timeout_s = timeout_s
        self.display_url = display_url
        self.secrets = secrets

    def redact(self, text: str) -> str:
        return redact(text, self.secrets)

    def run(self, args: Sequence[str], *, cwd: Path | None = None, what: str = "") -> str:
        """Run ``git args`` and return its stdout; raise GitSourceError on failure."""
        status, out, err = self.run_status(args, cwd=cwd)
        if status != 0:
            raise self.error(what or f"git {args[0]}", err)
        return out

    def run_bytes(
        self,
        args: Sequence[str],
        *,
        cwd: Path | None = None,
        what: str = "",
        input: bytes | None = None,
    ) -> bytes:
        """``run`` for binary output (``git archive``, ``git cat-file --batch``)."""
        status, out, err = self._execute(args, cwd, input)
        if status != 0:
            raise self.error(what or f"git {args[0]}", _text(err))
        return out

    def run_raw(
        self, args: Sequence[str], *, cwd: Path | None = None, input: bytes | None = None
    ) -> tuple[int, bytes, bytes]:
        """Exit status, stdout and stderr as bytes, for a caller that reads both."""
        return self._execute(args, cwd, input)

    def run_status(self, args: Sequence[str], *, cwd: Path | None = None) -> tuple[int, str, str]:
        """Exit status, stdout and stderr as text (one trailing newline dropped)."""
        status, out, err = self._execute(args, cwd)
        return status, _text(out), _text(err)

    def _execute(
        self, args: Sequence[str], cwd: Path | None, input: bytes | None = None
    ) -> tuple[int, bytes, bytes]:
        # English messages: classify() reads git's stderr.
        env = {**os.environ, "LANGUAGE": "C", "LC_ALL": "C", **self.env}
        try:
            # Its own process group, so a timeout also ends git's helpers (ssh, remote-https)
            # that would otherwise hold the pipes open.
            proc = subprocess.Popen(
                ["git", *args],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL if input is None else subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                process_group=0,
            )
        except FileNotFoundError as exc:
            raise GitSourceError("the git executable was not found on PATH") from exc
        except OSError as exc:
            raise GitSourceError(f"git could not be started: {exc}") from exc
        try:
            out, err = proc.communicate(input, timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            out, err = proc.communicate()
            note = f"Timeout: the command did not complete in {self.timeout_s:g} secs.\n"
            return proc.returncode or -signal.SIGKILL, out, note.encode() + err
        except BaseException:
            _kill_group(proc)
            proc.wait()
            raise
        return proc.returncode, out, err

    def error(self, what: str, stderr: str) -> GitSourceError:
        reason = classify(stderr)
        detail = self.redact(first_detail(stderr))
        url = self.display_url
        if reason == "timeout":
            text = f"{what} timed out after {self.timeout_s:g} s for {url}"
        elif reason == "auth":
            text = (
                f"authentication to {url} failed ({detail}); set {ENV_USERNAME} and "
                f"{ENV_PASSWORD}, or {ENV_TOKEN}, or configure an ssh deploy key"
            )
        elif reason == "not-found":
            text = f"git repository {url} not found (deleted, moved, or no access?): {detail}"
        elif reason == "corrupt":
            text = f"the git object store for {url} is corrupted ({detail}); run `git fsck`"
        elif reason == "unreachable":
            text = f"git remote {url} is unreachable: {detail}"
        else:
            text = f"{what} failed for {url}: {detail}"
        return GitSourceError(self.redact(text), reason)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()


def _text(data: bytes) -> str:
    # Undecodable bytes survive as surrogates; one trailing newline is dropped.
    return data.decode("utf-8", "surrogateescape").removesuffix("\n")
