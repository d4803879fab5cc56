"""Benchmark: N students autosave their last answers and submit a mock exam at the same moment.

Runs the real app on a threaded local server over a fresh SQLite (WAL) database, logs N students in, starts an
exam for each, then fires every autosave and submit concurrently. Prints latencies and checks that nothing was
lost: every attempt graded once, every autosaved answer present.

    .venv/bin/python scripts/bench_exam_bell.py --students 200 --threads 50
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import re
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402

TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


class Student:
    def __init__(self, base: str, name: str):
        self.base, self.name = base, name
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path) as r:
            return r.read().decode("utf-8")

    def token(self, path: str = "/practice/") -> str:
        return TOKEN.search(self.get(path)).group(1)

    def post(self, path: str, data: dict, token: str) -> tuple[int, str]:
        body = urllib.parse.urlencode({**data, "csrf_token": token}, doseq=True).encode()
        req = urllib.request.Request(self.base + path, data=body, method="POST")
        with self.opener.open(req) as r:
            return r.status, r.geturl()

    def post_json(self, path: str, data: dict, token: str) -> int:
        req = urllib.request.Request(self.base + path, data=json.dumps(data).encode(), method="POST",
                                     headers={"Content-Type": "application/json", "X-CSRFToken": token})
        with self.opener.open(req) as r:
            return r.status


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--threads", type=int, default=50)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'bench.sqlite3'}"})
    with app.app_context():
        from flask_migrate import upgrade

        from app.bank.services import sync_bank
        from app.models import User
        from question_bank import load_bank

        upgrade()
        db.create_all()
        sync_bank(load_bank())
        for i in range(args.students):
            user = User(username=f"s{i:03d}", role="student")
            user.set_password("secret123")
            db.session.add(user)
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"

    def prepare(i: int) -> tuple[Student, int, str]:
        s = Student(base, f"s{i:03d}")
        s.post("/auth/login", {"username": s.name, "password": "secret123"}, s.token("/auth/login"))
        _, url = s.post("/exam/new", {"title": "bench", "minutes": 60, "count_single_choice": 5,
                                      "points_single_choice": 2, "count_true_false": 5, "points_true_false": 2},
                        s.token("/exam/new"))
        attempt_id = int(url.rsplit("/", 1)[1].split("?")[0])
        return s, attempt_id, s.token()

    with ThreadPoolExecutor(args.threads) as pool:
        students = list(pool.map(prepare, range(args.students)))
    print(f"{args.students} students logged in with an open exam each; firing autosave + submit at once")

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()

    def bell(entry: tuple[Student, int, str]) -> None:
        s, attempt_id, token = entry
        try:
            for position in range(10):
                t0 = time.perf_counter()
                status = s.post_json(f"/exam/{attempt_id}/save", {"position": position, "answer": ["A"] if position < 5 else ["true"]}, token)
                with lock:
                    latencies.append(time.perf_counter() - t0)
                if status != 200:
                    errors.append(f"{s.name} save {position}: {status}")
            t0 = time.perf_counter()
            s.post(f"/exam/{attempt_id}/submit", {}, token)
            with lock:
                latencies.append(time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 (report every failure)
            errors.append(f"{s.name}: {exc}")

    start = time.perf_counter()
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(bell, students))
    elapsed = time.perf_counter() - start
    server.shutdown()
    with app.app_context():
        from app.models.practice import ExamAnswer, ExamAttempt

        graded = db.session.scalar(sa.select(sa.func.count()).select_from(ExamAttempt).where(ExamAttempt.status == "graded"))
        answers = db.session.scalar(sa.select(sa.func.count()).select_from(ExamAnswer).where(ExamAnswer.answer.is_not(None)))
    latencies.sort()
    print(f"requests: {len(latencies)} in {elapsed:.2f} s ({len(latencies) / elapsed:.0f} req/s), errors: {len(errors)}")
    print(f"latency p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms")
    print(f"attempts graded: {graded}/{args.students}; saved answers: {answers}/{args.students * 10}")
    for line in errors[:10]:
        print("  ", line)
    print(f"reproduce: .venv/bin/python scripts/bench_exam_bell.py --students {args.students} --threads {args.threads}")
    if errors or graded != args.students or answers != args.students * 10:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
