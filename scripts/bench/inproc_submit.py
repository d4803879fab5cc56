"""In-process cost of one mock-exam submit: the WSGI app called with a prepared environ, one submit after another.

A scratch database with one student; ``--attempts`` open 10-question exams (5 single choice, 5 true/false, as in
bench_exam_bell.py), each with its ten answers saved; then every attempt is submitted once through the full app
(session cookie, CSRF, every before/after-request hook, the redirect). Reports per submit: wall and CPU time of the
request thread (``time.thread_time``), statements sent, and on PostgreSQL the CPU of the server backend that served
them (from /proc, 10 ms ticks) and the write-ahead log written (bytes: the same on a busy machine as on a quiet one,
unlike the times). The 错题本/FSRS job is recorded but not run (it runs after the response, in a
thread of its own; ``--jobs`` runs it inline after each submit, outside the timed part).

    .venv/bin/python scripts/bench/inproc_submit.py [sqlite|postgresql] [--attempts 600] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _serve import PASSWORD, scratch_database  # type: ignore[import-not-found]  # noqa: E402


def _ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def _wal(engine) -> int:
    """PostgreSQL's write-ahead log position in bytes (what every write costs the server's disk, whatever the load)."""
    import sqlalchemy as sa

    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_current_wal_lsn() - CAST('0/0' AS pg_lsn)")).scalar())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", nargs="?", default="sqlite")
    parser.add_argument("--attempts", type=int, default=600)
    parser.add_argument("--profile", help="cProfile the submits into this file")
    parser.add_argument("--jobs", action="store_true", help="run each learning job after its submit (untimed)")
    args = parser.parse_args()
    with scratch_database(args.kind, students=1) as url:
        os.environ.update({"SECRET_KEY": "x" * 40, "FLASK_SQLALCHEMY_DATABASE_URI": url,
                           "FLASK_RATELIMIT_ANSWERS": "1000000 per minute"})
        import sqlalchemy as sa

        from app import create_app, jobs
        from app.extensions import db

        app = create_app()
        queued: list[int] = []
        jobs._dispatch = lambda _app, job_id: queued.append(job_id)  # recorded, run below (or never)
        c = app.test_client()

        def token(path: str) -> str:
            return re.search(r'<meta name="csrf-token" content="([^"]+)"', c.get(path).get_data(as_text=True)).group(1)

        r = c.post("/auth/login", data={"username": "s000", "password": PASSWORD, "csrf_token": token("/auth/login")})
        assert r.status_code == 302, r.status_code
        form = {"title": "b", "minutes": 60, "count_single_choice": 5, "points_single_choice": 2,
                "count_true_false": 5, "points_true_false": 2, "csrf_token": token("/exam/new")}
        attempts = []
        for _ in range(args.attempts):
            r = c.post("/exam/new", data=form)
            attempts.append(int(r.headers["Location"].rsplit("/", 1)[1].split("?")[0]))
        csrf = token(f"/exam/{attempts[0]}")
        for attempt in attempts:
            for position in range(10):
                r = c.post(f"/exam/{attempt}/save", json={"position": position,
                                                          "answer": ["A"] if position < 5 else ["true"]},
                           headers={"X-CSRFToken": csrf})
                assert r.status_code == 200, r.get_data(as_text=True)
        cookie = "; ".join(f"{ck.key}={ck.value}" for ck in c._cookies.values())
        body = f"csrf_token={csrf}".encode()
        # the browser that logged in: Flask-Login's session protection marks a session whose client looks different
        # as not fresh, and that rewrites the session cookie on every request
        user_agent = c.environ_base["HTTP_USER_AGENT"]

        def environ(attempt: int) -> dict:
            return {"REQUEST_METHOD": "POST", "PATH_INFO": f"/exam/{attempt}/submit", "SCRIPT_NAME": "",
                    "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "5000",
                    "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1:5000",
                    "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
                    "HTTP_COOKIE": cookie, "HTTP_USER_AGENT": user_agent, "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
                    "wsgi.errors": sys.stderr, "wsgi.multithread": True, "wsgi.multiprocess": True,
                    "wsgi.run_once": False}

        statuses: list[str] = []
        statements: list[str] = []
        backends: set[int] = set()
        with app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        from app import rawsql

        rawsql.LISTENERS.append(statements.append)  # the statements sent on the DB-API connection too
        if engine.dialect.name == "postgresql":
            @sa.event.listens_for(engine, "connect")
            def _pid(dbapi_connection, _record):
                backends.add(dbapi_connection.info.backend_pid)
            engine.dispose()

        def call(attempt: int) -> None:
            res = app.wsgi_app(environ(attempt), lambda status, headers, exc=None: statuses.append(status))
            b"".join(res)
            getattr(res, "close", lambda: None)()

        warm, timed = attempts[:50], attempts[50:]
        for attempt in warm:
            call(attempt)
        queued.clear()
        statements.clear()
        profile = None
        if args.profile:
            import cProfile

            profile = cProfile.Profile(time.thread_time)  # CPU, not the waits for the database
        ticks0 = sum(_ticks(p) for p in backends)
        wal0 = _wal(engine) if backends else 0
        wall = cpu = job_cpu = 0.0
        for attempt in timed:
            t0, c0 = time.perf_counter(), time.thread_time()
            if profile:
                profile.enable()
            call(attempt)
            if profile:
                profile.disable()
            wall += time.perf_counter() - t0
            cpu += time.thread_time() - c0
            if args.jobs:
                c0 = time.thread_time()
                with app.app_context():
                    for job_id in queued:
                        jobs.run(job_id)
                    db.session.remove()
                job_cpu += time.thread_time() - c0
                queued.clear()
        server = (sum(_ticks(p) for p in backends) - ticks0) / os.sysconf("SC_CLK_TCK")
        wal = (_wal(engine) - wal0) if backends else 0  # every write of the database: this run's only writer
        n = len(timed)
        assert all(s.startswith("302") for s in statuses), set(statuses)
        with app.app_context():
            graded = db.session.scalar(sa.text(
                f"SELECT count(*) FROM exam_attempt WHERE status = 'graded' AND id IN ({','.join(map(str, timed))})"))
        assert graded == n, (graded, n)
        print(f"{args.kind}: {n} submits; wall {wall / n * 1e6:.0f} us, app CPU {cpu / n * 1e6:.0f} us"
              + (f", server backend CPU {server / n * 1e6:.0f} us, WAL {wal / n:.0f} bytes" if backends else "")
              + f", {len(statements) / n:.1f} statements per submit"
              + (f"; learning job CPU {job_cpu / n * 1e6:.0f} us (statements above include the jobs')" if args.jobs else ""))
        if os.environ.get("SHOW_STATEMENTS"):
            for s in statements[:20]:
                print("  ", " ".join(s.split())[:160])
        if profile:
            profile.dump_stats(args.profile)
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
