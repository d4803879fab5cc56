"""Benchmark: build a sandbox into its DuckDB file and browse it, against Parquet files and SQLite in the same run.

Builds the company through the app's own path (generate, per-customer metrics, the DuckDB file, the precomputed
analyses), then times the customer list (filters, sorts, paging) and the 360° page through the Flask test client,
and deleting the sandbox. References, measured on the same generated rows in the same run: the same tables as
Parquet files (pyarrow, zstd) queried through DuckDB, and SQLite with a bare executemany of every row plus the
list indexes (what the sandbox did before; skipped with --quick).

    .venv/bin/python scripts/bench/bench_sandbox_store.py --customers 100000
"""

from __future__ import annotations

import sqlite3
import time
from datetime import date
from pathlib import Path

from _sandbox import arguments, built_sandbox, header, median_ms, peak_mb, row, scratch_app, timed


def parquet_reference(tables: dict, directory: Path) -> tuple[float, float, float]:
    """Write the tables as Parquet; time the 360° queries through DuckDB over the files; return (write, 360, list)."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from app.sandbox.store import _arrow_column

    started = time.perf_counter()
    for name, columns in tables.items():
        pq.write_table(pa.table({k: _arrow_column(v) for k, v in columns.items()}), directory / f"{name}.parquet",
                       compression="zstd")
    write = time.perf_counter() - started
    con = duckdb.connect()
    src = {name: f"read_parquet('{directory / name}.parquet')" for name in tables}
    customer = int(tables["orders"]["customer_id"][len(tables["orders"]["customer_id"]) // 2])

    def three60():
        con.execute(f"SELECT * FROM {src['customers']} c LEFT JOIN {src['customer_metrics']} m "
                    f"ON m.customer_id = c.id WHERE c.id = ?", [customer]).fetchall()
        orders = con.execute(f"SELECT * FROM {src['orders']} WHERE customer_id = ? ORDER BY ordered_on DESC LIMIT 20",
                             [customer]).fetchall()
        con.execute(f"SELECT * FROM {src['order_lines']} WHERE order_id IN (SELECT unnest(?::BIGINT[]))",
                    [[o[0] for o in orders]]).fetchall()
        for name in ("interactions", "tickets", "surveys"):
            con.execute(f"SELECT * FROM {src[name]} WHERE customer_id = ?", [customer]).fetchall()

    def listing():
        con.execute(f"SELECT c.id, c.name FROM {src['customers']} c LEFT JOIN {src['customer_metrics']} m "
                    f"ON m.customer_id = c.id WHERE m.tier = 'VIP' ORDER BY m.revenue DESC, c.id LIMIT 20 OFFSET 20"
                    ).fetchall()

    return write, median_ms(three60), median_ms(listing)


def sqlite_reference(tables: dict, path: Path) -> float:
    """A bare executemany of every row into SQLite (WAL) plus the list indexes: the old storage's floor."""
    started = time.perf_counter()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    for name, columns in tables.items():
        keys = list(columns)
        con.execute(f"CREATE TABLE {name} ({', '.join(keys)})")
        lists = []
        for key in keys:
            values = columns[key]
            kind = values.dtype.kind
            lists.append(values.astype(str).tolist() if kind == "M" else values.tolist())
        con.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(keys))})", zip(*lists, strict=True))
        con.commit()
    for name, column in (("orders", "customer_id"), ("order_lines", "order_id"), ("interactions", "customer_id"),
                         ("tickets", "customer_id"), ("surveys", "customer_id"), ("customers", "city")):
        con.execute(f"CREATE INDEX ix_{name}_{column} ON {name} ({column})")
    con.execute("ANALYZE")
    con.commit()
    con.close()
    return time.perf_counter() - started


def main() -> None:
    args = arguments(__doc__, quick=True)
    header("sandbox storage")
    app, tmp = scratch_app()
    from app.extensions import db
    from app.models import User
    from app.models.sandbox import Sandbox
    from app.sandbox import services as svc
    from app.sandbox import store

    with app.app_context():
        marks: list[tuple[float, int]] = []
        started = time.perf_counter()
        sandbox, ready = timed(lambda: built_sandbox(args, lambda done, total, message: marks.append(
            (time.perf_counter() - started, done))))
        peak = peak_mb()
        step = {done: at for at, done in marks}  # the last report of each step
        counts = sandbox.counts
        print(f"  {counts['customers']:,} customers, {counts['orders']:,} orders, {counts['order_lines']:,} lines, "
              f"{sum(counts.values()):,} rows; file {store.path_of(sandbox.id, sandbox.version).stat().st_size / 1e6:.0f} MB")
        row("generated and stored, ready to browse (goal <= 10 s)", f"{ready:.1f} s")
        generated = min(a for a, d in marks if d >= 3)
        writing = min(a for a, d in marks if d >= 5)
        write_seconds = step.get(12, ready) - writing
        row("  of which: generate (simulations)", f"{generated:.1f} s")
        row("  of which: metrics, hash, truth, precomputed analyses", f"{writing - generated:.1f} s")
        row("  of which: write the DuckDB file", f"{write_seconds:.1f} s")
        row("peak memory of the build (goal < 1 GB)", f"{peak:.0f} MB")
        user = User(username="bench", role="admin", display_name="bench")
        user.set_password("bench123")
        db.session.add(user)
        db.session.commit()
        sandbox_id = sandbox.id

    client = app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    client.post("/auth/login", data={"username": "bench", "password": "bench123"})
    base = f"/sandbox/{sandbox_id}/customers"
    with app.app_context():
        city = store.scalar(db.session.get(Sandbox, sandbox_id), "SELECT city FROM customers WHERE id = 1")
        busy = store.scalar(db.session.get(Sandbox, sandbox_id), "SELECT customer_id FROM customer_metrics "
                                                                  "ORDER BY n_orders DESC LIMIT 1")

    def get(url, **query):
        response = client.get(url, query_string=query)
        assert response.status_code == 200, (url, response.status_code)

    pages = {
        "customer list, first page": lambda: get(base),
        "list: city filter, sort by revenue, page 50": lambda: get(base, city=city, sort="-revenue", page=50),
        "list: tier + stage filter, sort by last order": lambda: get(base, tier="VIP", stage="稳定期", sort="-last_order_on"),
        "list: search a phone number fragment": lambda: get(base, q="1380"),
        "list: last page, sort by name": lambda: get(base, sort="name", page=10**6),
        "360° page of a typical customer": lambda: get(f"{base}/{args.customers // 2}"),
        f"360° page of the busiest customer (#{busy})": lambda: get(f"{base}/{busy}"),
    }
    for label, fn in pages.items():
        row(label + " (goal <= 50 ms)", f"{median_ms(fn):.1f} ms")

    from app.sandbox.analysis import metrics_from_store
    from simulations import Params, generate

    company = generate(Params(n_customers=args.customers, months=args.months, as_of=date(2026, 6, 30)), args.seed)
    with app.app_context():
        metrics = metrics_from_store(db.session.get(Sandbox, sandbox_id))
    parquet_dir = Path(tmp.name) / "parquet"
    parquet_dir.mkdir()
    p_write, p_360, p_list = parquet_reference({**company.tables, "customer_metrics": metrics}, parquet_dir)
    row("reference: the same tables as Parquet files, write", f"{p_write:.1f} s", f"DuckDB file {write_seconds:.1f} s",
        f"{p_write / write_seconds:.1f}x the time")
    row("reference: Parquet via DuckDB, 360° queries alone", f"{p_360:.1f} ms")
    row("reference: Parquet via DuckDB, VIP list query alone", f"{p_list:.1f} ms")
    if not args.quick:
        elapsed = sqlite_reference(company.tables, Path(tmp.name) / "reference.sqlite3")
        row("reference: SQLite, bare executemany + indexes", f"{elapsed:.1f} s", f"DuckDB file {write_seconds:.1f} s",
            f"{elapsed / write_seconds:.1f}x the time")
    with app.app_context():
        sandbox = db.session.get(Sandbox, sandbox_id)
        _, seconds = timed(lambda: svc.delete_sandbox(sandbox))
    row("delete the sandbox (goal < 1 s)", f"{seconds * 1000:.0f} ms")
    tmp.cleanup()


if __name__ == "__main__":
    main()
