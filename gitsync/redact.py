"""One redaction for every surface: what leaves gitsync never carries a secret.

* :func:`redact_text` takes credentials out of free text: URL userinfo
  (``https://user:pass@host`` → ``https://***@host``), secret-looking query parameters
  (``?private_token=…``), ``Bearer``/``Basic`` credentials, and any literal secret the
  caller knows (a token, a password).
* :func:`is_secret_key` is the heuristic for names whose values are secret
  (``DB_PASSWORD``, ``api_key``, ``session_cookie`` …).
* :func:`describe` names a value's type without showing it, for error messages about
  values that may be secret.

Every scan here is linear in the text: hostile text of any size costs O(n).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "***"

# Parts of a name that mark its value as secret (matched case-insensitively, anywhere).
SECRET_WORDS = (
    "token",
    "password",
    "passwd",
    "pwd",
    "secret",
    "key",
    "credential",
    "auth",
    "bearer",
    "cookie",
    "session",
    "private",
    "signature",
)
_SECRET_NAME = re.compile("|".join(SECRET_WORDS), re.IGNORECASE)

# A query parameter: a bounded name after ? or &, then its value up to & # or space.
# Bounded name, nothing after the greedy value: no backtracking, linear time.
_QUERY_PARAM = re.compile(r"([?&;])([A-Za-z0-9_.\-\[\]]{1,64})=([^&#;\s\"'<>]*)")
# An HTTP credential written out: the scheme word, spaces, then the credential.
_AUTH_SCHEME = re.compile(r"\b(Bearer|Basic|Token)([ \t]+)[A-Za-z0-9._~+/=\-]+", re.IGNORECASE)
# A URL's authority: everything up to the path, query, fragment or a space.
_AUTHORITY = re.compile(r"[^/?#\\\s\"'<>]*")


def is_secret_key(name: str) -> bool:
    """True when a value named ``name`` should be treated as secret."""
    return bool(_SECRET_NAME.search(name))


def is_secret_path(path: Iterable[object]) -> bool:
    """True for a value inside ``env_vars`` or under a secret-looking key."""
    return any(
        isinstance(part, str) and (part == "env_vars" or is_secret_key(part)) for part in path
    )


def describe(value: Any) -> str:
    """The kind of ``value`` for messages: "a string", "an integer" …, never the value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def redact_userinfo(text: str) -> str:
    """``scheme://user:pass@host`` → ``scheme://***@host``, for every URL in ``text``."""
    if "://" not in text or "@" not in text:
        return text
    out: list[str] = []
    done = 0
    start = text.find("://")
    while start >= 0:
        begin = start + 3
        authority = _AUTHORITY.match(text, begin)
        end = authority.end() if authority else begin
        at = text.rfind("@", begin, end)
        # ssh's user name (git@host) is an address, not a credential: it stays.
        ssh_user = text[max(0, start - 3) : start].lower() == "ssh" and ":" not in text[begin:at]
        if at >= 0 and not ssh_user:
            out.append(text[done:begin])
            out.append(MASK)
            done = at
        start = text.find("://", max(end, begin))
    out.append(text[done:])
    return "".join(out)


def _query_value(match: re.Match[str]) -> str:
    sep, name, value = match.groups()
    if value and is_secret_key(name):
        return f"{sep}{name}={MASK}"
    return match.group(0)


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every credential it may hold replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= 4 and secret in text:
            text = text.replace(secret, MASK)
    text = redact_userinfo(text)
    if "=" in text:
        text = _QUERY_PARAM.sub(_query_value, text)
    return _AUTH_SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


def redact_value(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A JSON-like value with secret-named entries masked and every string redacted."""
    known = tuple(secrets)
    stack: list[Any] = []
    root: list[Any] = [None]
    stack.append((value, root, 0))
    while stack:
        item, holder, slot = stack.pop()
        if isinstance(item, dict):
            copy: dict[Any, Any] = {}
            holder[slot] = copy
            for key, child in item.items():
                if isinstance(key, str) and is_secret_key(key) and child is not None:
                    copy[key] = MASK
                else:
                    copy[key] = None
                    stack.append((child, copy, key))
        elif isinstance(item, list | tuple):
            items: list[Any] = [None] * len(item)
            holder[slot] = items
            stack.extend((child, items, i) for i, child in enumerate(item))
        elif isinstance(item, str):
            holder[slot] = redact_text(item, known)
        else:
            holder[slot] = item
    return root[0]
