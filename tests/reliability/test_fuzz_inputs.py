"""Fuzzing: hypothesis on YAML loading + validation and on package
extraction, random and mutated inputs. Only the project's own errors (GitsyncError)
may escape, and no example may take longer than 1 s (hypothesis ``deadline``).
``bench/reliability.py`` runs the same properties with many more examples."""

from __future__ import annotations

import io
import os
import tarfile
import warnings
import zipfile
from datetime import timedelta
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gitsync.config import package
from gitsync.config.loader import load_snapshot
from gitsync.config.snapshot import Snapshot
from gitsync.errors import GitsyncError
from tests.testing.tools import ROOT

EXAMPLES = int(os.environ.get("GITSYNC_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=1),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
    database=None,
)
EXAMPLE_REPO = ROOT / "example-repo"
SMALL = package.PackageLimits(max_compressed=1 << 20, max_decompressed=1 << 20, max_entries=64)


def seeds() -> list[bytes]:
    files = sorted(EXAMPLE_REPO.rglob("*.yaml")) + sorted(EXAMPLE_REPO.rglob("*.yml"))
    found = [path.read_bytes() for path in files if path.stat().st_size < 64 * 1024]
    return found or [b"applications:\n  - name: a\n    import_path: m:app\n"]


SEEDS = seeds()
SPECIAL = [
    b"&a ",
    b"*a",
    b"!!python/object:os.system ",
    b"[",
    b"{",
    b"]",
    b"}",
    b": ",
    b"- ",
    b"\t",
    b"\n",
    b"'",
    b'"',
    b"---\n",
    b"%YAML 1.1\n",
    b"<<: *a\n",
    b"\xff",
    b"\x00",
    b".nan",
    b"1e999",
    b"~",
    b"? ",
    b"|",
    b">",
    b"#",
]


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 8))):
        where = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["flip", "insert", "delete", "special", "dup"]))
        if kind == "flip" and data:
            data[min(where, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[where:where] = draw(st.binary(max_size=16))
        elif kind == "delete":
            del data[where : where + draw(st.integers(1, 32))]
        elif kind == "special":
            data[where:where] = draw(st.sampled_from(SPECIAL))
        else:
            start = data.rfind(b"\n", 0, where) + 1
            end = data.find(b"\n", where)
            line = bytes(data[start : end if end >= 0 else len(data)])
            data[start:start] = line + b"\n"
    return bytes(data)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=40,
)
APP_KEYS = [
    "name",
    "route_prefix",
    "import_path",
    "runtime_env",
    "args",
    "deployments",
    "num_replicas",
    "user_config",
    "working_dir",
    "py_modules",
    "autoscaling_config",
    "ray_actor_options",
    "max_ongoing_requests",
    "applications",
    "http_options",
]
configs = st.recursive(
    st.none()
    | st.integers(-5, 5)
    | st.text(max_size=12)
    | st.sampled_from(["./", "../x", "/abs", "m:app", "/a"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(APP_KEYS), inner, max_size=6)
    ),
    max_leaves=30,
)


def load_only_project_errors(
    files: dict[str, bytes], symlinks: frozenset[str] = frozenset()
) -> None:
    try:
        result = load_snapshot(Snapshot("fuzz", files, symlinks))
    except GitsyncError:
        return
    assert result.ok == (result.config is not None and not result.errors)
    for issue in result.issues:
        assert issue.render()  # every issue renders (file:line:col: ...)


@FUZZ
@given(st.binary(max_size=4096))
@example(b"a: &a [*a]\n")
@example(b"\xef\xbb\xbf\xff\xfe")
@example(b"[" * 10_000)
@example(b"- " * 5_000)
def test_random_bytes_as_yaml(data: bytes) -> None:
    load_only_project_errors({"serve.yaml": data})


@FUZZ
@given(mutated(SEEDS))
def test_mutated_configs(data: bytes) -> None:
    load_only_project_errors({"serve.yaml": data, "other.yml": data[: len(data) // 2]})


@FUZZ
@given(configs, st.sampled_from(["block", "flow", "json"]))
def test_structured_random_configs(value: Any, style: str) -> None:
    if style == "json":
        import json

        text = json.dumps(value, default=str).encode()
    else:
        text = yaml.safe_dump(value, default_flow_style=(style == "flow")).encode()
    load_only_project_errors({"serve.yaml": text, "code/x.py": b""}, frozenset({"link"}))


@FUZZ
@given(json_values)
def test_any_json_value_validates_without_surprise(value: Any) -> None:
    text = yaml.safe_dump({"applications": [value]}, allow_unicode=True).encode()
    load_only_project_errors({"serve.yaml": text})


# -- packages -----------------------------------------------------------------------------


def read_only_project_errors(data: bytes, content_type: str) -> None:
    try:
        files = package.read_package(data, content_type, SMALL)
    except GitsyncError:
        return
    for name in files:  # whatever is accepted is a safe relative path
        assert name and not name.startswith("/") and "\\" not in name and "\0" not in name
        assert all(part not in ("", ".", "..") for part in name.split("/"))
    assert sum(len(d) for d in files.values()) <= SMALL.max_decompressed


names = st.lists(
    st.one_of(
        st.text(max_size=12),
        st.sampled_from(
            ["../x", "/etc/passwd", "a/../../b", "a//b", "./a", "a\\b", "a\0b", "a/", ".", ""]
        ),
    ),
    min_size=1,
    max_size=6,
)


@FUZZ
@given(st.binary(max_size=4096), st.sampled_from(["application/zip", "application/x-gzip"]))
def test_random_bytes_as_packages(data: bytes, content_type: str) -> None:
    read_only_project_errors(data, content_type)


def build_zip_raw(entries: list[tuple[str, bytes, int]]) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")  # duplicate names are part of the test
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name)
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def build_tar_raw(entries: list[tuple[str, bytes, bytes]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for name, data, kind in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.size = len(data) if kind == tarfile.REGTYPE else 0
            info.linkname = "target" if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE) else ""
            archive.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    import gzip

    return gzip.compress(raw.getvalue(), mtime=0)


MODES = [0, 0o100644, 0o120777, 0o040755, 0o020644, 0o010644, 0o140644]
KINDS = [
    tarfile.REGTYPE,
    tarfile.DIRTYPE,
    tarfile.SYMTYPE,
    tarfile.LNKTYPE,
    tarfile.CHRTYPE,
    tarfile.FIFOTYPE,
]


@FUZZ
@given(names, st.binary(max_size=256), st.lists(st.sampled_from(MODES), min_size=6, max_size=6))
def test_crafted_zip_entries(entry_names: list[str], data: bytes, modes: list[int]) -> None:
    entries = [(name, data, modes[i % 6]) for i, name in enumerate(entry_names)]
    try:
        built = build_zip_raw(entries)
    except (ValueError, UnicodeError):
        return  # zipfile itself will not write it
    read_only_project_errors(built, "application/zip")


@FUZZ
@given(names, st.binary(max_size=256), st.lists(st.sampled_from(KINDS), min_size=6, max_size=6))
def test_crafted_tar_entries(entry_names: list[str], data: bytes, kinds: list[bytes]) -> None:
    entries = [(name, data, kinds[i % 6]) for i, name in enumerate(entry_names)]
    try:
        built = build_tar_raw(entries)
    except (ValueError, UnicodeError, tarfile.TarError):
        return
    read_only_project_errors(built, "application/x-gzip")


VALID_ARCHIVES = [
    ("application/zip", package.build_zip({"serve.yaml": SEEDS[0], "code/a.py": b"x = 1\n"})),
    ("application/x-gzip", package.build_tar_gz({"serve.yaml": SEEDS[0], "code/a.py": b"x = 1\n"})),
]


@FUZZ
@given(
    st.sampled_from(VALID_ARCHIVES),
    st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), min_size=1, max_size=8),
    st.integers(0, 10_000),
)
def test_mutated_archives(
    archive: tuple[str, bytes], flips: list[tuple[int, int]], cut: int
) -> None:
    content_type, original = archive
    data = bytearray(original)
    for where, value in flips:
        data[where % len(data)] = value
    read_only_project_errors(bytes(data[: max(1, len(data) - cut % 64)]), content_type)


def test_an_encrypted_zip_entry_is_a_clear_400() -> None:
    data = bytearray(package.build_zip({"serve.yaml": b"applications: []\n"}))
    data[data.find(b"PK\x03\x04") + 6] |= 1
    data[data.find(b"PK\x01\x02") + 8] |= 1
    try:
        package.read_package(bytes(data), "application/zip", SMALL)
    except GitsyncError as exc:
        assert exc.http_status == 400
        assert exc.message == "Package entry 'serve.yaml' is encrypted"
    else:
        raise AssertionError("an encrypted entry was read")


def test_deployments_that_are_not_a_list_are_a_finding_not_a_crash() -> None:
    """Found by test_structured_random_configs: ``deployments: 5`` raised TypeError."""
    result = load_snapshot(
        Snapshot("r", {"serve.yaml": b"applications:\n- import_path: m:app\n  deployments: 5\n"})
    )
    assert [i.render() for i in result.errors] == [
        "serve.yaml:3:16: error: applications[0].deployments: expected a list, got integer 5"
    ]
