"""In-process rate-limit counters without a thread per hit: ``crm-memory://`` for Flask-Limiter.

The ``limits`` library's ``memory://`` storage starts a ``threading.Timer`` whenever its last one has finished, so a
server answering a request every millisecond starts a thread every 10 ms to expire old counters; under gunicorn that
cost an autosave 4.3 ms of its 5.9 ms (scripts/bench/bench_autosave.py, BENCHMARKS.md). Counters of the fixed
windows this app uses already expire when they are read (``MemoryStorage.get``); this storage only sweeps the rest
(keys nobody reads again) in the request that finds the last sweep more than ``SWEEP_EVERY`` seconds old.
Several server processes share limits only through Redis (``RATELIMIT_STORAGE_URI`` / ``REDIS_URL``).
"""

from __future__ import annotations

import threading
import time

from limits.storage import MemoryStorage

SWEEP_EVERY = 1.0


class SweepingMemoryStorage(MemoryStorage):
    STORAGE_SCHEME = ["crm-memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.timer.cancel()  # the first timer the base class started: nothing replaces it
        self._swept = time.monotonic()
        self._sweep_lock = threading.Lock()

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802  (the base class's private hook)
        now = time.monotonic()
        if now - self._swept < SWEEP_EVERY or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._swept = now
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
        finally:
            self._sweep_lock.release()
