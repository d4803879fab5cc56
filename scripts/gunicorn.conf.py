"""gunicorn settings for `sh scripts/serve.sh` and the Procfile (bind, workers and threads come from the command line)."""

import os

# gthread workers: a student's autosave waits on the database, not the CPU, so threads keep the CPU busy.
worker_class = "gthread"
# Each worker builds the app itself (no preload): background job threads and database pools are per process.
preload_app = False
timeout = 60
graceful_timeout = 20
keepalive = 5
# Access log off by default (a class at the bell writes thousands of lines); errors go to stderr.
accesslog = None
errorlog = "-"
loglevel = "info"
# Behind nginx or another proxy, X-Forwarded-* are trusted only from localhost unless FORWARDED_ALLOW_IPS names the
# proxy's address (docs/deploy.md).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


_preloading = []


def _preload_jieba() -> None:
    import threading

    if _preloading:
        return
    _preloading.append(True)
    from app.keypoints import preload

    threading.Thread(target=preload, name="jieba-preload", daemon=True).start()


def post_fork(server, worker):
    """No cyclic garbage collection while the worker imports and builds the app (see post_worker_init)."""
    import gc

    gc.disable()


def post_worker_init(worker):
    """Load jieba's dictionary (0.8 s of CPU) in the background soon after each worker starts, not on a student's
    first answer: once the worker has answered its first request (so that request does not share the CPU with
    it: it made the cold start 0.4 s slower), or after two seconds without one.

    The app's start-up allocates about 150,000 objects the collector tracks, nearly all for the life of the process
    (modules, classes, functions, SQLAlchemy's constructs): the collector walked them again and again while they
    were being made (0.05-0.1 s of the cold start) and would keep walking them in every full collection while
    serving. So collection is off while the app
    is built (post_fork), then those objects move to the permanent generation and it is on again, for everything
    allocated from here on: `gc.disable()` early, `gc.freeze()`, `gc.enable()`, the sequence the `gc`
    documentation gives for forking servers. (The cyclic garbage of the start-up, about 600 objects, stays, once per
    worker.)"""
    import gc
    import threading

    gc.freeze()
    gc.enable()
    threading.Timer(2.0, _preload_jieba).start()


def post_request(worker, req, environ, resp):
    _preload_jieba()
