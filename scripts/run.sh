#!/usr/bin/env bash
# Install gitsync into .venv and run the main job: the agent syncing example-repo/ into the
# embedded engine, its API on 127.0.0.1:19071. The install runs on the first start and again
# only when pyproject.toml changed (the install is editable: code changes need none).
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=.venv/.gitsync-installed
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x .venv/bin/gitsync ] || [ "$(cat "$stamp" 2>/dev/null || true)" != "$wanted" ]; then
  echo "run.sh: installing gitsync into .venv (first start, or pyproject.toml changed)" >&2
  python3 -m venv .venv
  .venv/bin/python -m pip install --upgrade pip
  .venv/bin/python -m pip install -e .
  echo "$wanted" >"$stamp"
fi

exec .venv/bin/gitsync agent example-repo --state-dir .gitsync "$@"
