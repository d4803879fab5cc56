"""SQLite writers queue in the kernel, not in SQLite's sleeping busy handler.

SQLite lets one connection write at a time. A writer that finds the lock taken retries on a timer (1, 2, 5, 10 …
100 ms between tries), and a newcomer can take the lock between two tries of a waiter: at the bell, with 200
students submitting through several server processes, a few submits waited half a second while the lock was free
most of that time. So each SQLite connection of the app takes an exclusive ``flock`` on ``<database>.writers``
before its transaction's first write and releases it when the transaction ends: waiting writers sleep in the kernel
and one of them is woken the moment the lock is free. Readers never take it (WAL: they do not block writers).

A connection waits for the file lock only while it holds no SQLite lock itself, so nothing can deadlock: a
connection already inside a transaction (a write this module did not recognise) goes on without it, and so does a
second connection of a thread that holds the file lock through another one (it would wait for itself); both fall back
to SQLite's busy timeout, as does any other process that writes without the file lock (the sqlite3 shell, a backup).
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from typing import Any

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_holders: set[int] = set()  # threads of this process holding the file lock through one of their connections


class QueuedWriterConnection(sqlite3.Connection):
    """``sqlite3.Connection`` whose transactions hold the database's writer lock file from first write to end."""

    lock_path: str | None = None

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        self._lock_fd: int | None = None
        self._holding = 0  # the thread that holds the file lock through this connection
        path = os.fspath(database) if not isinstance(database, bytes) else database.decode()
        if path and path != ":memory:" and not path.startswith("file:"):
            self.lock_path = path + ".writers"

    def before_write(self) -> None:
        thread = threading.get_ident()
        if self._holding or self.lock_path is None or self.in_transaction or thread in _holders:
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._holding = thread
        _holders.add(thread)

    def _release(self) -> None:
        if self._holding and self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            _holders.discard(self._holding)
        self._holding = 0

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._release()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._release()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def before_cursor_execute(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    """SQLAlchemy ``before_cursor_execute`` listener: take the writer lock before a transaction's first write."""
    dbapi = conn.connection.dbapi_connection
    if isinstance(dbapi, QueuedWriterConnection) and statement.lstrip()[:7].upper().startswith(WRITES):
        dbapi.before_write()
