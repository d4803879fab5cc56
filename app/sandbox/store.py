"""Bulk storage of a generated company: numpy columns in, rows out in batches (executemany, or COPY on PostgreSQL).

Nothing here builds an ORM object per row. Reads for analytics come back as numpy columns through the DBAPI
cursor; dates travel as ISO strings on the way in and as integer days since 1970-01-01 on the way out.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import sqlalchemy as sa

from app.extensions import db
from app.models.sandbox import DATA_TABLES, SbAnalysisCache, sb_customer_metric

BATCH_ROWS = 100_000
Progress = Callable[[str, int], None]  # (table, rows just written)
EPOCH = np.datetime64("1970-01-01", "D")

# Children first, so foreign keys inside a sandbox never point at a deleted row.
DELETE_ORDER = (sb_customer_metric, *reversed(list(DATA_TABLES.values())))


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _dbapi_connection() -> Any:
    """The DBAPI connection under the session's current transaction."""
    return db.session.connection().connection.dbapi_connection


# ------------------------------------------------------------------------------------------------- writing

def _date_strings(array: np.ndarray) -> np.ndarray:
    """ISO strings (None for NaT) of a datetime64 column; converted once per distinct day (a history has few)."""
    days = array.astype("datetime64[D]")
    unique, inverse = np.unique(days, return_inverse=True)
    text = unique.astype(str).astype(object)
    text[np.isnat(unique)] = None
    return text[inverse.reshape(-1)]


def _python_column(column: sa.Column, values: Any, n: int) -> list[Any]:
    """Convert one numpy column to a list of plain Python values the DBAPI accepts (None for missing)."""
    array = np.asarray(values)
    if array.shape != (n,):
        raise ValueError(f"{column.table.name}.{column.name}: expected {n} values, got shape {array.shape}")
    kind = array.dtype.kind
    if isinstance(column.type, sa.Date):
        if kind == "M":
            return _date_strings(array).tolist()
        if kind in "iu":  # days since 1970-01-01
            return _date_strings(EPOCH + array.astype("int64").astype("timedelta64[D]")).tolist()
        return [None if v is None else str(v)[:10] for v in array.tolist()]
    if kind == "f":
        missing = np.isnan(array)
        if isinstance(column.type, sa.Boolean | sa.Integer):
            out = array.astype(object)
            out[~missing] = array[~missing].astype("int64").astype(bool if isinstance(column.type, sa.Boolean)
                                                                   else int).tolist()
            out[missing] = None
            return out.tolist()
        rounded = np.round(array, 4)
        if missing.any():
            out = rounded.astype(object)
            out[missing] = None
            return out.tolist()
        return rounded.tolist()
    if kind == "b":
        return array.tolist()
    if kind in "iu":
        return array.astype(bool).tolist() if isinstance(column.type, sa.Boolean) else array.tolist()
    if kind == "U":
        return array.tolist()
    return [None if v is None or (isinstance(v, float) and v != v) else v for v in array.tolist()]


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_column(values: list[Any]) -> list[str]:
    """The same values as PostgreSQL COPY text fields (\\N for NULL, t/f, escaped text)."""
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, bool):
        out = ["t" if v else "f" for v in values]
    elif isinstance(sample, float):
        out = list(map(repr, values))
    elif isinstance(sample, int):
        out = list(map(str, values))
    else:
        out = [v if isinstance(v, str) else str(v) for v in values] if sample is not None else list(map(str, values))
        joined = "\x00".join(out)
        if "\\" in joined or "\t" in joined or "\n" in joined or "\r" in joined:
            out = [v.translate(_COPY_ESCAPES) for v in out]
    if sample is None or any(v is None for v in values):
        out = ["\\N" if v is None else text for v, text in zip(values, out, strict=True)]
    return out


def table_columns(table: sa.Table, columns: dict[str, Any], sandbox_id: int) -> tuple[list[str], list[list[Any]], int]:
    """The column names, value lists (sandbox_id first) and row count of one generated table."""
    wanted = [c for c in table.columns if c.name != "sandbox_id"]
    missing = [c.name for c in wanted if c.name not in columns]
    if missing:
        raise KeyError(f"{table.name}: the generator gave no column(s) {', '.join(missing)}")
    key = "id" if "id" in columns else wanted[0].name
    n = len(np.asarray(columns[key]))
    lists = [[sandbox_id] * n] + [_python_column(c, columns[c.name], n) for c in wanted]
    return ["sandbox_id"] + [c.name for c in wanted], lists, n


def _copy(connection: Any, table: sa.Table, names: Sequence[str], lists: list[list[Any]], n: int,
          progress: Progress | None) -> None:
    """COPY rows into a PostgreSQL table over a DBAPI connection, in blocks of text built column-wise."""
    fields = [_copy_column(values) for values in lists]
    command = f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    for start in range(0, n, BATCH_ROWS):
        stop = min(n, start + BATCH_ROWS)
        block = "\n".join(map("\t".join, zip(*(values[start:stop] for values in fields), strict=True)))
        with connection.cursor() as cursor, cursor.copy(command) as copy:
            copy.write((block + "\n").encode("utf-8"))
        if progress:
            progress(table.name, stop - start)


def insert_columns(table: sa.Table, names: Sequence[str], lists: list[list[Any]], n: int,
                   progress: Progress | None = None, commit_each_batch: bool = False) -> int:
    """Write rows in batches: COPY on PostgreSQL, executemany elsewhere (on the session's connection)."""
    if _dialect() == "postgresql":
        _copy(_dbapi_connection(), table, names, lists, n, progress)
        return n
    command = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    for start in range(0, n, BATCH_ROWS):
        stop = min(n, start + BATCH_ROWS)
        cursor = _dbapi_connection().cursor()
        try:
            cursor.executemany(command, zip(*(values[start:stop] for values in lists), strict=True))
        finally:
            cursor.close()
        if progress:
            progress(table.name, stop - start)
        if commit_each_batch:
            # SQLite has one writer: release the lock now and then so students' answers are not held up.
            db.session.commit()
    return n


SQLITE_BULK_CACHE_KIB = 131_072  # random index inserts (orders by customer) stay in memory across batches
# PostgreSQL: the biggest tables are copied on connections of their own, in parallel with the rest (they have no
# foreign keys, see app/models/sandbox.py); the parents of the small tables' foreign keys are committed first.
PARENTS = ("customers", "products", "campaigns")
PARALLEL = ("order_lines", "orders")


def _copy_on_own_connection(engine: sa.Engine, table: sa.Table, columns: dict[str, Any], sandbox_id: int,
                            progress: Progress | None) -> int:
    names, lists, n = table_columns(table, columns, sandbox_id)
    with engine.begin() as connection:  # begin(): the commit at the end reaches the DBAPI connection
        _copy(connection.connection.dbapi_connection, table, names, lists, n, progress)
    return n


def _store_postgresql(sandbox_id: int, tables: dict[str, dict[str, Any]], progress: Progress | None) -> dict[str, int]:
    import threading
    from concurrent.futures import ThreadPoolExecutor

    lock = threading.Lock()

    def report(table: str, rows: int) -> None:
        if progress:
            with lock:
                progress(table, rows)

    counts: dict[str, int] = {}
    for name in PARENTS:
        names, lists, n = table_columns(DATA_TABLES[name], tables[name], sandbox_id)
        counts[name] = insert_columns(DATA_TABLES[name], names, lists, n, report)
    db.session.commit()
    engine = db.engine
    with ThreadPoolExecutor(max_workers=len(PARALLEL)) as pool:
        futures = {name: pool.submit(_copy_on_own_connection, engine, DATA_TABLES[name], tables[name], sandbox_id,
                                     report) for name in PARALLEL}
        for name, table in DATA_TABLES.items():
            if name not in PARENTS and name not in PARALLEL:
                names, lists, n = table_columns(table, tables[name], sandbox_id)
                counts[name] = insert_columns(table, names, lists, n, report)
        db.session.commit()
        for name, future in futures.items():
            counts[name] = future.result()
    return {name: counts[name] for name in DATA_TABLES}


def store_tables(sandbox_id: int, tables: dict[str, dict[str, Any]], progress: Progress | None = None,
                 commit_each_batch: bool = False) -> dict[str, int]:
    """Store every generated table under one sandbox id; return rows written per generator table name."""
    if _dialect() == "postgresql":
        return _store_postgresql(sandbox_id, tables, progress)
    counts = {}
    previous = db.session.connection().exec_driver_sql("PRAGMA cache_size").scalar()
    db.session.connection().exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_BULK_CACHE_KIB}")
    try:
        for name, table in DATA_TABLES.items():
            names, lists, n = table_columns(table, tables[name], sandbox_id)
            counts[name] = insert_columns(table, names, lists, n, progress, commit_each_batch)
            del lists
    finally:  # the pooled connection goes back with the default cache
        db.session.connection().exec_driver_sql(f"PRAGMA cache_size={int(previous)}")
    return counts


def analyze(tables: Sequence[sa.Table]) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL plans the list queries badly without)."""
    if _dialect() == "postgresql":
        db.session.commit()
        for table in tables:
            db.session.execute(sa.text(f"ANALYZE {table.name}"))
        db.session.commit()


def delete_data(sandbox_id: int, progress: Progress | None = None) -> None:
    """Delete a sandbox's generated rows and derived metrics (children first)."""
    for table in DELETE_ORDER:
        db.session.execute(sa.delete(table).where(table.c.sandbox_id == sandbox_id))
        if progress:
            progress(table.name, 0)
    db.session.execute(sa.delete(SbAnalysisCache).where(SbAnalysisCache.sandbox_id == sandbox_id))


def row_counts(sandbox_id: int) -> dict[str, int]:
    out = {}
    for name, table in DATA_TABLES.items():
        out[name] = db.session.scalar(sa.select(sa.func.count()).select_from(table).where(
            table.c.sandbox_id == sandbox_id)) or 0
    return out


# ------------------------------------------------------------------------------------------------- reading

def days_expr(column: sa.ColumnElement) -> sa.ColumnElement:
    """An integer day number (days since 1970-01-01) of a date column, in the current dialect."""
    if _dialect() == "postgresql":
        return sa.cast(column - sa.cast(sa.literal("1970-01-01"), sa.Date), sa.Integer)
    return sa.cast(sa.func.julianday(column) - 2440587.5, sa.Integer)


def _compile(statement: sa.Select) -> tuple[str, Any]:
    compiled = statement.compile(dialect=db.session.get_bind().dialect)
    if _dialect() == "postgresql":
        return str(compiled), compiled.params
    return str(compiled), tuple(compiled.params[name] for name in compiled.positiontup or ())


def read_columns(statement: sa.Select, dtypes: dict[str, str]) -> dict[str, np.ndarray]:
    """Run a select through the DBAPI cursor and return one numpy array per column.

    ``dtypes`` maps each selected label to a numpy dtype, or ``"date"`` for a ``days_expr`` column (returned as
    datetime64[D], NaT for NULL), or ``"str"`` (an object array).
    """
    sql, params = _compile(statement)
    cursor = _dbapi_connection().cursor()
    try:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    names = list(dtypes)
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return {name: _numpy_column(values, dtypes[name]) for name, values in zip(names, columns, strict=True)}


def _numpy_column(values: Sequence[Any], kind: str) -> np.ndarray:
    if kind == "str":
        return np.array(["" if v is None else v for v in values], dtype=str)
    if kind == "date":
        try:
            days = np.array(values, dtype="int64")
        except TypeError:  # NULLs present
            days = np.array([-10**9 if v is None else v for v in values], dtype="int64")
        dates = EPOCH + days.astype("timedelta64[D]")
        dates[days == -10**9] = np.datetime64("NaT")
        return dates
    if kind == "bool":
        return np.array([np.nan if v is None else float(bool(v)) for v in values], dtype=float)
    try:
        return np.array(values, dtype=kind)
    except TypeError:  # NULLs present
        if np.dtype(kind).kind == "f":
            return np.array([np.nan if v is None else v for v in values], dtype=kind)
        raise


def table_digest(sandbox_id: int, tables: Iterable[sa.Table] | None = None) -> str:
    """A SHA-256 over every generated row of a sandbox in key order (tests prove student actions change none)."""
    digest = hashlib.sha256()
    for table in tables or DATA_TABLES.values():
        rows = db.session.execute(sa.select(table).where(table.c.sandbox_id == sandbox_id)
                                  .order_by(table.c.id)).all()
        digest.update(table.name.encode())
        for row in rows:
            digest.update(repr(tuple(row)).encode("utf-8"))
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------- the truth

def pack_truth(truth: Any) -> bytes:
    """Serialise the hidden truth: numpy arrays into a compressed npz, everything else as JSON beside them."""
    arrays: dict[str, np.ndarray] = {}

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, np.ndarray):
            key = f"a{len(arrays)}"
            arrays[key] = value
            return {"__array__": key}
        if isinstance(value, dict):
            return {str(k): walk(v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
        if hasattr(value, "__dataclass_fields__"):
            return {"__dataclass__": type(value).__name__,
                    **{f: walk(getattr(value, f), f"{path}.{f}") for f in value.__dataclass_fields__}}
        if isinstance(value, np.generic):
            return value.item()
        if hasattr(value, "isoformat"):
            return {"__date__": value.isoformat()}
        return value

    meta = walk(truth, "truth")
    buffer = io.BytesIO()
    np.savez_compressed(buffer, __meta__=np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"),
                                                        dtype=np.uint8), **arrays)
    return buffer.getvalue()


def unpack_truth(blob: bytes) -> Any:
    """The inverse of pack_truth (dataclasses come back as dicts, dates as ISO strings)."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(arrays.pop("__meta__").tobytes().decode("utf-8"))

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            if "__array__" in value and len(value) == 1:
                return arrays[value["__array__"]]
            if "__date__" in value and len(value) == 1:
                return value["__date__"]
            return {k: walk(v) for k, v in value.items() if k != "__dataclass__"}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(meta)


def month_expr(column: sa.ColumnElement) -> sa.ColumnElement:
    """'YYYY-MM' of a date column, in the current dialect (GROUP BY month)."""
    if _dialect() == "postgresql":
        return sa.func.to_char(column, sa.literal_column("'YYYY-MM'"))
    return sa.func.strftime(sa.literal_column("'%Y-%m'"), column)
