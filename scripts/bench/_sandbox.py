"""Shared by the sandbox benchmarks: a scratch app (SQLite in a temporary directory, migrated) and a timer."""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def scratch_app(database_url: str | None = None) -> tuple[Any, tempfile.TemporaryDirectory]:
    """A migrated app on a fresh SQLite file (or the given database) with sandbox files in a temp directory."""
    from flask_migrate import upgrade

    from app import create_app

    tmp = tempfile.TemporaryDirectory(prefix="crm-bench-")
    url = database_url or f"sqlite:///{Path(tmp.name) / 'bench.sqlite3'}"
    app = create_app({"TESTING": False, "DEBUG": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url,
                      "SANDBOX_DATA_DIR": str(Path(tmp.name) / "sandboxes"), "JOBS_INLINE": True})
    with app.app_context():
        upgrade()
    return app, tmp


def median_ms(fn: Callable[[], Any], repeat: int = 7, clock: Callable[[], float] = time.perf_counter) -> float:
    """The median time of a call, after one call to warm up (``clock=time.process_time``: CPU of all threads)."""
    fn()  # warm
    times = []
    for _ in range(repeat):
        started = clock()
        fn()
        times.append(clock() - started)
    return statistics.median(times) * 1000


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def header(name: str) -> None:
    load = os.getloadavg()
    print(f"# {name} — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.node()}, "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}, load average {load[0]:.2f}")
    script = Path(sys.argv[0]).resolve().relative_to(ROOT)
    print("# reproduce: .venv/bin/python " + " ".join([str(script), *sys.argv[1:]]))


def row(label: str, value: str, reference: str = "", ratio: str = "") -> None:
    print(f"  {label:<52} {value:>12}  {reference:>22}  {ratio}")


def arguments(doc: str, quick: bool = False) -> argparse.Namespace:
    """--customers, --months, --seed (and --quick) of every sandbox benchmark."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=2026)
    if quick:
        parser.add_argument("--quick", action="store_true", help="skip the slow reference")
    return parser.parse_args()


def built_sandbox(args: argparse.Namespace, progress: Callable[[int, int, str], None] | None = None) -> Any:
    """Build a sandbox of ``args.customers`` through the app's own path (inside an app context)."""
    from app.sandbox import services as svc

    sandbox = svc.new_sandbox(class_id=None, customers=args.customers, months=args.months, seed=args.seed)
    return svc.build(sandbox.id, progress)
