# Shared by serve.sh and test.sh: create .venv with Python 3.11+ and install the project into it.
# The install is skipped when pyproject.toml has not changed since the last one (a stamp in .venv), so a restart
# takes a second, not a reinstall.
set -e
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  PY="${PYTHON:-}"
  if [ -z "$PY" ]; then
    for candidate in python3.11 python3.12 python3.13 python3; do
      if command -v "$candidate" >/dev/null 2>&1; then PY="$candidate"; break; fi
    done
  fi
  "$PY" -m venv .venv
fi

# install_project EXTRAS: pip install -e ".[EXTRAS]" unless the same pyproject.toml was installed with them before.
install_project() {
  extras="$1"
  stamp=".venv/.crm-installed${extras:+-$extras}"
  want="$(cat pyproject.toml | .venv/bin/python -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && .venv/bin/python -c "import app" 2>/dev/null; then
    return 0
  fi
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip "setuptools>=78.1.1"
  if [ -n "$extras" ]; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[$extras]"
  else
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
  fi
  echo "$want" > "$stamp"
}
