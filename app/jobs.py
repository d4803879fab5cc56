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
import queue
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import click
import sqlalchemy as sa
from flask import Blueprint, Flask, abort, current_app, jsonify, render_template
from flask.cli import with_appcontext
from flask_login import current_user, login_required

from app.clock import now
from app.extensions import db
from app.models.jobs import Job

log = logging.getLogger(__name__)

Report = Callable[..., None]  # report(done=None, total=None, message=None)
REGISTRY: dict[str, Callable[..., Any]] = {}
QUEUE_NAME = "crm"
REPORT_EVERY = 0.25  # seconds between progress writes (the last report of a job is always written)


def register(name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn(report, **args)`` as the job ``name``."""
    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        REGISTRY[name] = fn
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
    db.session.commit()
    job_id = job.id
    if _inline():
        run(job_id)
    elif current_app.config.get("REDIS_URL"):
        _rq_queue(current_app._get_current_object()).enqueue(  # type: ignore[attr-defined]
            "app.jobs.rq_entry", job_id, job_timeout=current_app.config.get("JOBS_TIMEOUT", 3600))
    else:
        _local_worker(current_app._get_current_object()).put(job_id)  # type: ignore[attr-defined]
    db.session.expire_all()
    return db.session.get(Job, job_id)  # type: ignore[return-value]


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
        self.last = 0.0

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
    job = db.session.get(Job, job_id)
    if job is None or job.status not in ("queued",):
        return
    fn = REGISTRY.get(job.name)
    job.status, job.started_at = "running", now()
    args = dict(job.args or {})
    db.session.commit()
    report = _Reporter(job_id, on_progress)
    try:
        if fn is None:
            raise LookupError(f"no job named {job.name}")
        result = fn(report, **args)
    except Exception as exc:
        db.session.rollback()
        log.exception("job %s (%s) failed", job_id, job.name)
        message = exc.args[0] if isinstance(exc, JobError) and exc.args else "任务失败,详情见服务器日志。"
        report.message = str(message)[:200]
        report.flush(status="failed", finished_at=now(), error=traceback.format_exc()[-4000:])
        if on_progress is None and _inline() and not isinstance(exc, JobError):
            raise
        return
    db.session.commit()
    report.done = max(report.done, report.total)
    report.flush(status="done", finished_at=now(), result=result if isinstance(result, dict) else {})
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
        try:
            with app.app_context():
                run(job_id)
                db.session.remove()
        except Exception:  # noqa: BLE001  the worker outlives one bad job; run() has recorded it
            log.exception("job %s crashed the worker loop", job_id)
        finally:
            q.task_done()


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

def _rq_queue(app: Flask) -> Any:
    from redis import Redis
    from rq import Queue

    return Queue(app.config.get("JOBS_QUEUE", QUEUE_NAME), connection=Redis.from_url(app.config["REDIS_URL"]))


def rq_entry(job_id: int) -> None:
    """What an RQ worker runs: the job inside an application context of its own."""
    from flask import has_app_context

    if has_app_context():  # `flask worker`: the work horse is a fork of the worker, which has the app
        db.engine.dispose(close=False)  # the parent's pooled connections are not this process's to use
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


@bp.route("/<int:job_id>")
@login_required
def show(job_id: int):
    return render_template("jobs/show.html", job=_job_or_404(job_id))


@bp.route("/<int:job_id>.json")
@login_required
def status(job_id: int):
    response = jsonify(_job_or_404(job_id).as_dict())
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
        raise click.ClickException("未设置 REDIS_URL:没有 Redis 时任务在应用进程内运行,不需要单独的 worker。")
    connection = Redis.from_url(url)
    name = current_app.config.get("JOBS_QUEUE", QUEUE_NAME)
    click.echo(f"worker 已启动,队列 {name}({url})")
    Worker([Queue(name, connection=connection)], connection=connection).work()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.cli.add_command(worker_command)
