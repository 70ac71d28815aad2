#!/usr/bin/env bash
# Install gitsync into .venv and run the main job: the agent syncing example-repo/ into the
# embedded engine, its API on 127.0.0.1:19071.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .

exec .venv/bin/gitsync agent example-repo --state-dir .gitsync "$@"
