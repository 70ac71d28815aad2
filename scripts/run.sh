#!/usr/bin/env bash
# Install gitsync into .venv and run the main job on example-repo/.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .

exec .venv/bin/gitsync validate example-repo "$@"
