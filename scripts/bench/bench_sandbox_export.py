"""Benchmark: export a sandbox (every CSV, the data dictionary and the zip), against Python's csv module.

The export job writes each file with DuckDB's COPY straight from the sandbox's file and zips them. The reference,
in the same run: the orders and order lines written row by row through Python's csv module from the same file
(how the exports were written before), which covers two of the eight files. The figures are checked: the
orders file sums to the company's revenue and has one row per order.

    .venv/bin/python scripts/bench/bench_sandbox_export.py --customers 100000
"""

from __future__ import annotations

import csv
from pathlib import Path

from _sandbox import arguments, built_sandbox, header, row, scratch_app, timed


def python_csv(sandbox, directory: Path) -> int:
    from app.sandbox import store
    from app.sandbox.exports import EXPORTS

    rows = 0
    for name in ("orders", "order_lines"):
        with store.cursor(sandbox) as cur, (directory / f"py_{name}.csv").open("w", encoding="utf-8-sig",
                                                                                newline="") as handle:
            writer = csv.writer(handle, lineterminator="\r\n")
            cur.execute(EXPORTS[name][1])
            writer.writerow([d[0] for d in cur.description])
            while batch := cur.fetchmany(50_000):
                writer.writerows(batch)
                rows += len(batch)
    return rows


def main() -> None:
    args = arguments(__doc__)
    header("sandbox export")
    app, tmp = scratch_app()
    from app.sandbox import store
    from app.sandbox.exports import build_exports, export_dir

    with app.app_context():
        sandbox = built_sandbox(args)
        counts, seconds = timed(lambda: build_exports(sandbox))
        size = sum(p.stat().st_size for p in export_dir(sandbox).iterdir()) / 1e6
        revenue = float(store.scalar(sandbox, "SELECT sum(amount) FROM orders"))
        total, n = 0.0, 0
        with (export_dir(sandbox) / "orders.csv").open(encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            for record in reader:
                total += float(record["amount"])
                n += 1
        assert n == sandbox.counts["orders"] and abs(total - revenue) < 0.01 * n ** 0.5, (n, total, revenue)
        reference, ref_seconds = timed(lambda: python_csv(sandbox, Path(tmp.name)))
        row(f"all files + zip, {sum(counts.values()):,} rows, {size:.0f} MB (goal < 60 s)", f"{seconds:.1f} s",
            f"csv module {ref_seconds:.1f} s", f"for {reference:,} of the rows")
        print(f"  orders.csv: {n:,} rows (one per order), amounts sum to {total:,.2f} = revenue {revenue:,.2f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
