"""The university deployment of docs/deploy.md, started from its one declaration of the processes (the Procfile,
run by honcho): two app processes on different loopback ports and a job worker, on one PostgreSQL database and
Redis. A student starts a mock exam on one process and finishes it on the other; an instructor's sandbox build
started on one process is finished by the worker; nothing is lost."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import uuid
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("DEPLOY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DEPLOY_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
HONCHO = str(Path(sys.executable).with_name("honcho"))
TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')

pytestmark = pytest.mark.deploy


def _reachable() -> str | None:
    try:
        import psycopg

        psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=3).close()
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL is not reachable at {PG_URL} ({exc.__class__.__name__}): the deployment test needs it"
    try:
        from redis import Redis

        Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis is not reachable at {REDIS_URL} ({exc.__class__.__name__}): the deployment test needs it"
    if not Path(HONCHO).exists():
        return "honcho is not installed (pip install -e '.[test]')"
    return None


class Tab:
    """A browser tab on one app process: a keep-alive connection with its own cookie jar."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None):
        self.port, self.cookies = port, dict(cookies or {})

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        for value in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(value)
            self.cookies.update({k: m.value for k, m in cookie.items()})
        conn.close()
        return response.status, response.headers, data.decode("utf-8", "replace")

    def token(self, path: str) -> str:
        return TOKEN.search(self.request("GET", path)[2]).group(1)

    def form(self, path: str, data: dict, page: str | None = None):
        body = urllib.parse.urlencode({**data, "csrf_token": self.token(page or path)}, doseq=True).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def json(self, path: str, data: dict, token: str):
        return self.request("POST", path, json.dumps(data).encode(),
                            {"Content-Type": "application/json", "X-CSRFToken": token})


def _free_base_port() -> int:
    """A base port p with p and p + 1 (the two web processes) and p + 100 (the worker) free."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + 100 > 65000:
            continue
        try:
            for port in (base, base + 1, base + 100):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free ports")


def _wait_up(port: int, process: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "honcho stopped:\n" + log.read_text(encoding="utf-8")[-3000:]
        try:
            if Tab(port).request("GET", "/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the app on port {port} did not answer")


@pytest.fixture
def deployment(tmp_path):
    reason = _reachable()
    if reason:
        pytest.skip(reason)
    name = f"crm_deploy_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "SECRET_KEY": "deploy-test-" + "k" * 40,
           "SANDBOX_DATA_DIR": str(tmp_path / "shared-volume"), "FLASK_JOBS_QUEUE": f"crm-deploy-{name}",
           "FLASK_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1", "WORKERS": "1", "THREADS": "4",
           "PYTHONUNBUFFERED": "1"}
    env.pop("TEST_DATABASE_URL", None)
    process = None
    try:
        # what docs/deploy.md says to run before starting the processes
        subprocess.run([str(Path(sys.executable).with_name("flask")), "--app", "app", "setup"], cwd=ROOT, env=env,  # noqa: S603
                       check=True, capture_output=True, timeout=300)
        _accounts(url)
        base = _free_base_port()
        log = open(tmp_path / "honcho.log", "w", encoding="utf-8")  # noqa: SIM115  closed in finally
        process = subprocess.Popen([HONCHO, "start", "--port", str(base), "--concurrency", "web=2,worker=1"],  # noqa: S603
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for port in (base, base + 1):
            _wait_up(port, process, tmp_path / "honcho.log")
        yield {"ports": (base, base + 1), "url": url}
    finally:
        if process is not None:
            os.killpg(process.pid, signal.SIGTERM)  # honcho's own process group: it and the processes it started
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            log.close()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _accounts(url: str) -> None:
    from app import create_app
    from app.extensions import db
    from app.models import User
    from app.models.classes import SchoolClass

    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"})
    with app.app_context():
        for username, role in (("student", "student"), ("teacher", "instructor")):
            user = User(username=username, role=role)
            user.set_password("secret123")
            db.session.add(user)
        db.session.flush()
        teacher = db.session.scalar(sa.select(User.id).where(User.username == "teacher"))
        db.session.add(SchoolClass(name="一班", instructor_id=teacher))
        db.session.commit()
        db.engine.dispose()


def _count(url: str, sql: str, **params) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        value = conn.execute(sa.text(sql), params).scalar()
    engine.dispose()
    return int(value or 0)


def _poll_job(tab: Tab, job_id: int, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, _, body = tab.request("GET", f"/jobs/{job_id}.json")
        assert status == 200, body[:300]
        data = json.loads(body)
        if data["finished"]:
            return data
        time.sleep(0.3)
    raise TimeoutError(f"job {job_id} did not finish: {data}")


def test_two_app_processes_and_a_worker_from_the_procfile(deployment):
    first, second = deployment["ports"]
    url = deployment["url"]

    # a student logs in and starts a mock exam on the first process ...
    a = Tab(first)
    assert a.form("/auth/login", {"username": "student", "password": "secret123"})[0] == 302
    status, headers, _ = a.form("/exam/new", {"title": "期中模拟", "minutes": 30, "count_single_choice": 4,
                                              "points_single_choice": 5, "count_true_false": 4,
                                              "points_true_false": 5})
    assert status == 302, headers
    attempt_id = int(headers["Location"].rsplit("/", 1)[1].split("?")[0])
    token = a.token(f"/exam/{attempt_id}")
    for position in range(4):
        status, _, body = a.json(f"/exam/{attempt_id}/save", {"position": position, "answer": ["A"]}, token)
        assert status == 200 and json.loads(body)["ok"], body
    # ... and continues the same exam on the second: same session, the answers already given are there
    b = Tab(second, a.cookies)
    status, _, page = b.request("GET", f"/exam/{attempt_id}?q=0")
    assert status == 200 and "答题卡" in page and 'value="A" checked' in page
    token_b = b.token(f"/exam/{attempt_id}?q=4")
    for position in range(4, 8):
        status, _, body = b.json(f"/exam/{attempt_id}/save", {"position": position, "answer": ["true"]}, token_b)
        assert status == 200 and json.loads(body)["ok"], body
    status, headers, _ = b.form(f"/exam/{attempt_id}/submit", {}, page=f"/exam/{attempt_id}/confirm")
    assert status == 302 and headers["Location"].endswith(f"/exam/{attempt_id}/result?handed_in=1")
    assert "逐题回顾" in a.request("GET", f"/exam/{attempt_id}/result")[2]  # either process shows the result

    # an instructor starts a sandbox build on the second process; the worker builds it, the first one shows it
    teacher = Tab(second)
    assert teacher.form("/auth/login", {"username": "teacher", "password": "secret123"})[0] == 302
    class_id = _count(url, "SELECT id FROM school_class WHERE name = '一班'")
    status, headers, _ = teacher.form("/sandbox/new", {"class_id": class_id, "scenario": "default", "customers": 400,
                                                       "months": 12, "seed": 11})
    assert status == 302 and "/jobs/" in headers["Location"], headers
    job_id = int(headers["Location"].rsplit("/", 1)[1])
    done = _poll_job(Tab(first, teacher.cookies), job_id)
    assert done["status"] == "done", done
    status, _, dashboard = Tab(first, teacher.cookies).request("GET", done["next"])
    assert status == 200 and "400" in dashboard

    # nothing lost: every answer, the grade, the 错题本 fed by the worker, the sandbox built once
    assert _count(url, "SELECT count(*) FROM exam_answer WHERE attempt_id = :a AND answer IS NOT NULL", a=attempt_id) == 8
    assert _count(url, "SELECT count(*) FROM exam_attempt WHERE id = :a AND status = 'graded'", a=attempt_id) == 1
    assert _count(url, "SELECT count(*) FROM response WHERE exam_id = :a", a=attempt_id) == 8
    deadline = time.monotonic() + 30
    while _count(url, "SELECT count(*) FROM job WHERE name = 'practice.exam_learning' AND status = 'done'") < 1:
        assert time.monotonic() < deadline, "the worker did not run the exam's learning job"
        time.sleep(0.3)
    assert _count(url, "SELECT count(*) FROM review_card") + _count(url, "SELECT count(*) FROM wrong_entry") > 0
    assert _count(url, "SELECT count(*) FROM sandbox WHERE class_id = :c AND status = 'ready'", c=class_id) == 1
    assert _count(url, "SELECT count(*) FROM job WHERE status = 'failed'") == 0
