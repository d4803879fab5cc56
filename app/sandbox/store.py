"""Where a sandbox's generated company lives: one DuckDB file per sandbox version, read-only once written.

A generated company never changes (what students do is stored in SQL as overlays), so its tables are kept the way
analysts keep such data: column-wise, in one DuckDB database file per sandbox version under ``SANDBOX_DATA_DIR``
(default ``instance/sandboxes``). Pages, exercises and exports go through the functions below and never care
where the data lives. Measured against Parquet files per sandbox and against the SQL tables this replaced
(scripts/bench/bench_sandbox_store.py, BENCHMARKS.md): the DuckDB file was the quickest to write and to answer the
360° page, the smallest on disk, and the lowest in peak memory.

- ``write`` builds the file under a temporary name and renames it into place, so a reader never sees half a file;
  deleting a sandbox removes its files (milliseconds).
- Any number of processes open the same file read-only at once. Each process keeps a few connections open
  (keyed by path, inode and modification time, so a rebuilt or deleted file is never served from a stale handle);
  each call works on its own cursor, so threads never share one.
- Dates come back as ``datetime.date`` in rows and as integer day numbers (since 1970-01-01) in numpy columns.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import threading
from collections import OrderedDict, namedtuple
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported inside the functions: the app starts without it
    import numpy as np

Progress = Callable[[str, int], None]  # (table, rows just written)

# The generator's tables, in the order they are written, and the per-customer figures derived from them.
TABLES = ("customers", "products", "orders", "order_lines", "interactions", "tickets", "surveys", "campaigns")
METRICS = "customer_metrics"
# Tables a page reads per customer are stored in customer order, so DuckDB's min/max index of each row group
# skips all but one group (the 360° page of one customer among two million orders).
# (the generator gives every table in id order, so a stable sort by customer keeps ids ascending within a customer;
# it is done in numpy, one column at a time, because a DuckDB ORDER BY of 3.4 M rows took more memory than the rest)
CLUSTER = {"orders", "order_lines", "interactions", "tickets", "surveys"}
MAX_OPEN = 8  # connections kept open per process (LRU)
THREADS = 2  # DuckDB threads per connection (the machines this runs on are small)
MEMORY_LIMIT = "512MB"
WRITE_MEMORY_LIMIT = "192MB"  # written blocks are on disk: the writer need not keep them (peak memory of a build)

_lock = threading.Lock()
_open: OrderedDict[tuple[str, int, int], Any] = OrderedDict()


class MissingData(LookupError):
    """The sandbox's data file is not there (not built yet, deleted, or another machine's disk)."""


# ------------------------------------------------------------------------------------------------- where

def data_dir() -> Path:
    """``SANDBOX_DATA_DIR`` or ``<instance>/sandboxes`` (a shared volume when app processes run on several machines)."""
    from flask import current_app

    configured = current_app.config.get("SANDBOX_DATA_DIR")
    path = Path(configured) if configured else Path(current_app.instance_path) / "sandboxes"
    path.mkdir(parents=True, exist_ok=True)
    return path


def path_of(sandbox_id: int, version: int) -> Path:
    return data_dir() / f"sandbox-{sandbox_id}-v{version}.duckdb"


def _path(sandbox: Any) -> Path:
    return path_of(sandbox.id, sandbox.version)


def file_of(sandbox: Any) -> Path:
    """The sandbox's file, which ``cursor``, ``arrays`` and the other readers also take in place of the sandbox."""
    return _path(sandbox)


def exists(sandbox: Any) -> bool:
    return _path(sandbox).is_file()


# ------------------------------------------------------------------------------------------------- writing

def _arrow_column(values: Any) -> Any:
    """One numpy column as an Arrow array (numbers without a copy; NaN -> NULL, NaT -> NULL)."""
    import numpy as np
    import pyarrow as pa

    array = np.asarray(values)
    if array.dtype.kind == "M":
        return pa.array(array.astype("datetime64[D]", copy=False), type=pa.date32(), from_pandas=True)
    if array.dtype.kind == "f":
        return pa.array(array, from_pandas=True)  # NaN -> NULL
    if array.dtype.kind == "U" and array.dtype.itemsize in (4, 8) and array.size > 10_000:
        # one or two characters (channels, kinds): factorise as integers, convert the few distinct values only
        # (pa.array converts each of two million values one by one: 2.5 s instead of 0.2 s)
        codes = array.view(np.uint32 if array.dtype.itemsize == 4 else np.uint64)
        distinct, inverse = np.unique(codes, return_inverse=True)
        values = pa.array(distinct.view(array.dtype), type=pa.string())
        return pa.DictionaryArray.from_arrays(pa.array(inverse.astype(np.int32).reshape(-1)), values).cast(pa.string())
    if array.dtype.kind in "UO":
        # through Python strings: pa.array of a numpy str array with Chinese text is 10x slower (0.25 s for
        # 100,000 names against 0.02 s); the same strings either way
        return pa.array(array.astype(str).tolist() if array.dtype.kind == "O" else array.tolist(), type=pa.string())
    return pa.array(array)


def write(sandbox_id: int, version: int, tables: dict[str, dict[str, Any]],
          progress: Progress | None = None, derived: dict[str, str] | None = None) -> dict[str, int]:
    """Write every table (name -> numpy columns) into the sandbox version's file; return rows per table.

    ``progress(table, rows)`` is called after each table; ``derived`` (name -> SELECT over the tables) adds tables
    computed from them, such as the customer list with its metrics joined once instead of on every page.
    ``tables`` is emptied as it is written (each table's dict too), so arrays nobody else holds are freed table by
    table instead of all at the end: pass copies of the dicts if you still need them.
    """
    import duckdb
    import numpy as np
    import pyarrow as pa

    final = path_of(sandbox_id, version)
    partial = final.with_name(f"{final.name}.{os.getpid()}-{threading.get_ident()}.partial")
    partial.unlink(missing_ok=True)
    counts: dict[str, int] = {}
    connection = duckdb.connect(str(partial), config={"threads": THREADS, "memory_limit": WRITE_MEMORY_LIMIT})
    try:
        while tables:
            name, columns = next(iter(tables.items()))
            del tables[name]  # the caller's dict lets go of the table: its arrays are freed once written
            order = _cluster_order(np.asarray(columns["customer_id"])) if name in CLUSTER else None
            arrow_columns = {}
            for key in list(columns):
                value = columns.pop(key)
                arrow_columns[key] = _arrow_column(value if order is None else np.asarray(value)[order])
                del value  # one column sorted at a time: the unsorted one goes as soon as its copy is made
            del order, columns
            arrow = pa.table(arrow_columns)
            del arrow_columns
            connection.register("incoming", arrow)
            connection.execute(f'CREATE TABLE "{name}" AS SELECT * FROM incoming')
            connection.unregister("incoming")
            counts[name] = arrow.num_rows
            del arrow
            if progress:
                progress(name, counts[name])
        for name, sql in (derived or {}).items():
            connection.execute(f'CREATE TABLE "{name}" AS {sql}')
        connection.execute("CHECKPOINT")
    finally:
        connection.close()
    os.replace(partial, final)
    return counts


def _cluster_order(customer_id: np.ndarray) -> np.ndarray | None:
    """The stable permutation that puts rows in customer order (None when they already are)."""
    import numpy as np

    if customer_id.size == 0 or not np.any(customer_id[1:] < customer_id[:-1]):
        return None
    return np.argsort(customer_id, kind="stable")


def delete(sandbox_id: int) -> int:
    """Remove every file of a sandbox (all versions, leftovers of an interrupted build); return how many."""
    removed = 0
    for path in data_dir().glob(f"sandbox-{sandbox_id}-v*"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def delete_version(sandbox_id: int, version: int) -> None:
    path_of(sandbox_id, version).unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------------- reading

def _connection(path: Path) -> Any:
    import duckdb

    try:
        stat = path.stat()
    except FileNotFoundError:
        raise MissingData(str(path)) from None
    key = (str(path), stat.st_ino, stat.st_mtime_ns)
    with _lock:
        connection = _open.get(key)
        if connection is not None:
            _open.move_to_end(key)
            return connection
        connection = duckdb.connect(str(path), read_only=True,
                                    config={"threads": THREADS, "memory_limit": MEMORY_LIMIT})
        _open[key] = connection
        while len(_open) > MAX_OPEN:
            _open.popitem(last=False)[1].close()
        return connection


def forget(sandbox_id: int | None = None) -> None:
    """Close this process's connections (to one sandbox's files, or all)."""
    with _lock:
        for key in [k for k in _open if sandbox_id is None or Path(k[0]).name.startswith(f"sandbox-{sandbox_id}-v")]:
            _open.pop(key).close()


@contextmanager
def cursor(sandbox: Any) -> Iterator[Any]:
    """A cursor of its own on the sandbox's file (read-only; one per call, so threads never share one).

    ``sandbox`` may also be the file's path (``file_of``), for threads that have no app context.
    """
    cur = _connection(sandbox if isinstance(sandbox, Path) else _path(sandbox)).cursor()
    try:
        yield cur
    finally:
        cur.close()


_row_types: dict[tuple[str, ...], Any] = {}


def _row_type(names: Sequence[str]) -> Any:
    key = tuple(names)
    if key not in _row_types:
        _row_types[key] = namedtuple("Row", key, rename=True)  # type: ignore[misc]
    return _row_types[key]


def rows(sandbox: Any, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    """The rows of a query as named tuples (``row.name`` as with SQL rows)."""
    with cursor(sandbox) as cur:
        cur.execute(sql, list(params))
        names = [d[0] for d in cur.description]
        make = _row_type(names)
        return [make(*r) for r in cur.fetchall()]


def rows_and_count(sandbox: Any, sql: str, params: Sequence[Any] = ()) -> tuple[list[Any], int | None]:
    """The rows of a query whose last column is a count (``count(*) OVER ()``): the rows without that column,
    and the count (None when there is no row)."""
    with cursor(sandbox) as cur:
        cur.execute(sql, list(params))
        names = [d[0] for d in cur.description][:-1]
        make = _row_type(names)
        fetched = cur.fetchall()
    return [make(*r[:-1]) for r in fetched], (int(fetched[0][-1]) if fetched else None)


def one(sandbox: Any, sql: str, params: Sequence[Any] = ()) -> Any:
    found = rows(sandbox, sql, params)
    return found[0] if found else None


def scalar(sandbox: Any, sql: str, params: Sequence[Any] = ()) -> Any:
    with cursor(sandbox) as cur:
        row = cur.execute(sql, list(params)).fetchone()
        return row[0] if row else None


def columns(sandbox: Any, sql: str, params: Sequence[Any] = ()) -> dict[str, np.ndarray]:
    """The result of a query as numpy columns (strings as ``str`` arrays, NULL numbers as NaN)."""
    import numpy as np

    with cursor(sandbox) as cur:
        result = cur.execute(sql, list(params)).fetchnumpy()
    out = {}
    for name, values in result.items():
        if isinstance(values, np.ma.MaskedArray):
            values = values.filled(np.nan) if values.dtype.kind == "f" else values.filled()
        array = np.asarray(values)
        out[name] = array.astype(str) if array.dtype.kind == "O" else array
    return out


def arrays(sandbox: Any, sql: str, params: Sequence[Any] = ()) -> dict[str, np.ndarray]:
    """The result of a query as numpy columns through Arrow, in the order the query gives its rows.

    For large numeric results: about four times quicker than ``columns`` (2 M orders x 4 columns: 25 ms against
    100 ms); numbers keep their type, dates come as int32 day numbers (since 1970-01-01, as in ``columns``); a NULL
    becomes NaN in a float column and is an error elsewhere (use ``columns`` for such results).
    """
    import pyarrow as pa

    with cursor(sandbox) as cur:
        table = cur.sql(sql, params=list(params)).to_arrow_table(batch_size=1 << 22)
    # one chunk per column (one copy, 4 ms for 2 M orders x 4 columns), then numpy views of it: to_numpy of the
    # row groups' chunks took 8 ms
    table = table.combine_chunks()
    out = {}
    for name in table.column_names:
        column = table.column(name)
        if column.null_count and not pa.types.is_floating(column.type):
            raise ValueError(f"NULL in column {name}: read it with store.columns")
        if pa.types.is_date32(column.type):
            column = column.cast(pa.int32())  # the same 32-bit day numbers, no conversion
        out[name] = column.to_numpy()
    return out


def copy_csv(sandbox: Any, sql: str, target: Path) -> int:
    """Write a query's result as CSV (header, comma, RFC 4180 quoting) at disk speed; return the data rows."""
    with cursor(sandbox) as cur:
        cur.execute(f"COPY ({sql}) TO '{_sql_path(target)}' (HEADER, DELIMITER ',')")
        fetched = cur.fetchone()
    return int(fetched[0]) if fetched else 0


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def row_counts(sandbox: Any) -> dict[str, int]:
    return {name: int(scalar(sandbox, f'SELECT count(*) FROM "{name}"') or 0) for name in TABLES}


def table_digest(sandbox: Any) -> str:
    """A SHA-256 over every generated row in key order (tests prove that student actions change none)."""
    digest = hashlib.sha256()
    with cursor(sandbox) as cur:
        for name in TABLES:
            digest.update(name.encode())
            cur.execute(f'SELECT * FROM "{name}" ORDER BY id')
            while batch := cur.fetchmany(50_000):
                for row in batch:
                    digest.update(repr(tuple(row)).encode("utf-8"))
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------- the truth

def pack_truth(truth: Any) -> bytes:
    """Serialise the hidden truth: numpy arrays into a compressed npz, everything else as JSON beside them."""
    import zipfile

    import numpy as np

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
    members = {"__meta__": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode("utf-8"), dtype=np.uint8),
               **arrays}
    # np.savez_compressed's layout (np.load reads it), at deflate level 1: the truth of 100,000 customers packs
    # in 0.07 s instead of 0.36 s, for 2.5 MB instead of 2.1 MB
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for key, array in members.items():
            with archive.open(f"{key}.npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def unpack_truth(blob: bytes) -> Any:
    """The inverse of pack_truth (dataclasses come back as dicts, dates as ISO strings)."""
    import numpy as np

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


def days(column: str) -> str:
    """SQL: a date column as an integer day number (days since 1970-01-01)."""
    return f"({column} - DATE '1970-01-01')"


def epoch() -> np.datetime64:
    """Day 0 of the stored day numbers, 1970-01-01, as a numpy date."""
    import numpy as np

    return np.datetime64("1970-01-01", "D")


def as_dates(day_numbers: np.ndarray) -> np.ndarray:
    """Day numbers (NaN for missing) as datetime64[D] (NaT for missing)."""
    import numpy as np

    values = np.asarray(day_numbers, dtype="float64")
    missing = np.isnan(values)
    out = epoch() + np.where(missing, 0, values).astype("int64").astype("timedelta64[D]")
    out[missing] = np.datetime64("NaT")
    return out
