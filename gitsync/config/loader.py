"""From a snapshot's YAML files to one validated deploy config.

A config root holds any number of YAML files. Each is a whole deploy config (has
``applications``), a single application (has ``import_path``) or instance options
only; they merge into one deploy config. Every finding is then located back in the
file and line it came from.
"""

from __future__ import annotations

import bisect
import fnmatch
import posixpath
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from gitsync.config import rules, schema, yamlio
from gitsync.config.collector import gc_paused
from gitsync.config.issues import Finding, Issue, JsonPath, Severity, format_path
from gitsync.config.schema import UnknownKeys
from gitsync.config.settings import SETTINGS_FILE, config_selection, unknown_keys_setting
from gitsync.config.snapshot import Snapshot
from gitsync.errors import YamlError

DEFAULT_INCLUDE = ("*.yaml", "*.yml")
MAX_TOTAL_CONFIG_BYTES = 256 * 1024 * 1024
_APP_ONLY_KEYS = frozenset(
    {"import_path", "deployments", "route_prefix", "runtime_env", "args", "name"}
)


class LoadResult:
    """The merged config (None when a file could not be read) and every issue found.

    In ``warn`` mode the config no longer holds the unknown keys Ray drops (each one is
    a warning): it is the config as Ray reads it, so a dropped key is never a change.
    A plain class, not a dataclass: a push hook's fresh process builds it at import.
    """

    __slots__ = ("config", "issues", "code_paths", "files", "unknown_keys", "missing_code_paths")

    def __init__(
        self,
        config: dict[str, Any] | None,
        issues: list[Issue],
        code_paths: list[str] | None = None,
        files: list[str] | None = None,
        unknown_keys: UnknownKeys = "error",
        missing_code_paths: list[str] | None = None,  # local dirs not in the snapshot
    ) -> None:
        self.config = config
        self.issues = issues
        self.code_paths: list[str] = [] if code_paths is None else code_paths
        self.files: list[str] = [] if files is None else files
        self.unknown_keys = unknown_keys
        self.missing_code_paths: list[str] = (
            [] if missing_code_paths is None else missing_code_paths
        )

    @property
    def ok(self) -> bool:
        return self.config is not None and not self.errors

    @property
    def errors(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [issue for issue in self.issues if issue.severity == "warning"]


class _Origin(NamedTuple):
    file: str
    prefix: JsonPath  # where the merged subtree sits inside that file


def config_files(
    snapshot: Snapshot, root: str = "", include: Sequence[str] = DEFAULT_INCLUDE
) -> list[str]:
    """Config files below ``root``: names matching ``include``, outside hidden directories."""
    prefix = root.strip("/") + "/" if root.strip("/") else ""
    found = []
    # A link named like a config file is one too: reading it reports it (links are
    # never followed), rather than its applications silently leaving the config.
    for name in (*snapshot.files, *snapshot.symlinks):
        if not name.startswith(prefix):
            continue
        parts = name[len(prefix) :].split("/")
        if any(part.startswith(".") for part in parts):
            continue
        if any(fnmatch.fnmatch(parts[-1], pattern) for pattern in include):
            found.append(name)
    return sorted(found)


def load_snapshot(
    snapshot: Snapshot,
    *,
    root: str = "",
    include: Sequence[str] = DEFAULT_INCLUDE,
    files: Sequence[str] | None = None,
    limits: yamlio.YamlLimits = yamlio.DEFAULT_LIMITS,
    unknown_keys: UnknownKeys | None = None,
) -> LoadResult:
    """Load, merge and validate the config files of a snapshot.

    Which files: ``files`` if given, else the ``config`` section of the snapshot's
    ``.gitsync.yaml`` (:mod:`gitsync.config.settings`), else every ``*.yaml``/``*.yml`` outside hidden directories.
    Unknown keys Ray drops: ``unknown_keys`` if given, else ``validate.unknown_keys`` of
    ``.gitsync.yaml``, else ``error``.
    """
    try:
        mode = unknown_keys or unknown_keys_setting(snapshot) or "error"
        if files is None:
            selection = config_selection(snapshot)
            files = selection.files
            root = selection.root if selection.root is not None else root
            include = selection.include if selection.include is not None else include
    except YamlError as exc:
        return LoadResult(None, [exc.issue])
    names = list(files) if files is not None else config_files(snapshot, root, include)
    loader = _Loader(snapshot, limits, mode)
    # Millions of fresh, acyclic objects: the cyclic GC's passes are pure cost here.
    with gc_paused():
        return loader.run(names, root, include)


class _Loader:
    def __init__(self, snapshot: Snapshot, limits: yamlio.YamlLimits, mode: UnknownKeys) -> None:
        self.snapshot = snapshot
        self.limits = limits
        self.mode = mode
        self.issues: list[Issue] = []
        self.origins: dict[JsonPath, _Origin] = {}
        # (first, stop, file): merged applications [first, stop) are that file's list
        self.app_runs: list[tuple[int, int, str]] = []
        self.located: dict[str, yamlio.Located | None] = {}
        self.missing: list[str] = []

    def run(
        self, names: Sequence[str], root: str = "", include: Sequence[str] = DEFAULT_INCLUDE
    ) -> LoadResult:
        total = sum(len(self.snapshot.files[name]) for name in names if name in self.snapshot.files)
        if total > MAX_TOTAL_CONFIG_BYTES:
            issue = Issue(
                "",
                0,
                0,
                (),
                "error",
                f"config files total {total} bytes; the limit is {MAX_TOTAL_CONFIG_BYTES}",
                "limit",
            )
            return LoadResult(None, [issue], files=list(names), unknown_keys=self.mode)
        merged: dict[str, Any] = {}
        apps: list[Any] = []
        readable = True
        declared = False
        for name in names:
            value = self._parse(name)
            if value is _UNREADABLE:
                readable = False
                continue
            declared = self._merge(name, value, merged, apps) or declared
        if not readable:
            return LoadResult(None, self.issues, files=list(names), unknown_keys=self.mode)
        if not names:
            where = _described(self.snapshot, root)
            self.issues.append(Issue("", 0, 0, (), "error", _no_files(where, include), "files"))
        elif not declared:
            self.issues.append(Issue("", 0, 0, (), "error", _no_applications(names), "files"))
        merged["applications"] = apps
        refs = rules.CodeRefs()
        findings = schema.check(merged, self.mode, refs)
        code_paths = sorted(
            set(self._code_paths(refs.found if refs.complete else None, apps, findings))
        )
        self.issues.extend(self._locate(finding) for finding in findings)
        # in file order; the note on findings past the cap (no path) comes last
        self.issues.sort(key=lambda i: (i.rule == "limit" and not i.path, i.file, i.line, i.column))
        if self.mode == "warn":
            _drop_ignored_keys(merged, findings)
        result = LoadResult(merged, self.issues, code_paths, list(names), self.mode)
        result.missing_code_paths = sorted(set(self.missing))
        return result

    def _parse(self, name: str) -> Any:
        data = self.snapshot.files.get(name)
        if data is None:
            message = "file not found"
            if name in self.snapshot.symlinks:
                message = (
                    "is a symbolic link: links in a config tree are not followed; "
                    "make it a regular file, or leave it out of config.include"
                )
            self.issues.append(Issue(name, 0, 0, (), "error", message, "files"))
            return _UNREADABLE
        try:
            return yamlio.load(data, name, self.limits)
        except yamlio.YamlError as exc:
            self.issues.append(exc.issue)
            return _UNREADABLE

    def _merge(self, name: str, value: Any, merged: dict[str, Any], apps: list[Any]) -> bool:
        """Merge one file; True when it declares applications (or is an application)."""
        if value is None:
            self.issues.append(
                Issue(name, 1, 1, (), "warning", "empty file: nothing to load", "files")
            )
            return False
        if not isinstance(value, dict):
            self.issues.append(
                Issue(
                    name,
                    1,
                    1,
                    (),
                    "error",
                    "a config file must be a mapping (a deploy "
                    "config, one application, or instance options)",
                    "files",
                )
            )
            return True  # an error already: "no applications" would only add noise
        if "applications" in value or not (_APP_ONLY_KEYS & value.keys()):
            for key, item in value.items():
                if key == "applications":
                    self._merge_apps(name, item, apps)
                else:
                    self._merge_option(name, key, item, merged)
            return "applications" in value
        self.origins[("applications", len(apps))] = _Origin(name, ())
        apps.append(value)
        return True

    def _merge_apps(self, name: str, items: Any, apps: list[Any]) -> None:
        if not isinstance(items, list):
            self.issues.append(
                self._issue_at(name, ("applications",), "applications must be a list")
            )
            return
        # One record for the run, not one origin per application (10,000 of them).
        self.app_runs.append((len(apps), len(apps) + len(items), name))
        apps.extend(items)

    def _merge_option(self, name: str, key: str, item: Any, merged: dict[str, Any]) -> None:
        if key in merged:
            first = self.origins[(key,)]
            line, col = self._position(first.file, (key,), at_key=True)
            self.issues.append(
                self._issue_at(
                    name,
                    (key,),
                    f"{key} is already set in {first.file}:{line}:{col}",
                    rule="merge-clash",
                    at_key=True,
                )
            )
            return
        merged[key] = item
        self.origins[(key,)] = _Origin(name, (key,))

    def _code_paths(
        self, refs: Sequence[tuple[JsonPath, str]] | None, apps: list[Any], findings: list[Finding]
    ) -> Iterable[str]:
        """Local working_dir / py_modules directories, checked to lie inside the snapshot:
        those the rules met (``refs``), or, when the rules did not run (too many schema
        findings), those a walk of the applications finds."""
        for path, ref in refs if refs is not None else self._local_refs(apps):
            local = self._local_dir(ref, path, findings)
            if local is not None:
                yield local

    def _local_refs(self, apps: list[Any]) -> Iterable[tuple[JsonPath, str]]:
        """The walk :class:`rules.CodeRefs` saves: working_dir and py_modules strings
        that are not URIs. Paths are built only for a runtime_env that may name one."""
        for index, app in enumerate(apps):
            if type(app) is not dict:  # exact type: isinstance on Mapping is slow at 10k apps
                continue
            env = app.get("runtime_env")
            if type(env) is dict and rules.may_name_local_code(env):
                yield from _env_refs(env, ("applications", index, "runtime_env"))
            deployments = app.get("deployments")
            # A non-list is the schema's finding to report; here it must not raise.
            for dindex, dep in enumerate(deployments if type(deployments) is list else ()):
                actor = dep.get("ray_actor_options") if type(dep) is dict else None
                env = actor.get("runtime_env") if type(actor) is dict else None
                if type(env) is dict and rules.may_name_local_code(env):
                    where: JsonPath = (
                        "applications",
                        index,
                        "deployments",
                        dindex,
                        "ray_actor_options",
                        "runtime_env",
                    )
                    yield from _env_refs(env, where)

    def _local_dir(self, ref: str, path: JsonPath, findings: list[Finding]) -> str | None:
        def refuse(message: str) -> None:
            findings.append(Finding(path, message, rule="local-code-path"))

        if ref.startswith("/"):
            return None  # rules.py reports it: it needs no snapshot to be wrong
        normal = posixpath.normpath(ref)
        if normal == ".." or normal.startswith("../"):
            refuse(f"{ref!r} points outside the repository")
            return None
        parts = [] if normal == "." else normal.split("/")
        for depth in range(1, len(parts) + 1):
            if "/".join(parts[:depth]) in self.snapshot.symlinks:
                refuse(
                    f"{ref!r} goes through a symlink ({'/'.join(parts[:depth])}); symlinks are not followed"
                )
                return None
        if normal in self.snapshot.files:
            refuse(f"{ref!r} is a file: working_dir and py_modules need a directory (or a URI)")
            return None
        if not self.snapshot.is_dir(normal):
            self.missing.append(normal)
            refuse(f"directory {ref!r} does not exist in the repository")
            return None
        return normal

    def _locate(self, finding: Finding) -> Issue:
        origin, rest = self._origin(finding.path)
        if origin is None:
            file = self._any_file()
            return finding.to_issue(file, 1 if file else 0, 1 if file else 0)
        in_file = (*origin.prefix, *rest)
        line, col = self._position(origin.file, in_file, finding.at_key)
        message = finding.text(self._place(finding.related) if finding.related else None)
        severity: Severity = "warning" if finding.severity == "warning" else "error"
        return Issue(origin.file, line, col, in_file, severity, message, finding.rule)

    def _place(self, path: JsonPath) -> str:
        """``file:line:col`` of a merged-config path (for messages naming a second place)."""
        origin, rest = self._origin(path)
        if origin is None:
            return format_path(path)
        line, col = self._position(origin.file, (*origin.prefix, *rest))
        return f"{origin.file}:{line}:{col}"

    def _origin(self, path: JsonPath) -> tuple[_Origin | None, JsonPath]:
        for depth in (2, 1):
            origin = self.origins.get(tuple(path[:depth]))
            if origin is None and depth == 2:
                origin = self._listed_app(path)
            if origin is not None:
                return origin, tuple(path[depth:])
        return None, tuple(path)

    def _listed_app(self, path: JsonPath) -> _Origin | None:
        """The origin of ``applications[i]`` when it came from a file's list."""
        if len(path) < 2 or path[0] != "applications" or type(path[1]) is not int:
            return None
        index = path[1]
        run = bisect.bisect_right(self.app_runs, index, key=lambda r: r[0]) - 1
        if run < 0 or index >= self.app_runs[run][1]:
            return None
        first, _, file = self.app_runs[run]
        return _Origin(file, ("applications", index - first))

    def _any_file(self) -> str:
        files = {origin.file for origin in self.origins.values()}
        files.update(file for first, stop, file in self.app_runs if stop > first)
        return sorted(files)[0] if len(files) == 1 else ""

    def _issue_at(
        self, name: str, path: JsonPath, message: str, rule: str = "files", at_key: bool = False
    ) -> Issue:
        line, col = self._position(name, path, at_key)
        return Issue(name, line, col, path, "error", message, rule)

    def _position(self, name: str, path: JsonPath, at_key: bool = False) -> tuple[int, int]:
        if name not in self.located:
            data = self.snapshot.files.get(name)
            self.located[name] = None if data is None else yamlio.Located(data, name, self.limits)
        doc = self.located[name]
        if doc is None:
            return (0, 0)
        return doc.key_position(path) if at_key else doc.position(path)


def _env_refs(env: dict[str, Any], where: JsonPath) -> Iterable[tuple[JsonPath, str]]:
    refs: list[tuple[JsonPath, Any]] = [((*where, "working_dir"), env.get("working_dir"))]
    modules = env.get("py_modules")
    if isinstance(modules, list):
        refs.extend(((*where, "py_modules", i), m) for i, m in enumerate(modules))
    return [(path, ref) for path, ref in refs if isinstance(ref, str) and not rules.is_uri(ref)]


def _described(snapshot: Snapshot, root: str) -> str:
    """Where the files were looked for: the directory a source read, and the root."""
    parts = [snapshot.meta.get("source", ""), snapshot.meta.get("subpath", ""), root.strip("/")]
    where = "/".join(part.rstrip("/") for part in parts if part)
    return f"in {where}" if where else "in the source"


def _no_files(where: str, include: Sequence[str]) -> str:
    return (
        f"no config files found {where} (looked for {', '.join(include)} outside hidden "
        f"directories; config.root, config.include or config.files in {SETTINGS_FILE} "
        "choose others)"
    )


def _no_applications(names: Sequence[str]) -> str:
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (
        f"no applications: none of the files read ({shown}) declares 'applications' or an "
        "application (import_path); write 'applications: []' to ask for an empty unit"
    )


def _drop_ignored_keys(config: dict[str, Any], findings: Sequence[Finding]) -> None:
    """Remove the unknown keys Ray drops (warnings), so the config is the one Ray reads."""
    for finding in findings:
        if finding.rule != "unknown-key" or finding.severity != "warning" or not finding.path:
            continue
        node: Any = config
        for part in finding.path[:-1]:
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                node = None
                break
        if isinstance(node, dict):
            node.pop(finding.path[-1], None)


class _Unreadable:
    pass


_UNREADABLE: Any = _Unreadable()
