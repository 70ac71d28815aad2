"""A package is validated once, before the engine's lock, and prepare carries that
result on only for the very files validated: a package changed meanwhile is
validated again, never slipped through."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest

from gitsync.config import loader
from gitsync.engine import Engine
from gitsync.engine.prepare import check_package, prepare_package
from gitsync.errors import InvalidConfig
from tests.testing.configs import serve_yaml

LOCK_PROBE_S = 5.0  # a free lock answers in microseconds; a held one never, until released


def _many_apps(count: int) -> bytes:
    return serve_yaml(*((f"app{i}", f"/app{i}") for i in range(count)))


def _lock_is_free(engine: Engine) -> bool:
    """Whether another thread gets through a read that takes the engine's lock."""
    done = threading.Event()

    def read() -> None:
        # A probe that timed out may only get the lock after the test closed the engine.
        with contextlib.suppress(RuntimeError):
            engine.list_tenants()
            done.set()

    threading.Thread(target=read, daemon=True).start()
    return done.wait(LOCK_PROBE_S)


class ValidationSpy:
    """Counts the loads of a package and whether the engine's lock was free during each;
    ``during`` (if set) runs inside the first load, to change the package meanwhile."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.lock_free: list[bool] = []
        self.during: Callable[[], None] | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> loader.LoadResult:
        self.lock_free.append(_lock_is_free(self.engine))
        if self.during is not None:
            action, self.during = self.during, None
            action()
        return REAL_LOAD(*args, **kwargs)


REAL_LOAD = loader.load_snapshot


@pytest.fixture
def spy(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> ValidationSpy:
    watcher = ValidationSpy(engine)
    monkeypatch.setattr(loader, "load_snapshot", watcher)
    return watcher


def test_a_large_valid_deploy_is_validated_once_outside_the_lock(
    engine: Engine, spy: ValidationSpy
) -> None:
    result = engine.deploy_files({"serve.yaml": _many_apps(300)})
    assert result.generation > 0
    assert spy.lock_free == [True]  # before: [True, False], the second under the lock


def test_create_then_prepare_validates_once_outside_the_lock(
    engine: Engine, spy: ValidationSpy
) -> None:
    info = engine.create_session_from_files("default", {"serve.yaml": _many_apps(300)})
    engine.prepare("default", info.session_id)
    assert spy.lock_free == [True]
    engine.activate("default", info.session_id)


def test_a_rollback_validates_once_outside_the_lock(engine: Engine, spy: ValidationSpy) -> None:
    first = engine.deploy_files({"serve.yaml": _many_apps(300)})
    engine.deploy_files({"serve.yaml": _many_apps(301)})
    spy.lock_free.clear()
    result = engine.rollback("default")
    assert result.generation > first.generation
    assert spy.lock_free == [True]  # before: once, under the lock


def test_a_package_changed_while_validated_is_validated_again(
    engine: Engine, spy: ValidationSpy
) -> None:
    info = engine.create_session_from_files("default", {"serve.yaml": _many_apps(3)})
    bad = b"applications:\n  - name: a\n    import_path: 42\n"
    spy.during = lambda: engine.put_content("default", info.session_id, "serve.yaml", bad)
    with pytest.raises(InvalidConfig, match="import_path"):
        engine.prepare("default", info.session_id)
    # the second validation (of the changed files) is the one under the lock
    assert spy.lock_free == [True, False]


def test_a_changed_package_never_reuses_another_packages_result() -> None:
    checked = check_package({"serve.yaml": _many_apps(2)})
    with pytest.raises(InvalidConfig):
        prepare_package({"serve.yaml": b"applications: 7\n"}, None, [], 0.0, checked=checked)
    other_mode = prepare_package({"serve.yaml": _many_apps(2)}, None, [], 0.0, "error", checked)
    assert other_mode.config == checked.result.config
