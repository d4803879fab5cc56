"""Start-up: the heavy libraries load when a page needs them, not when a worker starts (issue 13 §5).

Timing is in scripts/bench/bench_startup.py; this checks what a fresh process imports for ``create_app()`` and the
home page, the way a gunicorn worker starts.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# what no page before the sandbox's own needs: the numerical stack, the sandbox store, the generator, Chinese word
# segmentation, and the migration tooling
HEAVY = ("numpy", "pandas", "pyarrow", "duckdb", "faker", "jieba", "simulations.generator", "alembic", "flask_migrate")

PROBE = """
import json, sys
from app import create_app
app = create_app()
response = app.test_client().get("/")
assert response.status_code == 200, response.status_code
print(json.dumps(sorted(sys.modules)))
"""


def modules_after_first_page(database_url: str, tmp_path: Path, then: str = "") -> set[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_") and k != "REDIS_URL"}
    env.update(SECRET_KEY="startup-test-" + "x" * 40, DATABASE_URL=database_url, PYTHONPATH=str(ROOT),
               FLASK_TEMPLATE_CACHE_DIR=str(tmp_path / "templates"))
    out = subprocess.run([sys.executable, "-c", PROBE.replace("print(", then + "\nprint(")],  # noqa: S603
                         cwd=str(ROOT), env=env, capture_output=True, text=True, check=True, timeout=120)
    return set(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize("name", HEAVY)
def test_the_heavy_libraries_are_installed(name):
    """(otherwise the test below would pass for the wrong reason)"""
    assert importlib.util.find_spec(name) is not None


def test_create_app_and_the_first_page_import_no_heavy_library(database_url, tmp_path):
    loaded = modules_after_first_page(database_url, tmp_path)
    assert {"flask", "sqlalchemy", "app.sandbox", "app.sandbox.analysis", "app.sandbox.store"} <= loaded
    assert sorted(set(HEAVY) & loaded) == []


def test_the_probe_sees_a_library_a_module_imports(database_url, tmp_path):
    """The same probe notices numpy once sandbox code that uses it runs."""
    loaded = modules_after_first_page(database_url, tmp_path, then="from app.sandbox import store; store.epoch()")
    assert "numpy" in loaded
