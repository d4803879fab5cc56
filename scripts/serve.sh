#!/bin/sh
# Install (only when pyproject.toml changed), create/migrate the database, load the bank, create demo data on a new
# database, and serve with gunicorn (a production WSGI server).
#   HOST (default 127.0.0.1; 0.0.0.0 to let a classroom connect), PORT (default 5000),
#   WORKERS (default 2 × CPU cores + 1), THREADS (default 4 per worker).
#   sh scripts/serve.sh --dev   runs Flask's debug server instead (auto-reload; for development only).
. "$(dirname "$0")/_venv.sh"
install_project ""
export FLASK_APP=app
# Byte-compile the app's own modules once (pip does it for the libraries): where PYTHONDONTWRITEBYTECODE is set, each
# worker would otherwise compile about a hundred modules from source on every start (0.1 s of its cold start).
.venv/bin/python -m compileall -q app question_bank simulations >/dev/null
.venv/bin/flask setup
HOST="${HOST:-127.0.0.1}"
PORT="${PORT:-5000}"
if [ "${1:-}" = "--dev" ]; then
  echo "开发服务器(调试模式,勿用于上课): http://$HOST:$PORT"
  exec .venv/bin/flask run --debug --host "$HOST" --port "$PORT"
fi
CORES="$(.venv/bin/python -c 'import os; print(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)')"
WORKERS="${WORKERS:-$((CORES * 2 + 1))}"
THREADS="${THREADS:-4}"
SHOWN_HOST="$HOST"
[ "$HOST" = "0.0.0.0" ] && SHOWN_HOST="$(hostname -I 2>/dev/null | awk '{print $1}')"
echo "网站地址: http://${SHOWN_HOST:-$HOST}:$PORT  (gunicorn,$WORKERS 个进程 × $THREADS 线程;Ctrl+C 停止)"
exec .venv/bin/gunicorn --config scripts/gunicorn.conf.py --bind "$HOST:$PORT" --workers "$WORKERS" \
  --threads "$THREADS" "app:create_app()"
