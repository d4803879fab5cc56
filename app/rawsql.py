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

from collections.abc import Callable
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

    def __init__(self, clause: sa.TextClause | sa.TextualSelect):
        self.clause = clause
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, dialect: Any) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _Compiled(self.clause, dialect)  # type: ignore[arg-type]
        return compiled

    def first(self, engine: sa.Engine, values: dict[str, Any]) -> tuple[Any, ...] | None:
        """Run and commit; the first row returned (processed like SQLAlchemy's result), or None."""
        from app.sqlite_writes import QueuedWriterConnection

        compiled = self._for(engine.dialect)
        parameters = compiled.parameters(values)
        for listener in LISTENERS:
            listener(compiled.sql)
        connection = engine.raw_connection()
        dbapi = connection.dbapi_connection
        # one statement is its own transaction: on PostgreSQL in autocommit mode, one round trip instead of two
        autocommit = engine.dialect.name == "postgresql"
        try:
            if compiled.writes and isinstance(dbapi, QueuedWriterConnection):
                dbapi.before_write()
            if autocommit:
                dbapi.autocommit = True  # type: ignore[union-attr]
            cursor = connection.cursor()
            try:
                cursor.execute(compiled.sql, parameters)
                rows = cursor.fetchall() if cursor.description else []
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
                dbapi.autocommit = False  # type: ignore[union-attr]
            connection.close()  # back to the pool
        return compiled.row(rows[0]) if rows else None
