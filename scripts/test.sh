#!/usr/bin/env bash
# Install gitsync with its test extra into .venv, then lint, type-check and run every test.
# This is the README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

# The tests start their own PostgreSQL server from Debian's package (tests/pgserver.py).
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

.venv/bin/ruff check gitsync tests bench
.venv/bin/ruff format --check gitsync tests bench
.venv/bin/mypy --strict gitsync tests
.venv/bin/lint-imports  # the rules of the house: [tool.importlinter] in pyproject.toml

# The web page's tests drive Debian's headless Chromium through Debian's chromedriver.
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver
fi

# pytest exits 5 when it collected no test: that is a failure here, as is any other non-zero.
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
