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


def post_worker_init(worker):
    """Load jieba's dictionary (0.8 s) in the background as each worker starts, not on a student's first answer.

    A thread, so the worker answers its first page at once; the dictionary is ready well before anyone submits.
    """
    import threading

    from app.keypoints import preload

    threading.Thread(target=preload, name="jieba-preload", daemon=True).start()
