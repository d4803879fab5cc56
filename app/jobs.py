"""Background jobs with progress: long work (building, resetting, deleting, exporting a sandbox) leaves the request.

How to use it (any feature):

    from app import jobs

    @jobs.register("sandbox.export")
    def export(report: jobs.Report, sandbox_id: int) -> dict:
        report(0, 8, "正在导出客户……")          # done, total, message: shown on the progress page / CLI bar
        ...
        return {"rows": 123}                     # stored on the job row (JSON)

    job = jobs.enqueue("sandbox.export", sandbox_id=5, user_id=current_user.id, title="导出沙盒 5",
                       key="export:5", next_url=url_for(...))
    return redirect(url_for("jobs.show", job_id=job.id))

Where a job runs:

- ``REDIS_URL`` set: on RQ (Redis Queue), so any app process or worker machine runs it; start workers with
  ``flask worker`` (or ``rq worker crm`` with ``FLASK_APP=app``).
- otherwise: a worker thread inside the app process (nothing else to start; the README's two commands suffice).
- ``JOBS_INLINE`` true (the default under ``TESTING``): at once in the calling thread, so tests are deterministic.
- the CLI runs jobs inline with a click progress bar (``run_inline``).

The job's row (``app.models.jobs.Job``) carries status, done/total and a message; ``/jobs/<id>`` shows a progress
bar that ``static/js/jobs.js`` refreshes (without JavaScript the page reloads itself every two seconds). A job
function gets its arguments as JSON values and runs inside an application context; it must commit its own work.
Progress is written on a connection of its own, so a job should not hold a SQLite write transaction open while
it reports.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click
import sqlalchemy as sa
from flask import Blueprint, Flask, abort, current_app, g, jsonify, render_template
from flask.cli import with_appcontext
from flask_login import current_user, login_required

from app.clock import aware, now
from app.extensions import db
from app.models.jobs import Job
from app.rawsql import RawStatement

log = logging.getLogger(__name__)

Report = Callable[..., None]  # report(done=None, total=None, message=None)
REGISTRY: dict[str, Callable[..., Any]] = {}
QUEUE_NAME = "crm"
REPORT_EVERY = 0.25  # seconds between progress writes (the last report of a job is always written)
IDLE_WAIT = 5.0  # seconds an in-process job waits for this process's requests to finish before it runs anyway
QUIET_FOR = 0.1  # seconds with no request in flight that count as idle (not a gap between two requests)
_IMPORTED_IN = os.getpid()


ABANDONED: dict[str, Callable[..., None]] = {}
ABANDONED_MESSAGE = "任务中断：服务器在任务进行中重启，或任务超过了时限。请重新开始。"


def register(name: str, on_abandon: Callable[..., None] | None = None
             ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(report, **args)`` as the job ``name``.

    ``on_abandon(**args)``, if given, tidies up after a run that never ended (its process died; see ``recover``),
    e.g. marks the sandbox it was building as failed.
    """
    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[name] = fn
        if on_abandon is not None:
            ABANDONED[name] = on_abandon
        return fn
    return decorator


# ------------------------------------------------------------------------------------------------ enqueue

def _inline() -> bool:
    configured = current_app.config.get("JOBS_INLINE")
    return bool(current_app.testing if configured is None else configured)


def enqueue(name: str, *, user_id: int | None = None, key: str | None = None, title: str = "",
            next_url: str = "", **args: Any) -> Job:
    """Record a job and hand it to the queue; an unfinished job with the same ``key`` is returned instead."""
    if name not in REGISTRY:
        raise KeyError(f"no job named {name}")
    if key is not None:
        running = db.session.scalar(sa.select(Job).where(Job.key == key, Job.status.in_(("queued", "running")))
                                    .order_by(Job.id.desc()))
        if running is not None:
            return running
    job = Job(name=name, args=args, key=key, title=title, next_url=next_url, user_id=user_id)
    db.session.add(job)
    db.session.flush()
    job_id = job.id  # before the commit expires it (reading it after would be a query)
    db.session.commit()
    hand_over(job_id)
    return job  # expired by the commit: read again only if the caller looks at it


_INSERT_JOB = sa.insert(Job.__table__)


def insert_claimed(name: str, *, key: str, user_id: int | None = None, title: str = "", job_id: int | None = None,
                   **args: Any) -> int:
    """Record a job for a caller that holds the only claim on the work, so no other job can have ``key``: no look-up,
    one INSERT without the unit of work (a submit at the bell). The caller commits it with its own transaction and
    then calls ``hand_over``. ``job_id``, if the caller has reserved one from the table's sequence, is used as is,
    so the INSERT returns nothing (it can then be sent without waiting for its answer). Returns the job's id."""
    if name not in REGISTRY:
        raise KeyError(f"no job named {name}")
    values = {"name": name, "args": args, "key": key, "title": title, "user_id": user_id}
    if job_id is not None:
        values["id"] = job_id
    inserted = db.session.connection().execute(_INSERT_JOB, values)
    return job_id if job_id is not None else int(inserted.inserted_primary_key[0])


# a claimed job's row as one statement of its own, for a caller without a session (app/practice/bell_submit.py);
# the values the model's defaults give (status, counters, texts, result) are written out
_INSERT_CLAIMED = RawStatement(sa.text(
    "INSERT INTO job (id, name, args, key, title, status, done, total, message, result, error, next_url, user_id, "
    "created_at) VALUES (:id, :name, :args, :key, :title, 'queued', 0, 0, '', :result, '', '', :user_id, :created_at)"
).bindparams(sa.bindparam("args", type_=sa.JSON), sa.bindparam("result", type_=sa.JSON),
             sa.bindparam("created_at", type_=sa.DateTime(timezone=True))))


def claimed_insert(name: str, *, key: str, job_id: int, user_id: int | None = None, title: str = "",
                   **args: Any) -> tuple[RawStatement, dict[str, Any]]:
    """``insert_claimed`` as a statement and its values, with the job's id reserved by the caller."""
    if name not in REGISTRY:
        raise KeyError(f"no job named {name}")
    return _INSERT_CLAIMED, {"id": job_id, "name": name, "args": args, "key": key, "title": title, "result": {},
                             "user_id": user_id, "created_at": now()}


def hand_over(job_id: int) -> None:
    """Run a committed job now (inline) or give it to the queue."""
    if _inline():
        run(job_id)
        db.session.expire_all()
    else:
        _dispatch(current_app._get_current_object(), job_id)  # type: ignore[attr-defined]


def _dispatch(app: Flask, job_id: int) -> None:
    """Hand a recorded job to the Redis queue, or to this process's worker thread."""
    if app.config.get("REDIS_URL"):
        _rq_queue(app).enqueue("app.jobs.rq_entry", job_id, job_timeout=app.config.get("JOBS_TIMEOUT", 3600))
    else:
        _local_worker(app).put(job_id)


def recover(running_for: float | None = None, requeue: bool = True) -> tuple[int, int]:
    """Jobs a dead process left behind: (queued again, marked failed).

    A job still queued after ``JOBS_REQUEUE_AFTER`` seconds (120) may have been in the memory of a process that
    stopped, so it is handed to a queue again (``run`` claims a job once, so a second copy is a no-op). A job
    running for longer than ``JOBS_TIMEOUT`` (3,600 s, RQ's limit too) has lost its process: it is marked failed with
    a message the progress page shows, and its ``on_abandon`` tidies up. Called after each server process's
    first response, by ``flask worker``, and when a progress page shows a job that has waited too long; ``flask
    setup`` (which ``scripts/serve.sh`` runs before it starts the server) calls it with ``running_for=0`` and
    ``requeue=False`` when jobs run inside the server: nothing can be running while the server is down.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    moment = now()
    cutoff = moment - (_running_limit() if running_for is None else timedelta(seconds=running_for))
    lost = list(db.session.execute(sa.select(Job.id, Job.name, Job.args).where(
        Job.status == "running", Job.started_at < cutoff)))
    for job_id, name, args in lost:
        ended = db.session.execute(sa.update(Job).where(Job.id == job_id, Job.status == "running").values(
            status="failed", finished_at=moment, message=ABANDONED_MESSAGE,
            error="abandoned: its process stopped, or it ran past JOBS_TIMEOUT")).rowcount
        if ended and name in ABANDONED:
            try:
                ABANDONED[name](**(args or {}))
            except Exception:  # noqa: BLE001  the job is failed either way; the tidy-up is logged
                log.exception("tidying up after abandoned job %s failed", job_id)
        db.session.commit()
    if not requeue:
        return 0, len(lost)
    waiting = list(db.session.scalars(sa.select(Job.id).where(
        Job.status == "queued", Job.created_at < moment - _queued_limit())))
    db.session.commit()
    for job_id in waiting:
        if _inline():
            run(job_id)
        else:
            _dispatch(app, job_id)
    return len(waiting), len(lost)


def _queued_limit() -> timedelta:
    return timedelta(seconds=current_app.config.get("JOBS_REQUEUE_AFTER", 120))


def _running_limit() -> timedelta:
    return timedelta(seconds=current_app.config.get("JOBS_TIMEOUT", 3600))


def recover_in_background(app: Flask) -> None:
    """``recover`` in a thread of its own (a server process as it starts: its first page does not wait)."""
    def work() -> None:
        try:
            with app.app_context():
                recover()
                db.session.remove()
        except Exception:  # noqa: BLE001  a database not migrated yet, say: the next start tries again
            log.exception("recovering abandoned jobs failed")

    threading.Thread(target=work, name="crm-jobs-recover", daemon=True).start()


def run_inline(name: str, on_progress: Report | None = None, *, user_id: int | None = None, title: str = "",
               **args: Any) -> Job:
    """Run a job now in this thread (the CLI), mirroring its progress to ``on_progress(done, total, message)``."""
    job = Job(name=name, args=args, title=title, user_id=user_id)
    db.session.add(job)
    db.session.commit()
    run(job.id, on_progress)
    db.session.expire_all()
    return db.session.get(Job, job.id)  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------------- run

class _Reporter:
    """Write progress to the job row on a connection of its own, at most every REPORT_EVERY seconds."""

    def __init__(self, job_id: int, mirror: Report | None):
        self.job_id, self.mirror = job_id, mirror
        self.done, self.total, self.message = 0, 0, ""
        # the first write waits REPORT_EVERY too: a job that ends sooner writes only its outcome (a class's 200
        # exam-learning jobs at the bell would otherwise each take the database's write lock once more)
        self.last = time.monotonic()

    def __call__(self, done: int | None = None, total: int | None = None, message: str | None = None) -> None:
        if total is not None:
            self.total = int(total)
        if done is not None:
            self.done = int(done)
        if message is not None:
            self.message = message[:200]
        if self.mirror:
            self.mirror(self.done, self.total, self.message)
        if time.monotonic() - self.last >= REPORT_EVERY:
            self.flush()

    def flush(self, **extra: Any) -> None:
        self.last = time.monotonic()
        with db.engine.begin() as connection:
            connection.execute(sa.update(Job).where(Job.id == self.job_id).values(
                done=self.done, total=self.total, message=self.message, **extra))


def run(job_id: int, on_progress: Report | None = None) -> None:
    """Run a recorded job in the current application context and record how it ended."""
    # claimed once: a job handed to two queues (see ``recover``) runs in one of them
    claimed = db.session.execute(sa.update(Job).where(Job.id == job_id, Job.status == "queued").values(
        status="running", started_at=now())).rowcount
    db.session.commit()
    job = db.session.get(Job, job_id)
    if job is None or claimed != 1:
        return
    fn = REGISTRY.get(job.name)
    args = dict(job.args or {})
    report = _Reporter(job_id, on_progress)
    try:
        if fn is None:
            raise LookupError(f"no job named {job.name}")
        result = fn(report, **args)
    except Exception as exc:
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, job.name)
        message = exc.args[0] if isinstance(exc, JobError) and exc.args else "任务失败，详情见服务器日志。"
        report.message = str(message)[:200]
        report.flush(status="failed", finished_at=now(), error=traceback.format_exc()[-4000:])
        if on_progress is None and _inline() and not isinstance(exc, JobError):
            raise
        return
    # the outcome is committed with the job's own last writes: one transaction, and a job is "done" exactly when
    # its work is in the database
    report.done = max(report.done, report.total)
    db.session.execute(sa.update(Job).where(Job.id == job_id).values(
        status="done", finished_at=now(), done=report.done, total=report.total, message=report.message,
        result=result if isinstance(result, dict) else {}))
    db.session.commit()
    if on_progress:
        on_progress(report.done, report.total, report.message)
    db.session.expire_all()


class JobError(Exception):
    """A failure whose message (Chinese, for the user) is shown on the progress page."""


# ------------------------------------------------------------------------------------- in-process worker

_workers: dict[int, queue.Queue[int]] = {}
_workers_lock = threading.Lock()


def _local_worker(app: Flask) -> queue.Queue[int]:
    """One worker thread per app in this process, started on first use."""
    with _workers_lock:
        q = _workers.get(id(app))
        if q is None:
            q = queue.Queue()
            _workers[id(app)] = q
            threading.Thread(target=_work, args=(app, q), name="crm-jobs", daemon=True).start()
        return q


def _work(app: Flask, q: queue.Queue[int]) -> None:
    while True:
        job_id = q.get()
        _wait_for_idle(app.config.get("JOBS_IDLE_WAIT", IDLE_WAIT))
        try:
            with app.app_context():
                run(job_id)
                db.session.remove()
        except Exception:  # noqa: BLE001  the worker outlives one bad job; run() has recorded it
            log.exception("job %s crashed the worker loop", job_id)
        finally:
            q.task_done()


# Requests being served by this process right now. The in-process worker lets them finish first: at the bell, 200
# students' submits are answered before their 错题本 updates run, instead of sharing the CPU and the database's write
# lock with them (a busy process still runs its jobs after IDLE_WAIT seconds).
_busy = 0
_last_ended = 0.0  # time.monotonic() when this process's last request ended
_busy_lock = threading.Lock()


_recovered: set[int] = set()  # apps (by id) of this process that have looked for abandoned jobs


def _request_started() -> None:
    global _busy
    with _busy_lock:
        _busy += 1
    g.counted_busy = True


def _recover_once() -> None:
    """Once a process has served its first request, it looks for jobs a stopped process left behind (in a thread
    of its own, after the response: the first page of a cold start does not wait for it)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    with _busy_lock:
        if id(app) in _recovered:
            return
        _recovered.add(id(app))
    if not app.testing:
        recover_in_background(app)


def _request_ended(_exc: BaseException | None) -> None:
    global _busy, _last_ended
    if g.pop("counted_busy", False):
        with _busy_lock:
            _busy -= 1
            _last_ended = time.monotonic()
    _after_request_served(_exc)


def _after_request_served(_exc: BaseException | None) -> None:
    if id(current_app._get_current_object()) not in _recovered:  # type: ignore[attr-defined]
        _recover_once()


def _wait_for_idle(limit: float) -> None:
    """Wait (at most ``limit`` seconds) until no request has been in flight for QUIET_FOR seconds.

    A moment with none in flight is not enough: at the bell, a process serving a class's submits has such moments
    between two requests many times a second, and a job started in one shares the CPU with the submits after it.
    """
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with _busy_lock:
            if _busy == 0 and time.monotonic() - _last_ended >= QUIET_FOR:
                return
        time.sleep(0.02)


def wait(job_id: int, timeout: float = 60.0) -> Job:
    """Poll until a job has finished (tests, the CLI); return its row."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        job = db.session.get(Job, job_id)
        if job is None or job.finished or time.monotonic() > deadline:
            return job  # type: ignore[return-value]
        time.sleep(0.05)


# ------------------------------------------------------------------------------------------------------ RQ

_redis: dict[str, Any] = {}  # one client (with its connection pool) per Redis URL and process


def _rq_queue(app: Flask) -> Any:
    from redis import Redis
    from rq import Queue

    url = app.config["REDIS_URL"]
    with _workers_lock:
        if url not in _redis:
            _redis[url] = Redis.from_url(url)
    return Queue(app.config.get("JOBS_QUEUE", QUEUE_NAME), connection=_redis[url])


def rq_entry(job_id: int) -> None:
    """What an RQ worker runs: the job inside an application context of its own."""
    from flask import has_app_context

    if has_app_context():  # `flask worker` (or a SimpleWorker in tests): the app is there already
        if os.getpid() != _IMPORTED_IN:  # a forked work horse: the parent's pooled connections are not ours
            db.engine.dispose(close=False)
        run(job_id)
        db.session.remove()
        return
    from app import create_app

    app = create_app()
    with app.app_context():
        run(job_id)


# ------------------------------------------------------------------------------------------- pages and CLI

bp = Blueprint("jobs", __name__, url_prefix="/jobs")


def _job_or_404(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None or not (current_user.is_admin or job.user_id == current_user.id):
        abort(404)
    return job


def _job_to_show(job_id: int) -> Job:
    job = _job_or_404(job_id)
    if _overdue(job):
        recover()
        db.session.refresh(job)
    return job


def _overdue(job: Job) -> bool:
    moment = now()
    if job.status == "queued":
        return job.created_at is not None and moment - aware(job.created_at) > _queued_limit()
    return job.status == "running" and job.started_at is not None and moment - aware(job.started_at) > _running_limit()


@bp.route("/<int:job_id>")
@login_required
def show(job_id: int):
    return render_template("jobs/show.html", job=_job_to_show(job_id))


@bp.route("/<int:job_id>.json")
@login_required
def status(job_id: int):
    response = jsonify(_job_to_show(job_id).as_dict())
    response.headers["Cache-Control"] = "no-store"
    return response


@click.command("worker")
@with_appcontext
def worker_command() -> None:
    """Run background jobs from the Redis queue (REDIS_URL) until stopped."""
    from redis import Redis
    from rq import Queue, Worker

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("未设置 REDIS_URL：没有 Redis 时任务在应用进程内运行，不需要单独的 worker。")
    requeued, failed = recover()
    if requeued or failed:
        click.echo(f"遗留任务：重新排队 {requeued} 个，标记为中断 {failed} 个")
    connection = Redis.from_url(url)
    name = current_app.config.get("JOBS_QUEUE", QUEUE_NAME)
    click.echo(f"worker 已启动，队列 {name}({url})")
    Worker([Queue(name, connection=connection)], connection=connection).work()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    if not app.config.get("REDIS_URL"):  # only the in-process worker shares this process's time
        app.before_request(_request_started)
        app.teardown_request(_request_ended)
    else:
        app.teardown_request(_after_request_served)
    app.cli.add_command(worker_command)
