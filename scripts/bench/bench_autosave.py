"""Benchmark: autosave throughput against its reference, a bare Flask JSON POST served the same way.

16 logged-in students, each with an open exam, autosave over 16 keep-alive connections against gunicorn
(4 workers x 4 threads) on SQLite (WAL) and PostgreSQL; the same client then posts the same JSON to a bare Flask
app under the same gunicorn settings. Three alternating repetitions, each on a fresh pair of servers; medians.
Goal: autosave >= 40 % of bare.

    .venv/bin/python scripts/bench/bench_autosave.py [--requests 150] [--quick]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

from _serve import (  # type: ignore[import-not-found]
    Browser,
    databases,
    gunicorn,
    login_with_exam,
    machine,
    median,
    scratch_database,
    settle,
)  # type: ignore[import-not-found]

# 16 tabs each saving hundreds of answers a minute would meet the per-student limit (300 a minute): the limiter
# still runs on every request, with a limit this load does not reach
NO_ANSWER_LIMIT = {"FLASK_RATELIMIT_ANSWERS": "1000000 per minute"}


def fire(tabs: list[tuple[Browser, str, str | None]], per_tab: int) -> tuple[float, int]:
    """Each tab posts ``per_tab`` JSON autosaves; (requests per second, errors)."""
    errors = 0

    def run(tab: tuple[Browser, str, str | None]) -> int:
        browser, path, token = tab
        bad = 0
        for n in range(per_tab):
            position = n % 10
            status, _ = browser.post_json(path, {"position": position, "answer": ["A"] if position < 5 else ["true"]},
                                          token)
            bad += status != 200
        return bad

    started = time.perf_counter()
    with ThreadPoolExecutor(len(tabs)) as pool:
        errors = sum(pool.map(run, tabs))
    return len(tabs) * per_tab / (time.perf_counter() - started), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=150, help="autosaves per connection and repetition")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="50 requests per connection")
    args = parser.parse_args()
    if args.quick:
        args.requests = min(args.requests, 50)
    print(f"machine: {machine()}")
    failed = False
    for kind in databases(args.databases):
        app_rates, bare_rates, errors = [], [], 0
        with scratch_database(kind, students=args.connections) as url:
            # each repetition starts both servers afresh: which worker accepts which of the 16 keep-alive
            # connections (and where the processes run) is decided once per server, and moved one server's figure
            # by up to 1.7x between otherwise equal runs; the median is taken over several servers
            for _ in range(args.repeat):
                with gunicorn("app:create_app()", url, env=NO_ANSWER_LIMIT) as app_base, \
                        gunicorn("scripts.bench.bare_app:create_app()") as bare_base:
                    with ThreadPoolExecutor(args.connections) as pool:
                        students = list(pool.map(lambda i: login_with_exam(app_base, i), range(args.connections)))
                    app_tabs = [(b, f"/exam/{attempt}/save", token) for b, attempt, token in students]
                    bare_tabs = [(Browser(bare_base), "/save", None) for _ in range(args.connections)]
                    fire(app_tabs, 10)  # warm: every worker has seen the papers it serves
                    fire(bare_tabs, 10)
                    settle(app_base)  # the workers' start-up work (jieba's dictionary) is not part of the figure
                    settle(bare_base)
                    rate, bad = fire(app_tabs, args.requests)
                    app_rates.append(rate)
                    errors += bad
                    bare_rates.append(fire(bare_tabs, args.requests)[0])
        ratio = median(app_rates) / median(bare_rates)
        print(f"{kind}: autosave {median(app_rates):.0f} req/s (runs: {', '.join(f'{r:.0f}' for r in app_rates)}), "
              f"bare Flask JSON POST {median(bare_rates):.0f} req/s (runs: {', '.join(f'{r:.0f}' for r in bare_rates)}): "
              f"autosave = {ratio:.0%} of bare (goal >= 40 %), errors {errors}")
        failed |= errors > 0
    print(f"reproduce: .venv/bin/python scripts/bench/bench_autosave.py --requests {args.requests} "
          f"--connections {args.connections} --repeat {args.repeat}")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
