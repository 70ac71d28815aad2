"""Code from git for Ray: local code directories as deterministic zips named by content.

A package's local ``working_dir`` / ``py_modules`` directory (``./fruit``) cannot go to
Ray as a path: Ray accepts only URIs there. Each directory is zipped with sorted
entries, fixed timestamps and modes, so the same files always give the same bytes and
the same name ``_gitsync_pkg_<sha>.zip``; the config sent to Ray names it
``gcs://<name>``. A ``working_dir`` zip holds the directory's contents at its root; a
``py_modules`` zip holds the directory itself (Ray's own packaging does the same).
"""

from __future__ import annotations

import copy
import hashlib
import io
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from gitsync.engine.records import JsonDict

PACKAGE_PREFIX = "_gitsync_pkg_"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_FILE_MODE = 0o100644 << 16  # regular file, rw-r--r--


@dataclass
class RayConfig:
    """A deploy config as Ray receives it, plus the zips it refers to (name -> bytes)."""

    config: JsonDict
    bundles: dict[str, bytes] = field(default_factory=dict)


def _is_local(value: Any) -> bool:
    return isinstance(value, str) and "://" not in value


def _normalize(path: str) -> str:
    path = path.strip()
    while path.startswith("./"):
        path = path[2:].lstrip("/")
    return path.rstrip("/") or "."


def deterministic_zip(files: Mapping[str, bytes], directory: str, *, keep_dir: bool) -> bytes:
    """The files below ``directory`` as a zip: entries relative to it (``keep_dir``: with
    the directory's own name in front), sorted, fixed time and mode."""
    root = _normalize(directory)
    prefix = "" if root == "." else root + "/"
    top = root.rsplit("/", 1)[-1] + "/" if keep_dir and root != "." else ""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            if not name.startswith(prefix):
                continue
            info = zipfile.ZipInfo(top + name[len(prefix) :], date_time=_FIXED_TIME)
            info.external_attr = _FILE_MODE
            info.create_system = 3  # unix, whatever the host
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name], compresslevel=6)
    return buffer.getvalue()


def bundle_name(data: bytes) -> str:
    """``_gitsync_pkg_<sha256 prefix>.zip``: the name follows from the bytes."""
    return f"{PACKAGE_PREFIX}{hashlib.sha256(data).hexdigest()[:32]}.zip"


class _Rewriter:
    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = files
        self.bundles: dict[str, bytes] = {}

    def uri(self, path: str, *, keep_dir: bool) -> str:
        data = deterministic_zip(self.files, path, keep_dir=keep_dir)
        name = bundle_name(data)
        self.bundles[name] = data
        return f"gcs://{name}"

    def runtime_env(self, env: Any) -> Any:
        if not isinstance(env, dict):
            return env
        if _is_local(env.get("working_dir")):
            env["working_dir"] = self.uri(env["working_dir"], keep_dir=False)
        modules = env.get("py_modules")
        if isinstance(modules, list):
            env["py_modules"] = [self.uri(m, keep_dir=True) if _is_local(m) else m for m in modules]
        return env


def for_ray(config: Mapping[str, Any], code: Mapping[str, bytes]) -> RayConfig:
    """``config`` with each local code path replaced by the ``gcs://`` URI of its zip.
    ``code`` holds the package files (at least those below the code directories)."""
    out: JsonDict = copy.deepcopy(dict(config))
    rewriter = _Rewriter(code)
    for app in out.get("applications") or []:
        if not isinstance(app, dict):
            continue
        if "runtime_env" in app:
            rewriter.runtime_env(app["runtime_env"])
        for deployment in app.get("deployments") or []:
            options = deployment.get("ray_actor_options") if isinstance(deployment, dict) else None
            if isinstance(options, dict) and "runtime_env" in options:
                rewriter.runtime_env(options["runtime_env"])
    return RayConfig(out, rewriter.bundles)
