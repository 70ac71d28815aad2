"""Command-line tools and the repository root, found the same way on every machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def tool_path(name: str) -> str:
    """The executable ``name`` installed beside the running interpreter, else on ``PATH``.

    The interpreter's own directory comes first: ``.venv/bin/python -m pytest`` runs
    without ``.venv/bin`` on ``PATH``, and the ``serve``, ``ray`` and ``vespa`` the tests
    need are the ones installed with it.
    """
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name!r} is neither beside {sys.executable} nor on PATH")
    return found


def gitsync_command(*args: str) -> list[str]:
    """``gitsync ARGS`` run by the interpreter that runs the tests."""
    return [sys.executable, "-m", "gitsync.main", *args]


def python_env(**extra: str) -> dict[str, str]:
    """This environment with the repository root first on ``PYTHONPATH``: for a child
    Python that imports ``tests.testing`` whatever its working directory."""
    paths = [str(ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


def vespa_binary() -> str:
    """The ``vespa`` Go binary that the ``vespacli`` package installed with this interpreter.

    Not ``tool_path("vespa")``: that finds the pip wrapper script, which exits 0 even when
    the binary fails, and the tests assert exit codes.
    """
    import vespacli

    binary = Path(vespacli.get_binary_path())
    return str(binary / "vespa" if binary.is_dir() else binary)


def run_gitsync(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout_s: float = 120,
) -> subprocess.CompletedProcess[str]:
    """``gitsync ARGS`` as a user runs it, without colour; the result is not checked."""
    return subprocess.run(
        gitsync_command(*args),
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
        timeout=timeout_s,
    )


def run_bounded(
    command: list[str],
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout_s: float = 60,
) -> subprocess.CompletedProcess[str]:
    """``command`` with a standard input held open and never written (a read of it would
    wait for ever), without colour; past ``timeout_s`` it is killed and AssertionError
    says it hung. The result is not checked."""
    reader, writer = os.pipe()
    try:
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdin=reader,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**python_env(), "NO_COLOR": "1", **(env or {})},
        )
        try:
            out, err = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise AssertionError(f"{command[1:]} did not finish within {timeout_s:g} s") from None
    finally:
        os.close(reader)
        os.close(writer)
    return subprocess.CompletedProcess(command, process.returncode, out, err)
