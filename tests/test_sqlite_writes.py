"""SQLite writers queue on a file lock (app/sqlite_writes.py): they wait for each other without errors and without
SQLite's sleeping retries, a thread never waits for itself, and the lock is released however a transaction ends."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

from app.sqlite_writes import QueuedWriterConnection


def _engine(path, timeout=30.0):
    from app import _queue_sqlite_writers  # the app's listener, registered on every engine

    engine = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": timeout, "factory": QueuedWriterConnection})
    assert sa.event.contains(sa.Engine, "before_cursor_execute", _queue_sqlite_writers)
    # after the app's own settings (busy timeout 30 s): SQLite's wait is cut short, so only the queue can explain
    # a writer that waits longer than ``timeout`` without an error
    sa.event.listen(engine, "connect", lambda dbapi, _record: dbapi.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}"))
    with engine.begin() as conn:
        conn.execute(sa.text("PRAGMA journal_mode=WAL"))
        conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
    return engine


def test_writers_of_several_threads_wait_for_each_other_and_all_land(tmp_path):
    engine = _engine(tmp_path / "db.sqlite3", timeout=0.05)  # SQLite's own wait alone would fail these writers
    holding = threading.Event()
    errors: list[BaseException] = []

    def long_writer():
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO t VALUES (0)"))
            holding.set()
            time.sleep(0.3)  # holds the write lock six times longer than SQLite's busy timeout

    def writer(i):
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO t VALUES (:i)"), {"i": i})
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    first = threading.Thread(target=long_writer)
    first.start()
    holding.wait(5)
    others = [threading.Thread(target=writer, args=(i,)) for i in range(1, 9)]
    started = time.perf_counter()
    for t in others:
        t.start()
    for t in [first, *others]:
        t.join(10)
    assert errors == []
    assert time.perf_counter() - started >= 0.2  # they waited for the first writer
    with engine.connect() as conn:
        assert sorted(conn.execute(sa.text("SELECT x FROM t")).scalars()) == list(range(9))


def test_a_second_connection_of_the_same_thread_does_not_wait_for_itself(tmp_path):
    engine = _engine(tmp_path / "db.sqlite3", timeout=0.2)
    with engine.connect() as first:
        first.execute(sa.text("INSERT INTO t VALUES (1)"))  # holds the file lock and SQLite's write lock
        started = time.perf_counter()
        with pytest.raises(sa.exc.OperationalError, match="locked"), engine.begin() as second:
            second.execute(sa.text("INSERT INTO t VALUES (2)"))
        assert time.perf_counter() - started < 5  # SQLite's busy timeout answered, not a wait forever
        first.commit()
    with engine.begin() as conn:  # released on commit: a new writer gets in at once
        conn.execute(sa.text("INSERT INTO t VALUES (3)"))
        assert sorted(conn.execute(sa.text("SELECT x FROM t")).scalars()) == [1, 3]


def test_the_lock_is_released_on_rollback_and_close(tmp_path):
    path = tmp_path / "db.sqlite3"
    engine = _engine(path, timeout=0.05)
    with engine.connect() as conn:
        conn.execute(sa.text("INSERT INTO t VALUES (1)"))
        conn.rollback()
    raw = sqlite3.connect(path, factory=QueuedWriterConnection, timeout=0.05)
    raw.before_write()
    raw.execute("INSERT INTO t VALUES (2)")
    raw.close()  # closed without commit: SQLite rolls back, the file lock goes with the connection

    def other_thread_writes():
        with engine.begin() as c:
            c.execute(sa.text("INSERT INTO t VALUES (3)"))

    t = threading.Thread(target=other_thread_writes)
    t.start()
    t.join(5)
    assert not t.is_alive()
    with engine.connect() as conn:
        assert list(conn.execute(sa.text("SELECT x FROM t")).scalars()) == [3]


def test_the_apps_sqlite_connections_keep_their_settings(app):
    """The connection class that queues writers must not lose the settings every connection gets: foreign keys,
    WAL, a busy timeout and synchronous=NORMAL (commits without a flush to disk each)."""
    from app.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        with db.engine.connect() as conn:
            assert isinstance(conn.connection.dbapi_connection, QueuedWriterConnection)
            pragma = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                      for name in ("foreign_keys", "journal_mode", "busy_timeout", "synchronous")}
    assert pragma == {"foreign_keys": 1, "journal_mode": "wal", "busy_timeout": 30000, "synchronous": 1}
