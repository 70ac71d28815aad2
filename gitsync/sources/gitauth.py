"""Git credentials: taken from the environment (or a URL), given to git through a
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
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from gitsync.errors import SourceError
from gitsync.redact import redact_text

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


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password='***')"


@dataclass(frozen=True)
class ParsedUrl:
    """A remote URL split into the URL git sees and the userinfo it carried."""

    url: str  # safe to show, log and store
    user: str | None = None
    password: str | None = None


def split_credentials(url: str) -> ParsedUrl:
    """Take the userinfo (``user:pass@`` or a bare ``token@``) out of an http(s) URL.

    For ssh URLs the user name is part of the address (``git@host``) and stays; only a
    password is removed.
    """
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return ParsedUrl(url)
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, has_password, password = userinfo.partition(":")
    if parts.scheme in ("http", "https"):
        clean = urlunsplit(parts._replace(netloc=hostport))
        return ParsedUrl(clean, user, password if has_password else None)
    if has_password:
        clean = urlunsplit(parts._replace(netloc=f"{user}@{hostport}"))
        return ParsedUrl(clean, None, password)
    return ParsedUrl(url)


def resolve_credentials(
    parsed: ParsedUrl, env: Mapping[str, str] | None = None
) -> Credentials | None:
    """Credentials for a remote: the URL's own, else the environment's.

    Environment: ``GITSYNC_GIT_TOKEN`` (user ``GITSYNC_GIT_USERNAME`` or
    ``x-access-token``), or ``GITSYNC_GIT_USERNAME`` + ``GITSYNC_GIT_PASSWORD``.
    A URL with a bare ``name@`` takes its password from the environment when one is
    set, else the name is taken as a token (``https://TOKEN@github.com/...``).
    """
    env = os.environ if env is None else env
    secret = env.get(ENV_TOKEN) or env.get(ENV_PASSWORD) or ""
    env_user = env.get(ENV_USERNAME) or TOKEN_USERNAME
    if parsed.password is not None:
        return Credentials(parsed.user or env_user, parsed.password)
    if parsed.user:
        if secret:
            return Credentials(parsed.user, secret)
        return Credentials(TOKEN_USERNAME, parsed.user)
    return Credentials(env_user, secret) if secret else None


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
