"""Shared by the serving benchmarks: a scratch database (SQLite file or a temporary PostgreSQL database) with the
bank and N students, the app (or the bare reference app) under gunicorn the way serve.sh runs it, and an HTTP
load generator that keeps its connections open like a browser.
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookies import SimpleCookie
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "secret123"  # noqa: S105  the scratch accounts of a benchmark
HASH = "pbkdf2:sha256:1"  # cheap hashing: logging in 200 students is set-up, not the figure
TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, load average {load:.1f}"


def pg_reachable(url: str = PG_DEFAULT) -> bool:
    try:
        import psycopg

        psycopg.connect(url.replace("+psycopg", ""), connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001  any failure means: not here
        return False


def databases(names: str) -> Iterator[str]:
    """The databases named (``sqlite,postgresql``) that can be reached; says which are skipped."""
    for kind in names.split(","):
        if kind == "postgresql" and not pg_reachable():
            print("postgresql: not reachable at 127.0.0.1:5432, skipped")
            continue
        yield kind


@contextmanager
def scratch_database(kind: str, students: int = 0, pg_url: str = PG_DEFAULT) -> Iterator[str]:
    """A migrated database with the bank and ``students`` accounts s000, s001, ... (password ``secret123``)."""
    import sqlalchemy as sa

    tmp = tempfile.TemporaryDirectory(prefix="crm-bench-")
    name = None
    if kind == "sqlite":
        url = f"sqlite:///{Path(tmp.name) / 'bench.sqlite3'}"
    else:
        name = f"crm_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = sa.make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    try:
        _fill(url, students)
        yield url
    finally:
        if name:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        tmp.cleanup()


def _fill(url: str, students: int) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from app.bank.services import sync_bank
    from app.extensions import db
    from app.models import User
    from question_bank import load_bank

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "PASSWORD_HASH_METHOD": HASH,
                      "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        sync_bank(load_bank())
        for i in range(students):
            user = User(username=f"s{i:03d}", role="student")
            user.set_password(PASSWORD)
            db.session.add(user)
        db.session.commit()
        db.engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def gunicorn(target: str, database_url: str | None = None, workers: int = 4, threads: int = 4,
             env: dict[str, str] | None = None) -> Iterator[str]:
    """Serve ``target`` ("app:create_app()" or the bare app) with scripts/gunicorn.conf.py; yield its base URL."""
    port = free_port()
    environment = {**os.environ, "SECRET_KEY": "bench-" + "x" * 40, "FLASK_PASSWORD_HASH_METHOD": HASH,
                   "PYTHONPATH": str(ROOT), **(env or {})}
    environment.pop("REDIS_URL", None)
    if database_url:
        environment["DATABASE_URL"] = database_url
    process = subprocess.Popen(  # noqa: S603  our own server, fixed arguments
        [GUNICORN, "--config", str(ROOT / "scripts" / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
         "--workers", str(workers), "--threads", str(threads), "--log-level", "warning", target],
        cwd=str(ROOT), env=environment)
    base = f"http://127.0.0.1:{port}"
    SERVERS[base] = process.pid
    try:
        wait_until_up(base, process)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()


SERVERS: dict[str, int] = {}  # base URL -> gunicorn master's pid


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and its children (gunicorn's master and workers)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # state, ppid, ..., utime (11), stime (12)
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def settle(base: str, limit: float = 15.0) -> float:
    """Wait until the server's processes have finished their start-up work (each app worker loads jieba's
    dictionary in the background after its first request: 0.8 s of CPU each, which would be measured as part of the
    first repetition); returns the seconds waited. Idle = under 5 % of one core over half a second."""
    started = time.perf_counter()
    pid = SERVERS[base]
    while time.perf_counter() - started < limit:
        before = _tree_cpu(pid)
        time.sleep(0.5)
        if _tree_cpu(pid) - before < 0.025:
            break
    return time.perf_counter() - started


def wait_until_up(base: str, process: subprocess.Popen | None = None, path: str = "/", timeout: float = 120) -> float:
    """Poll until ``path`` answers 200; return the seconds it took."""
    started = time.perf_counter()
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    while time.perf_counter() - started < timeout:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            conn = http.client.HTTPConnection(host, int(port), timeout=5)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                conn.close()
                return time.perf_counter() - started
            conn.close()
        except OSError:
            pass
        time.sleep(0.01)
    raise TimeoutError(f"{base}{path} did not answer in {timeout} s")


class Browser:
    """One keep-alive connection with a cookie jar, like a browser tab."""

    def __init__(self, base: str):
        netloc = urllib.parse.urlsplit(base).netloc
        host, port = netloc.split(":")
        self.host, self.port = host, int(port)
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()  # the server closed an idle keep-alive connection: reconnect once
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
                if attempt:
                    raise
        for value in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(value)
            for key, morsel in cookie.items():
                self.cookies[key] = morsel.value
        return response.status, dict(response.headers), data

    def get(self, path: str) -> str:
        return self.request("GET", path)[2].decode("utf-8")

    def token(self, path: str = "/practice/") -> str:
        match = TOKEN.search(self.get(path))
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def post_form(self, path: str, data: dict, token: str) -> tuple[int, str]:
        body = urllib.parse.urlencode({**data, "csrf_token": token}, doseq=True).encode()
        status, headers, _ = self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})
        return status, headers.get("Location", "")

    def post_json(self, path: str, data: dict, token: str | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["X-CSRFToken"] = token
        status, _, body = self.request("POST", path, json.dumps(data).encode(), headers)
        return status, body


def login_with_exam(base: str, i: int, single: int = 5, true_false: int = 5) -> tuple[Browser, int, str]:
    """Student ``i`` logs in and opens a mock exam; returns the tab, the attempt id and a CSRF token."""
    b = Browser(base)
    status, _ = b.post_form("/auth/login", {"username": f"s{i:03d}", "password": PASSWORD}, b.token("/auth/login"))
    assert status == 302, f"login s{i:03d}: {status}"
    status, location = b.post_form("/exam/new", {"title": "bench", "minutes": 60, "count_single_choice": single,
                                                 "points_single_choice": 2, "count_true_false": true_false,
                                                 "points_true_false": 2}, b.token("/exam/new"))
    assert status == 302, f"exam s{i:03d}: {status}"
    attempt_id = int(location.rsplit("/", 1)[1].split("?")[0])
    token = b.token(f"/exam/{attempt_id}")  # the exam page, as a student would open it
    return b, attempt_id, token


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))]


def median(values: list[float]) -> float:
    return statistics.median(values)
