"""Git credentials (found by :mod:`gitsync.sources.gitcreds`), given to git through a
``GIT_ASKPASS`` helper, and kept out of URLs on disk, command lines, logs and errors.

The helper script holds no secret: git runs it with a prompt, and it prints the
username or password from environment variables that only the git child process
sees. ``redact`` scrubs ``user:pass@`` and every known secret from any message.
"""

from __future__ import annotations

import atexit
import os
import stat
import threading
from typing import TYPE_CHECKING

from gitsync.errors import SourceError
from gitsync.redact import redact_text

if TYPE_CHECKING:
    from gitsync.sources.gitcreds import Credentials

ENV_USERNAME = "GITSYNC_GIT_USERNAME"
ENV_PASSWORD = "GITSYNC_GIT_PASSWORD"
ENV_TOKEN = "GITSYNC_GIT_TOKEN"
TOKEN_USERNAME = "x-access-token"  # accepted by GitHub; other forges ignore the name

# Names the helper reads; they are set only in the environment of git children.
_HELPER_USER = "GITSYNC_ASKPASS_USERNAME"
_HELPER_PASS = "GITSYNC_ASKPASS_PASSWORD"

_ASKPASS_SCRIPT = f"""#!/bin/sh
# gitsync askpass helper: answers git's prompt from the environment.
case "$1" in
  Username*) printf '%s\\n' "${_HELPER_USER}" ;;
  *) printf '%s\\n' "${_HELPER_PASS}" ;;
esac
"""


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Remove URL userinfo, query tokens and every literal secret from ``text``."""
    return redact_text(text, secrets)


# Transports git may use: no ext:: (runs commands), fd::, or other remote helpers.
NETWORK_PROTOCOLS = ("https", "http", "ssh", "git")
_SCHEMES = frozenset({*NETWORK_PROTOCOLS, "git+ssh", "ssh+git", "file"})


def check_transport(url: str) -> None:
    """Refuse at once a URL git would hand to a transport gitsync does not allow."""
    scheme, sep, _ = url.partition("://")
    head = url.split("/", 1)[0]
    if "::" in head:  # git's <transport>::<address> syntax (ext::, fd::, …)
        transport = head.partition("::")[0]
        raise SourceError(
            f"git transport '{transport}::' is not allowed: use https, ssh, git or a local path"
        )
    if sep and scheme.lower() not in _SCHEMES:
        raise SourceError(
            f"git URL scheme '{scheme}' is not allowed: use https, ssh, git or a local path"
        )


def git_environment(
    credentials: Credentials | None, timeout_s: float, *, allow_file: bool = False
) -> dict[str, str]:
    """Environment for git children: never prompt, never hang on ssh questions, and
    speak only the allowed protocols (file only for a local path the operator named)."""
    protocols = [*NETWORK_PROTOCOLS, "file"] if allow_file else list(NETWORK_PROTOCOLS)
    env = {
        "GIT_ALLOW_PROTOCOL": ":".join(protocols),
        "GIT_TERMINAL_PROMPT": "0",
        "GCM_INTERACTIVE": "never",
        "GIT_ASKPASS": askpass_helper(),
    }
    if "GIT_SSH_COMMAND" not in os.environ and "GIT_SSH" not in os.environ:
        # BatchMode: fail instead of asking about host keys or passphrases.
        connect = max(1, int(timeout_s))
        env["GIT_SSH_COMMAND"] = f"ssh -o BatchMode=yes -o ConnectTimeout={connect}"
    if credentials is not None:
        env[_HELPER_USER] = credentials.username
        env[_HELPER_PASS] = credentials.password
    else:
        env[_HELPER_USER] = ""
        env[_HELPER_PASS] = ""
    return env


_helper_lock = threading.Lock()
_helper_path: str | None = None


def askpass_helper() -> str:
    """Path of the helper script, written once per process in a private directory."""
    global _helper_path
    with _helper_lock:
        if _helper_path is None or not os.path.exists(_helper_path):
            import shutil  # only with credentials: a push hook needs neither
            import tempfile

            directory = tempfile.mkdtemp(prefix="gitsync-askpass-")  # mode 0700
            atexit.register(shutil.rmtree, directory, True)
            path = os.path.join(directory, "askpass.sh")
            with open(path, "w", encoding="utf-8") as handle:
                handle.write(_ASKPASS_SCRIPT)
            os.chmod(path, stat.S_IRWXU)
            _helper_path = path
        return _helper_path
