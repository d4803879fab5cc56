"""Background jobs (app/jobs.py): inline in tests, the in-process worker thread, RQ on Redis, the progress page."""

from __future__ import annotations

import re
import socket
import time
import uuid

import pytest
import sqlalchemy as sa

from app import jobs
from app.extensions import db
from app.models.jobs import Job
from app.models.sandbox import Sandbox
from tests.conftest import login, make_user, post_form

REDIS_URL = "redis://127.0.0.1:6379/15"


@jobs.register("test.count")
def count(report, upto: int, fail: bool = False) -> dict:
    for i in range(upto):
        report(i + 1, upto, f"第 {i + 1} 步")
    if fail:
        raise jobs.JobError("故意失败")
    return {"sum": sum(range(upto + 1))}


def test_inline_job_records_progress_and_result(app):
    with app.app_context():
        job = jobs.enqueue("test.count", upto=4, key="k1", title="计数")
        assert (job.status, job.done, job.total, job.result, job.message) == ("done", 4, 4, {"sum": 10}, "第 4 步")
        failed = jobs.enqueue("test.count", upto=2, fail=True)
        assert failed.status == "failed" and failed.message == "故意失败" and "JobError" in failed.error


def test_in_process_worker_runs_jobs_outside_the_request(app, client):
    """Without Redis, a worker thread in the app process builds the sandbox; the request only records it."""
    from app.models.classes import SchoolClass

    app.config["JOBS_INLINE"] = False
    teacher = make_user(app, "teacher", "instructor")
    with app.app_context():
        school_class = SchoolClass(name="一班", instructor_id=teacher)
        db.session.add(school_class)
        db.session.commit()
        class_id = school_class.id
    login(client, "teacher")
    # 25,000 customers: more than the old page limit of 20,000, which is gone (a configured maximum stays)
    data = {"class_id": class_id, "scenario": "default", "customers": 25_000, "months": 12, "seed": 3}
    data["csrf_token"] = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                                   client.get("/sandbox/new").get_data(as_text=True)).group(1)
    started = time.perf_counter()
    response = client.post("/sandbox/new", data=data)
    elapsed = time.perf_counter() - started
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    assert elapsed < 0.5, f"the request did {elapsed:.2f} s of work"
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "<progress" in html and 'http-equiv="refresh"' in html and "js/jobs.js" in html  # no-JS fallback too
    with app.app_context():
        job = jobs.wait(job_id, timeout=120)
        assert job.status == "done", job.error
        sandbox = db.session.scalar(sa.select(Sandbox).where(Sandbox.class_id == class_id))
        assert sandbox.status == "ready" and sandbox.counts["customers"] == 25_000
    status = client.get(f"/jobs/{job_id}.json").get_json()
    assert status["finished"] and status["percent"] == 100 and status["next"] == f"/sandbox/{sandbox.id}/"
    jobs._workers[id(app)].join()  # the worker thread has given its connection back before the app is disposed


def test_job_pages_belong_to_their_owner(app, client):
    owner = make_user(app, "teacher", "instructor")
    make_user(app, "other", "instructor")
    with app.app_context():
        job_id = jobs.enqueue("test.count", upto=1, user_id=owner).id
    login(client, "other")
    assert client.get(f"/jobs/{job_id}").status_code == 404
    assert client.get(f"/jobs/{job_id}.json").status_code == 404
    client.post("/auth/logout", data={"csrf_token": re.search(
        r'name="csrf-token" content="([^"]+)"', client.get("/").get_data(as_text=True)).group(1)})
    assert client.get(f"/jobs/{job_id}").status_code == 302  # to the login page
    login(client, "teacher")
    html = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "已完成" in html and 'http-equiv="refresh"' not in html


def _redis_or_skip():
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379: the RQ queue test needs it (start redis-server)")


def test_rq_queue_runs_a_sandbox_build(app, client):
    """With REDIS_URL set, the page only queues the build; an RQ worker (here in burst mode) runs it."""
    _redis_or_skip()
    from redis import Redis
    from rq import Queue, SimpleWorker

    from app.models.classes import SchoolClass

    queue_name = f"crm-test-{uuid.uuid4().hex[:8]}"
    app.config.update(JOBS_INLINE=False, REDIS_URL=REDIS_URL, JOBS_QUEUE=queue_name)
    teacher = make_user(app, "teacher", "instructor")
    with app.app_context():
        school_class = SchoolClass(name="一班", instructor_id=teacher)
        db.session.add(school_class)
        db.session.commit()
        class_id = school_class.id
    login(client, "teacher")
    response = post_form(client, "/sandbox/new", {"class_id": class_id, "scenario": "default", "customers": 300,
                                                  "months": 12, "seed": 4}, page="/sandbox/new")
    job_id = int(response.headers["Location"].rsplit("/", 1)[1])
    connection = Redis.from_url(REDIS_URL)
    queue = Queue(queue_name, connection=connection)
    try:
        with app.app_context():
            assert db.session.get(Job, job_id).status == "queued" and queue.count == 1
            SimpleWorker([queue], connection=connection).work(burst=True)
            job = jobs.wait(job_id, timeout=5)
            assert job.status == "done", job.error
            sandbox = db.session.scalar(sa.select(Sandbox).where(Sandbox.class_id == class_id))
            assert sandbox.status == "ready" and sandbox.counts["customers"] == 300
    finally:
        queue.delete(delete_jobs=True)
        connection.close()


def test_cli_shows_the_job_progress_bar(app, runner):
    result = runner.invoke(args=["sandbox", "create", "--customers", "200", "--months", "6", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("生成") and "已就绪" in result.output  # click draws the bar on a terminal
    from app.sandbox.services import BUILD_STEPS

    with app.app_context():
        job = db.session.scalar(sa.select(Job).order_by(Job.id.desc()))
        assert job.name == "sandbox.build" and job.status == "done" and job.done == job.total == BUILD_STEPS


def test_compiled_templates_are_cached_for_the_next_worker(app, tmp_path):
    """A new worker renders its first page from Jinja's cache of compiled templates (no recompilation), and the
    page is the same; a template whose source changed is compiled again."""
    from app import create_app

    cache = tmp_path / "templates"
    config = {key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "SECRET_KEY", "PASSWORD_HASH_METHOD")}
    first = create_app({**config, "TESTING": True, "TEMPLATE_CACHE_DIR": str(cache)})
    page = first.test_client().get("/")
    assert page.status_code == 200
    cached = sorted(p.name for p in cache.iterdir())
    assert cached, "rendering a page wrote no compiled template"

    second = create_app({**config, "TESTING": True, "TEMPLATE_CACHE_DIR": str(cache)})
    compiled: list[str] = []
    original = second.jinja_env.compile
    second.jinja_env.compile = lambda source, name=None, *a, **k: compiled.append(name) or original(source, name, *a, **k)
    again = second.test_client().get("/")
    import re

    def without_tokens(html: bytes) -> bytes:  # the CSRF token differs per session
        return re.sub(rb"content=\"[^\"]{20,}\"", b"", html)

    assert again.status_code == 200 and without_tokens(again.data) == without_tokens(page.data)
    assert compiled == [], f"templates compiled again despite the cache: {compiled}"
    assert sorted(p.name for p in cache.iterdir()) == cached
    for each in (first, second):
        with each.app_context():
            db.engine.dispose()


def test_jobs_a_dead_process_left_behind_are_recovered(app, client):
    """A job still 'running' past JOBS_TIMEOUT lost its process: its page says so (and a sandbox it was building is
    failed, not 'building' for ever); a job still 'queued' after JOBS_REQUEUE_AFTER is queued again and runs once."""
    from datetime import timedelta

    from app.clock import now
    from app.models.classes import SchoolClass

    teacher = make_user(app, "teacher", "instructor")
    with app.app_context():
        school_class = SchoolClass(name="一班", instructor_id=teacher)
        db.session.add(school_class)
        db.session.flush()
        sandbox = Sandbox(class_id=school_class.id, name="沙盒", scenario="default", seed=1, params={},
                          status="building", created_by_id=teacher)
        db.session.add(sandbox)
        db.session.flush()
        long_ago = now() - timedelta(hours=2)
        lost = Job(name="sandbox.build", args={"sandbox_id": sandbox.id}, title="生成沙盒", status="running",
                   user_id=teacher, created_at=long_ago, started_at=long_ago)
        waiting = Job(name="test.count", args={"upto": 3}, title="计数", status="queued", user_id=teacher,
                      created_at=now() - timedelta(minutes=5))
        fresh = Job(name="test.count", args={"upto": 2}, title="计数", status="queued", user_id=teacher)
        db.session.add_all([lost, waiting, fresh])
        db.session.commit()
        ids = lost.id, waiting.id, fresh.id, sandbox.id
    login(client, "teacher")
    shown = client.get(f"/jobs/{ids[0]}.json").get_json()
    assert shown["status"] == "failed" and shown["finished"] and "重新开始" in shown["message"]
    page = client.get(f"/jobs/{ids[0]}").get_data(as_text=True)
    assert "任务中断" in page
    with app.app_context():
        assert db.session.get(Sandbox, ids[3]).status == "failed"
        assert db.session.get(Job, ids[1]).status == "done"  # queued again (inline here) and run
        assert db.session.get(Job, ids[1]).result == {"sum": 6}
        assert db.session.get(Job, ids[2]).status == "queued"  # not overdue: left to its own queue
        jobs.run(ids[1])  # a second copy from another queue is a no-op: the job ran once
        assert db.session.get(Job, ids[1]).result == {"sum": 6}


def test_setup_marks_jobs_of_the_stopped_server_as_interrupted(app, runner):
    """Without Redis the jobs run inside the server: when `flask setup` runs (serve.sh, before the server starts)
    a job still 'running' was cut off by the stop, however recent."""
    from app.clock import now

    with app.app_context():
        job = Job(name="test.count", args={"upto": 1}, status="running", started_at=now())
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    with app.app_context():  # as `flask setup` runs
        result = runner.invoke(args=["setup", "--no-demo"])
    assert result.exit_code == 0, result.output
    assert "1 个后台任务未完成" in result.output
    with app.app_context():
        assert db.session.get(Job, job_id).status == "failed"


def test_an_in_process_job_waits_for_a_quiet_moment_not_a_gap_between_requests(monkeypatch):
    """A job starts once no request has been in flight for QUIET_FOR seconds (or after the limit)."""
    job_queue = jobs
    monkeypatch.setattr(job_queue, "_busy", 0)  # (the count is per process: other tests' requests may be in it)
    monkeypatch.setattr(job_queue, "_last_ended", time.monotonic())  # a request has just ended
    started = time.monotonic()
    job_queue._wait_for_idle(5.0)
    assert job_queue.QUIET_FOR * 0.9 <= time.monotonic() - started < 2.0
    monkeypatch.setattr(job_queue, "_busy", 1)  # one in flight: it waits for the limit
    started = time.monotonic()
    job_queue._wait_for_idle(0.3)
    assert time.monotonic() - started >= 0.3
    monkeypatch.setattr(job_queue, "_busy", 0)
    started = time.monotonic()
    job_queue._wait_for_idle(5.0)  # quiet for long enough already
    assert time.monotonic() - started < job_queue.QUIET_FOR
