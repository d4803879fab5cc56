"""The few statements on the busiest path, sent straight on the pool's DB-API connection.

An exam's autosave is one statement; through SQLAlchemy's ``Connection`` (a transaction object, an execution
context, a result object) it cost 80 µs of CPU on SQLite against 20 µs on the DB-API cursor, and about 200 µs more
on PostgreSQL (scripts/bench/bench_autosave.py, BENCHMARKS.md). A ``RawStatement`` is still written and typed with
SQLAlchemy: it is compiled once per dialect, and its parameters and results go through the same bind and result
processors SQLAlchemy would apply (JSON, booleans, dates), so the rows it writes are the rows the ORM reads.

What the engine's events would do for a statement is done here too: an SQLite writer takes the writer lock file
first (app/sqlite_writes.py), and ``LISTENERS`` (tests count statements with them) see each statement's SQL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import sqlalchemy as sa

LISTENERS: list[Callable[[str], None]] = []  # called with each statement's SQL before it is sent


class _Compiled:
    def __init__(self, clause: sa.TextClause, dialect: Any):
        compiled = clause.compile(dialect=dialect)
        self.sql = compiled.string
        self.order = list(compiled.positiontup or []) if compiled.positional else None
        self.binds = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.binds[name] = processor
        self.results = []
        for column in clause.selected_columns if isinstance(clause, sa.TextualSelect) else ():
            self.results.append(column.type.dialect_impl(dialect).result_processor(dialect, None))
        self.writes = self.sql.lstrip()[:7].upper().startswith(("INSERT", "UPDATE", "DELETE", "REPLACE"))

    def parameters(self, values: dict[str, Any]) -> Any:
        processed = {name: (self.binds[name](value) if name in self.binds else value) for name, value in values.items()}
        return processed if self.order is None else [processed[name] for name in self.order]

    def row(self, raw: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self.results:  # no typed columns declared: the driver's values
            return tuple(raw)
        return tuple(value if process is None else process(value) for process, value in zip(self.results, raw,
                                                                                             strict=True))


class RawStatement:
    """One statement (a ``text()`` with typed bind parameters and ``.columns()``) run in its own transaction."""

    def __init__(self, clause: sa.TextClause | sa.TextualSelect, **for_dialect: sa.TextClause | sa.TextualSelect | None):
        """``clause``, or for a dialect named in ``for_dialect`` (``postgresql=...``) that dialect's own text."""
        self.clause = clause
        self.for_dialect = {name: text for name, text in for_dialect.items() if text is not None}
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Any) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            clause = self.for_dialect.get(dialect.name, self.clause)
            compiled = self._compiled[dialect.name] = _Compiled(clause, dialect)  # type: ignore[arg-type]
        return compiled

    def first(self, engine: sa.Engine, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run and commit; the first row returned (processed like SQLAlchemy's result), or None."""
        compiled = self._for(engine.dialect)
        rows, _ = self._run(engine, compiled, values, rows=True)
        return compiled.row(rows[0]) if rows else None

    def write(self, engine: sa.Engine, values: dict[str, Any]) -> int:
        """Run a statement that returns no rows as its own transaction; the number of rows it changed.

        On SQLite it runs in autocommit mode, so the database's write lock is taken and released inside the one
        call that runs it, while other threads of the process hold the GIL: it never waits for the interpreter
        while holding the lock (a transaction over several calls did, and a class's autosaves queued behind it).
        """
        _, count = self._run(engine, self._for(engine.dialect), values, rows=False)
        return count

    def _run(self, engine: sa.Engine, compiled: _Compiled, values: dict[str, Any],
             rows: bool) -> tuple[list[Any], int]:
        from app.sqlite_writes import QueuedWriterConnection

        parameters = compiled.parameters(values)
        for listener in LISTENERS:
            listener(compiled.sql)
        connection = engine.raw_connection()
        dbapi: Any = connection.dbapi_connection
        # one statement is its own transaction: on PostgreSQL in autocommit mode (one round trip instead of two);
        # on SQLite too when it returns no rows (see write())
        sqlite = isinstance(dbapi, sqlite3.Connection)
        autocommit = engine.dialect.name == "postgresql" or (sqlite and not rows)
        try:
            if autocommit:
                if sqlite:
                    dbapi.isolation_level = None
                else:
                    dbapi.autocommit = True
            elif compiled.writes and isinstance(dbapi, QueuedWriterConnection):
                dbapi.before_write()
            cursor = connection.cursor()
            try:
                cursor.execute(compiled.sql, parameters)
                found = cursor.fetchall() if rows and cursor.description else []
                count = cursor.rowcount
            finally:
                cursor.close()
            if not autocommit:
                connection.commit()
        except BaseException:
            if not autocommit:
                connection.rollback()
            raise
        finally:
            if autocommit:
                if sqlite:
                    dbapi.isolation_level = ""  # the driver's default (deferred transactions), as SQLAlchemy uses it
                else:
                    dbapi.autocommit = False
            connection.close()  # back to the pool
        return found, count


class RawTransaction:
    """Statements of one transaction on a DB-API connection of the pool, without a session (see ``transaction``)."""

    def __init__(self, dialect: Any, dbapi: Any):
        self.dialect, self.dbapi, self.cursor = dialect, dbapi, dbapi.cursor()
        self.abandoned = False

    def _execute(self, statement: RawStatement, values: dict[str, Any]) -> _Compiled:
        from app.sqlite_writes import QueuedWriterConnection

        compiled = statement._for(self.dialect)
        if compiled.writes and isinstance(self.dbapi, QueuedWriterConnection):
            self.dbapi.before_write()  # SQLite: the writers' queue first, as for every write (app/sqlite_writes.py)
        for listener in LISTENERS:
            listener(compiled.sql)
        self.cursor.execute(compiled.sql, compiled.parameters(values))
        return compiled

    def rows(self, statement: RawStatement, values: dict[str, Any]) -> list[tuple[Any, ...]]:
        """Run a statement and wait for its rows (processed like SQLAlchemy's result)."""
        compiled = self._execute(statement, values)
        return [compiled.row(raw) for raw in self.cursor.fetchall()]

    def send(self, statement: RawStatement, values: dict[str, Any]) -> None:
        """Run a statement whose rows nobody reads; in a PostgreSQL transaction it is only queued: its outcome (an
        error included) arrives with the commit's."""
        self._execute(statement, values)

    def rollback(self) -> None:
        """End the block without writing anything of it."""
        self.abandoned = True


@contextmanager
def transaction(engine: sa.Engine) -> Iterator[RawTransaction]:
    """One transaction straight on a pooled DB-API connection, committed when the block ends (unless it called
    ``rollback()``); an error rolls it back and is raised as SQLAlchemy's.

    On PostgreSQL the block runs in psycopg's pipeline mode: the BEGIN goes with the first statement, what is only
    ``send()``-ed waits in the pipeline, and the COMMIT follows it, so a block that reads once and then writes is two
    round trips. Nothing here keeps an ORM session in step: for the busiest requests only (a submit at the bell).
    """
    connection = engine.raw_connection()
    dbapi: Any = connection.dbapi_connection
    error_class = engine.dialect.loaded_dbapi.Error
    postgresql = engine.dialect.name == "postgresql"
    tx = RawTransaction(engine.dialect, dbapi)
    try:
        try:
            if postgresql:
                with dbapi.pipeline():
                    yield tx
                    if not tx.abandoned:
                        dbapi.execute("COMMIT")  # queued: one Sync for the writes and the commit
            else:
                yield tx
                if not tx.abandoned:
                    connection.commit()
        except error_class as error:  # raised by the driver, not through SQLAlchemy
            raise sa.exc.DBAPIError.instance("", None, error, error_class) from error
    except BaseException:
        with suppress(Exception):  # a broken connection: the pool drops it, the first error says why
            connection.rollback()
        raise
    else:
        if tx.abandoned:
            connection.rollback()
    finally:
        with suppress(Exception):
            tx.cursor.close()
        connection.close()  # back to the pool, out of pipeline mode and out of any transaction


@contextmanager
def commit_together(session: Any) -> Iterator[sa.Connection]:
    """Run the block's statements on the session's connection (yielded) and commit them: on PostgreSQL the statements
    and the COMMIT go to the server together, one round trip instead of one each (psycopg's pipeline mode). The
    server runs them in order, in the same transaction; an error in any of them is raised here, nothing is
    committed, and the session is rolled back.

    Inside the block no statement may return rows (SQLAlchemy would find no result to read: the answers arrive only
    with the COMMIT's): INSERTs with their keys given, UPDATEs, executemany; and nothing may be left for the ORM to
    flush (what was pending before the block is flushed first). The COMMIT is sent on the DB-API connection, inside
    the pipeline; the session's own commit follows once the pipeline is over (it finds the transaction ended and
    sends nothing). It must not come earlier: the session gives its connection back to the pool when it commits, and
    a connection still in pipeline mode in the pool can be closed (a pool over its size closes what comes back) or
    handed to another thread.
    On other databases the statements go one by one, and the session commits.
    """
    session.flush()  # what the ORM holds goes first, on its own: inside the block nothing is left to flush
    connection = session.connection()
    try:
        if connection.dialect.name == "postgresql":
            dbapi: Any = connection.connection.dbapi_connection
            try:
                with dbapi.pipeline():
                    yield connection
                    # queued like the statements: the pipeline's end sends them all with one Sync and reads every
                    # answer in one round trip (the connection's commit() would wait for its own Sync first)
                    dbapi.execute("COMMIT")
            except connection.dialect.loaded_dbapi.Error as error:  # raised by the driver, not through SQLAlchemy
                raise sa.exc.DBAPIError.instance("COMMIT", None, error, connection.dialect.loaded_dbapi.Error) \
                    from error
        else:
            yield connection
    except BaseException:
        # on PostgreSQL the server skipped what followed the error, the COMMIT included: the transaction is still
        # open (aborted) until this rollback
        with suppress(Exception):  # the connection itself broke: the pool has dropped it, and the first error says why
            session.rollback()
        raise
    session.commit()
