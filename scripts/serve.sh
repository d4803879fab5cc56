#!/bin/sh
# Install everything, create/migrate the database, load the bank, create demo data on a new database, serve.
. "$(dirname "$0")/_venv.sh"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
export FLASK_APP=app
.venv/bin/flask setup
echo "网站地址: http://127.0.0.1:5000"
exec .venv/bin/flask run --host 127.0.0.1 --port "${PORT:-5000}"
