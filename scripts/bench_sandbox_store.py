"""Benchmark: generate a company and store it as a sandbox (bulk executemany on SQLite, COPY on PostgreSQL).

Builds a fresh database (SQLite in a temporary directory by default, or the PostgreSQL database named by
--database-url, where it creates and drops a scratch database), then times each phase: generating the company,
writing the generated tables, packing the hidden truth, computing and writing the per-customer metrics, a few
page queries (customer list, 360° page, analytics) and deleting the sandbox.

    .venv/bin/python scripts/bench_sandbox_store.py --customers 100000 --months 24
    .venv/bin/python scripts/bench_sandbox_store.py --customers 100000 \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from app import create_app  # noqa: E402
from app.extensions import db  # noqa: E402


class Timer:
    def __init__(self) -> None:
        self.rows: list[tuple[str, float, str]] = []

    def run(self, label: str, fn, note=lambda result, seconds: ""):
        """Run fn, print and keep its time; ``note(result, seconds)`` adds a remark (row counts, rates)."""
        started = time.perf_counter()
        result = fn()
        seconds = time.perf_counter() - started
        remark = note(result, seconds)
        self.rows.append((label, seconds, remark))
        print(f"  {label:<44} {seconds:8.2f} s  {remark}", flush=True)
        return result


def _scratch_postgres(url: str) -> tuple[str, Callable[[], None]]:
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"crm_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return sa.make_url(url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--scenario", default="default")
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL (default: SQLite in a temp dir)")
    args = parser.parse_args()

    from app.models.sandbox import Sandbox, SandboxTruth
    from app.sandbox import analysis, store
    from app.sandbox import services as svc
    from simulations import Params, generate

    tmp = tempfile.TemporaryDirectory()
    drop = None
    if args.database_url:
        url, drop = _scratch_postgres(args.database_url)
    else:
        url = f"sqlite:///{Path(tmp.name) / 'bench.sqlite3'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": url})
    command = " ".join(["python", "scripts/bench_sandbox_store.py", *sys.argv[1:]])
    print(f"command: {command}")
    print(f"machine: {platform.platform()}, Python {platform.python_version()}, database {url.split(':')[0]}")
    timer = Timer()
    try:
        with app.app_context():
            db.create_all()
            params = Params(n_customers=args.customers, months=args.months, scenario=args.scenario)
            company = timer.run("generate (numpy + Faker)", lambda: generate(params, args.seed),
                                lambda c, _s: ", ".join(f"{k} {len(v['id']):,}" for k, v in c.tables.items()))
            total_rows = sum(len(t["id"]) for t in company.tables.values())
            sandbox = Sandbox(class_id=None, scenario=args.scenario, params=svc.params_dict(params), seed=args.seed,
                              status="building")
            db.session.add(sandbox)
            db.session.commit()
            sqlite = url.startswith("sqlite")

            def write():
                counts = store.store_tables(sandbox.id, company.tables, commit_each_batch=sqlite)
                db.session.commit()
                return counts

            timer.run("store generated tables", write,
                      lambda _c, seconds: f"{total_rows:,} rows, {total_rows / seconds:,.0f} rows/s")

            def truth():
                blob = store.pack_truth(company.truth)
                db.session.add(SandboxTruth(sandbox_id=sandbox.id, blob=blob))
                db.session.commit()
                return blob

            stored = store.row_counts(sandbox.id)
            expected = {k: len(v["id"]) for k, v in company.tables.items()}
            if stored != expected:
                raise SystemExit(f"row counts differ after the store: {stored} != {expected}")
            print("  (row counts checked: every generated row is in the database)")
            timer.run("pack + store hidden truth", truth, lambda b, _s: f"{len(b) / 1e6:.1f} MB compressed")

            def metrics():
                analysis.write_metrics(sandbox.id, sandbox.params, company.tables)
                sandbox.status = "ready"
                db.session.commit()

            timer.run("metrics (RFM, tier, stage) + write", metrics)
            timer.run("precompute analytics (lifecycle, rules...)", lambda: analysis.precompute(sandbox, company.tables))
            timer.run("ANALYZE (PostgreSQL only)", lambda: store.analyze(list(store.DELETE_ORDER)))
            store_total = sum(s for label, s, _ in timer.rows if label != "generate (numpy + Faker)")
            print(f"  {'= stored and ready (without generate)':<44} {store_total:8.2f} s")

            timer.run("page: customer list, filter+sort",
                      lambda: svc.customer_page(sandbox.id, {"tier": "VIP", "city": "上海"}, "-revenue", 2, 20),
                      lambda p, _s: f"{p.total} matches")
            timer.run("page: customer search 'a phone prefix'",
                      lambda: svc.customer_page(sandbox.id, {"q": "138"}, "id", 1, 20), lambda p, _s: f"{p.total} matches")
            from app.models.sandbox import sb_order

            timer.run("page: monthly revenue (GROUP BY)", lambda: db.session.execute(
                sa.select(store.month_expr(sb_order.c.ordered_on), sa.func.sum(sb_order.c.amount))
                .where(sb_order.c.sandbox_id == sandbox.id).group_by(store.month_expr(sb_order.c.ordered_on))).all(),
                lambda r, _s: f"{len(r)} months")
            analysis.forget(sandbox.id)  # as a fresh web process: the in-process cache is empty
            timer.run("analytics: customers (cache table)", lambda: analysis.customers(sandbox))
            timer.run("analytics: lifecycle (cache table)", lambda: analysis.lifecycle(sandbox))
            timer.run("analytics: basket rules (cache table)", lambda: analysis.basket_rules(sandbox),
                      lambda r, _s: f"{len(r['rules'])} rules over {r['n_orders']:,} orders")
            timer.run("analytics: basket rules (from the database)", lambda: analysis.basket_rules(sandbox, 0.02, 0.3),
                      lambda r, _s: f"{len(r['rules'])} rules")
            timer.run("analytics: clusters (k-means, first use)", lambda: analysis.clusters(sandbox))
            timer.run("delete sandbox", lambda: svc.delete_sandbox(sandbox))
    finally:
        with app.app_context():
            db.engine.dispose()
        if drop:
            drop()
        tmp.cleanup()


if __name__ == "__main__":
    main()
