"""Benchmark: cold start to the first page, against a bare Flask app started the same way.

Starts gunicorn (one worker, as scripts/gunicorn.conf.py configures it) on the app and on a bare Flask app, and
times from the process start until ``/`` answers 200. Three alternating repetitions, medians. Also lists which
heavy libraries the app imports before its first page (none of them should be there). Goal: <= 0.6 s.

    .venv/bin/python scripts/bench/bench_startup.py [--repeat 3] [--quick]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
from pathlib import Path

from _serve import GUNICORN, PYTHON, ROOT, free_port, machine, median, scratch_database, wait_until_up  # type: ignore[import-not-found]

HEAVY = ("alembic", "flask_migrate", "jieba", "faker", "pandas", "duckdb", "pyarrow", "simulations.generator", "numpy")


def cold_start(target: str, database_url: str | None, root: Path = ROOT) -> float:
    port = free_port()
    env = {**os.environ, "SECRET_KEY": "bench-" + "x" * 40, "PYTHONPATH": str(root)}
    env.pop("REDIS_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    started = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603  our own server, fixed arguments
        [GUNICORN, "--config", str(root / "scripts" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--log-level", "warning", target], cwd=str(root), env=env)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process)
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(20)


def imported_before_first_page(database_url: str) -> list[str]:
    code = ("import sys; from app import create_app; app = create_app(); r = app.test_client().get('/'); "
            f"assert r.status_code == 200, r.status_code; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    env = {**os.environ, "SECRET_KEY": "bench-" + "x" * 40, "DATABASE_URL": database_url}
    out = subprocess.run([PYTHON, "-c", code], cwd=str(ROOT), env=env, capture_output=True, text=True, check=True)  # noqa: S603
    return out.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repetition")
    parser.add_argument("--before", type=Path, help="also time another checkout of the app (e.g. `git archive` of an "
                                                    "older commit unpacked in a directory), as a second reference")
    args = parser.parse_args()
    if args.quick:
        args.repeat = 1
    print(f"machine: {machine()}")
    # as scripts/serve.sh does before it starts gunicorn (the app's modules byte-compiled once)
    subprocess.run([PYTHON, "-m", "compileall", "-q", "app", "question_bank", "simulations"], cwd=str(ROOT),  # noqa: S603
                   check=True, stdout=subprocess.DEVNULL)
    with scratch_database("sqlite") as url:
        app_times, bare_times, before_times = [], [], []
        for _ in range(args.repeat):
            bare_times.append(cold_start("scripts.bench.bare_app:create_app()", None))
            app_times.append(cold_start("app:create_app()", url))
            if args.before:
                before_times.append(cold_start("app:create_app()", url, args.before.resolve()))
        heavy = imported_before_first_page(url)
    app_s, bare_s = median(app_times), median(bare_times)
    print(f"cold start to the first page (gunicorn, 1 worker): app {app_s:.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in app_times)}), bare Flask {bare_s:.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in bare_times)}): app - bare = {app_s - bare_s:.2f} s, "
          f"app / bare = {app_s / bare_s:.1f}x (goal: app <= 0.6 s)")
    if before_times:
        print(f"  the checkout in {args.before}: {median(before_times):.2f} s "
              f"(runs: {', '.join(f'{t:.2f}' for t in before_times)}) = {median(before_times) / bare_s:.1f}x bare")
    print(f"heavy libraries imported before the first page: {', '.join(heavy) or 'none'}")
    print(f"reproduce: .venv/bin/python scripts/bench/bench_startup.py --repeat {args.repeat}")


if __name__ == "__main__":
    main()
