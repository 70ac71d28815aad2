#!/usr/bin/env bash
# Install gitsync with its test extra into .venv, then lint, type-check and run every test.
# This is the README's test command; .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
# runuser (to start PostgreSQL as its own user) lives in sbin, which minimal shells leave out.
export PATH="$PATH:/usr/sbin:/sbin"

# Debian packages the suite drives for real: PostgreSQL (tests/testing/postgres.py starts a
# private server) and headless Chromium with its chromedriver (the web page's tests).
missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing+=(postgresql)
command -v chromium >/dev/null || missing+=(chromium)
command -v chromedriver >/dev/null || missing+=(chromium-driver)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'

.venv/bin/ruff check gitsync tests bench
.venv/bin/ruff format --check gitsync tests bench
.venv/bin/mypy --strict gitsync tests
.venv/bin/lint-imports  # the rules of the house: [tool.importlinter] in pyproject.toml

# pytest exits 5 when it collected no test: that is a failure here, as is any other non-zero.
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
