#!/bin/sh
# Install the test dependencies and run the whole suite: on SQLite, then on PostgreSQL when one is reachable.
. "$(dirname "$0")/_venv.sh"
install_project test
# The browser test uses Debian's Chromium; a CJK font makes its screenshots readable.
if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/truetype/wqy ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian's chromium and a CJK font for the browser test..."
    (apt-get install -y -q chromium fonts-wqy-microhei >/dev/null 2>&1 \
      || (apt-get update -q >/dev/null && apt-get install -y -q chromium fonts-wqy-microhei >/dev/null)) \
      || echo "chromium could not be installed: the browser test will be skipped"
  else
    echo "No /usr/bin/chromium and no root to install it: the browser test will be skipped"
  fi
fi
# Node tools the tests use when present (gift-pegjs, an independent GIFT parser; axe-core for the accessibility
# check of the browser test); the tests that need them skip with a message without them.
if command -v npm >/dev/null 2>&1; then
  npm install --no-audit --no-fund --loglevel=error >/dev/null 2>&1 || echo "npm install failed: the tests that need Node packages will be skipped"
else
  echo "No npm: the GIFT cross-check (gift-pegjs) and the accessibility check (axe-core) will be skipped"
fi
.venv/bin/ruff check .
.venv/bin/mypy --strict simulations question_bank
# dependency audit: build tools checked offline; pip-audit when a vulnerability database is reachable
.venv/bin/python scripts/audit_deps.py
echo "== Test suite on SQLite =="
.venv/bin/python -m pytest -q "$@"
PG_URL="${TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres}"
if .venv/bin/python -c "import sys, psycopg; psycopg.connect(sys.argv[1].replace('+psycopg', ''), connect_timeout=3).close()" "$PG_URL" 2>/dev/null; then
  echo "== Test suite on PostgreSQL ($PG_URL) =="
  # the deployment test runs once, in the first pass: it makes its own PostgreSQL database
  TEST_DATABASE_URL="$PG_URL" .venv/bin/python -m pytest -q -m "not browser and not deploy" "$@"
else
  echo "== PostgreSQL is not reachable at $PG_URL: skipping the PostgreSQL half of the suite =="
fi
