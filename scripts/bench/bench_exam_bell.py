"""Benchmark: a class at the bell, and its reference: the same requests to a bare Flask app served the same way.

N students (default 200), each with an open 10-question mock exam, autosave ten answers and submit, over 16
concurrent keep-alive connections, against gunicorn (scripts/gunicorn.conf.py, 4 workers x 4 threads) on SQLite (WAL)
and on PostgreSQL. Then "submit alone": each student opens a new exam, saves its answers, and all submit at once.
Checks that nothing was lost: every attempt graded once, answers in the database = answers sent.

    .venv/bin/python scripts/bench/bench_exam_bell.py [--students 200] [--connections 16] [--quick]
"""

from __future__ import annotations

import argparse
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from _serve import (  # type: ignore[import-not-found]
    Browser,
    databases,
    gunicorn,
    login_with_exam,
    machine,
    median,
    percentile,
    scratch_database,
    settle,
)


def answer_for(position: int) -> list[str]:
    return ["A"] if position < 5 else ["true"]


def bell(base: str, students: int, connections: int, autosaves: bool) -> dict:
    """Prepare one open exam per student, then fire (autosaves +) submit at once; latencies in ms."""
    with ThreadPoolExecutor(connections) as pool:
        tabs = list(pool.map(lambda i: login_with_exam(base, i), range(students)))
    if not autosaves:  # submit alone: the answers were saved before the bell
        with ThreadPoolExecutor(connections) as pool:
            list(pool.map(lambda t: [t[0].post_json(f"/exam/{t[1]}/save", {"position": p, "answer": answer_for(p)},
                                                    t[2]) for p in range(10)], tabs))
    settle(base)  # the workers' start-up work (jieba's dictionary, after their first request) is over
    saves, submits, errors = [], [], []
    lock = threading.Lock()

    def student(tab: tuple[Browser, int, str]) -> None:
        b, attempt_id, token = tab
        try:
            if autosaves:
                for position in range(10):
                    t0 = time.perf_counter()
                    status, _ = b.post_json(f"/exam/{attempt_id}/save",
                                            {"position": position, "answer": answer_for(position)}, token)
                    with lock:
                        saves.append((time.perf_counter() - t0) * 1000)
                        if status != 200:
                            errors.append(f"save {status}")
            t0 = time.perf_counter()
            status, location = b.post_form(f"/exam/{attempt_id}/submit", {}, token)
            with lock:
                submits.append((time.perf_counter() - t0) * 1000)
                if status != 302 or "/result" not in location:
                    errors.append(f"submit {status} {location}")
        except Exception as exc:  # noqa: BLE001  every failure is reported
            with lock:
                errors.append(repr(exc))

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(student, tabs))
    elapsed = time.perf_counter() - started
    return {"saves": saves, "submits": submits, "errors": errors, "elapsed": elapsed,
            "attempts": [t[1] for t in tabs]}


def bare(base: str, requests: int, connections: int) -> list[float]:
    """The reference: the same number of JSON POSTs to the bare app; latencies in ms."""
    latencies: list[float] = []
    lock = threading.Lock()

    def tab(n: int) -> None:
        b = Browser(base)
        for position in range(n):
            t0 = time.perf_counter()
            b.post_json("/save", {"position": position % 10, "answer": answer_for(position % 10)})
            with lock:
                latencies.append((time.perf_counter() - t0) * 1000)

    per = max(1, requests // connections)
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(tab, [per] * connections))
    return latencies


def count_saved(url: str, attempts: list[int]) -> tuple[int, int, int]:
    """(graded attempts, saved answers, learning jobs done) in the database."""
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        ids = ",".join(str(a) for a in attempts)
        graded = conn.execute(sa.text(f"SELECT count(*) FROM exam_attempt WHERE status = 'graded' AND id IN ({ids})")).scalar()
        saved = conn.execute(sa.text(f"SELECT count(*) FROM exam_answer WHERE answer IS NOT NULL AND attempt_id IN ({ids})"
                                     )).scalar()
        jobs = conn.execute(sa.text("SELECT count(*) FROM job WHERE name = 'practice.exam_learning' AND status = 'done'"
                                    )).scalar()
    engine.dispose()
    return int(graded or 0), int(saved or 0), int(jobs or 0)


def drain(url: str, attempts: list[int], jobs_expected: int) -> tuple[int, int, int]:
    """Wait (up to a minute) for the 错题本/FSRS jobs that run after the responses; then count what was stored."""
    deadline = time.monotonic() + 60
    while True:
        graded, saved, jobs = count_saved(url, attempts)
        if jobs >= jobs_expected or time.monotonic() > deadline:
            return graded, saved, jobs
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="50 students")
    args = parser.parse_args()
    if args.quick:
        args.students = min(args.students, 50)
    print(f"machine: {machine()}")
    failed = False
    for kind in databases(args.databases):
        with scratch_database(kind, students=args.students) as url:
            with gunicorn("app:create_app()", url, args.workers, args.threads) as base:
                at_bell = bell(base, args.students, args.connections, autosaves=True)
                drain(url, at_bell["attempts"], args.students)
                alone = bell(base, args.students, args.connections, autosaves=False)
                graded, saved, jobs = drain(url, at_bell["attempts"] + alone["attempts"], 2 * args.students)
            with gunicorn("scripts.bench.bare_app:create_app()", None, args.workers, args.threads) as base:
                reference = bare(base, args.students * 11, args.connections)
        both = at_bell["saves"] + at_bell["submits"]
        sent = args.students * 10 * 2
        print(f"{kind}: {args.students} students, 10 autosaves + submit each, {args.connections} connections, "
              f"gunicorn {args.workers} workers x {args.threads} threads")
        print(f"  at the bell: {len(both)} requests in {at_bell['elapsed']:.1f} s ({len(both) / at_bell['elapsed']:.0f} req/s), "
              f"p50 {median(both):.0f} ms, p95 {percentile(both, .95):.0f} ms (goal < 100 ms); "
              f"autosave p95 {percentile(at_bell['saves'], .95):.0f} ms, submit p95 {percentile(at_bell['submits'], .95):.0f} ms")
        print(f"  submit alone: p50 {median(alone['submits']):.0f} ms, p95 {percentile(alone['submits'], .95):.0f} ms "
              f"(goal < 100 ms)")
        print(f"  reference, bare Flask JSON POST, same server and load: p50 {median(reference):.1f} ms, "
              f"p95 {percentile(reference, .95):.1f} ms; bell p95 / bare p95 = "
              f"{percentile(both, .95) / percentile(reference, .95):.1f}x")
        errors = at_bell["errors"] + alone["errors"]
        print(f"  lost: errors {len(errors)}, attempts graded {graded}/{2 * args.students}, "
              f"answers in the database {saved}/{sent} sent, learning jobs done {jobs}/{2 * args.students}")
        for line in errors[:5]:
            print("   ", line)
        failed |= bool(errors) or graded != 2 * args.students or saved != sent
    print(f"reproduce: .venv/bin/python scripts/bench/bench_exam_bell.py --students {args.students} "
          f"--connections {args.connections} --workers {args.workers} --threads {args.threads}")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
