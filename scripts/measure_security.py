"""Measure the login defences with the production password hash (scrypt): timing of known vs unknown users,
41 wrong passwords in a row, 100 anonymous practice starts. Figures go to SECURITY.md.

    .venv/bin/python scripts/measure_security.py
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import User  # noqa: E402

TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def make_app(folder: str, **config):
    return create_app({"TESTING": True, "SECRET_KEY": "m" * 40, "PASSWORD_HASH_METHOD": "scrypt",
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/measure.sqlite3", **config})


def token(client) -> str:
    return TOKEN.search(client.get("/auth/login").get_data(as_text=True)).group(1)


def main() -> None:
    folder = tempfile.mkdtemp()
    app = make_app(folder, RATELIMIT_ENABLED=False)
    with app.app_context():
        db.create_all()
        user = User(username="alice", role="student")
        user.set_password("Kh7#mq2v9x")
        db.session.add(user)
        db.session.commit()
    client = app.test_client()

    def timed(name: str) -> float:
        csrf = token(client)
        began = time.perf_counter()
        client.post("/auth/login", data={"username": name, "password": "wrong-pass", "csrf_token": csrf})
        return (time.perf_counter() - began) * 1000

    known = statistics.median(timed("alice") for _ in range(10))
    unknown = statistics.median(timed(f"nobody{i}") for i in range(10))
    print(f"login timing (scrypt, median of 10): known user {known:.0f} ms, unknown user {unknown:.0f} ms")

    limited = make_app(folder, RATELIMIT_ENABLED=True).test_client()
    statuses, began = [], time.perf_counter()
    for i in range(41):
        response = limited.post("/auth/login", data={"username": "alice", "password": f"bad{i}",
                                                     "csrf_token": token(limited)})
        statuses.append(response.status_code)
    print(f"41 wrong passwords in {time.perf_counter() - began:.1f} s: {statuses.count(200)} answered, "
          f"{statuses.count(429)} refused (429, Retry-After {response.headers.get('Retry-After')} s)")
    visitor = make_app(folder, RATELIMIT_ENABLED=True).test_client()
    starts = [visitor.get("/practice/start?mode=random&count=200").status_code for _ in range(100)]
    print(f"100 anonymous practice starts: {starts.count(302)} answered, {starts.count(429)} refused")


if __name__ == "__main__":
    main()
