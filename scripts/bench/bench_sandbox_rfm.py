"""Benchmark: RFM + Pareto + value tiers + lifecycle stages from the raw orders, against pandas in the same run.

Both sides start from the sandbox's stored orders and customers and compute the same figures: the app's fast
path (``analysis.metrics_from_store``: the customers cut into two id ranges whose orders are read through Arrow
in the file's customer order and reduced per customer on two threads, stage included from one (customer, month)
cell per order; then quintiles and tiers; then the Pareto curve) and pandas (the orders read from the same file into a DataFrame, groupby, rank-based
quintiles, a pivot of monthly counts, the same tier and stage functions). The two results are compared cell by
cell. Also: counting distinct order ids in the association-rule precompute, np.unique against
counting changes between neighbours.

    .venv/bin/python scripts/bench/bench_sandbox_rfm.py --customers 100000

``RFM_PIECES=1`` in the environment measures the app's path in one piece (no second thread), to tell what the
second core brings.
"""

from __future__ import annotations

import os
import time

import numpy as np
from _sandbox import arguments, built_sandbox, header, median_ms, row, scratch_app


def pandas_metrics(sandbox, as_of, months):
    """The same figures with pandas (a benchmark-only dependency)."""
    import pandas as pd

    from app.sandbox import store
    from simulations.analytics import infer_stage, pareto, value_tiers

    with store.cursor(sandbox) as cur:
        orders = cur.execute("SELECT customer_id, ordered_on, amount, cost FROM orders").df()
        customers = cur.execute("SELECT id, acquired_on FROM customers ORDER BY id").df()
    orders["ordered_on"] = pd.to_datetime(orders["ordered_on"])
    end = pd.Timestamp(as_of)
    orders = orders[orders["ordered_on"] <= end]
    orders["profit"] = orders["amount"] - orders["cost"]
    per = orders.groupby("customer_id").agg(n=("amount", "size"), revenue=("amount", "sum"),
                                            profit=("profit", "sum"), last=("ordered_on", "max"))
    per = per.reindex(customers["id"])
    frequency = per["n"].fillna(0).to_numpy()
    monetary = per["revenue"].fillna(0).round(2).to_numpy()
    recency = np.where(frequency > 0, (end - per["last"]).dt.days.to_numpy(dtype=float, na_value=np.inf), np.inf)

    def quintile(values, higher_is_better=True):
        ranks = pd.Series(values if higher_is_better else -values).rank(method="first")
        return pd.qcut(ranks, 5, labels=[1, 2, 3, 4, 5]).astype(int).to_numpy()

    r, f, m = quintile(recency, higher_is_better=False), quintile(frequency), quintile(monetary)
    cell = pd.Series(r).astype(str) + pd.Series(f).astype(str) + pd.Series(m).astype(str)
    profit = per["profit"].fillna(0).to_numpy()
    tiers = value_tiers(profit)
    first_month = end.year * 12 + end.month - 1 - (months - 1)  # month numbers, vectorised
    orders["month"] = orders["ordered_on"].dt.year * 12 + orders["ordered_on"].dt.month - 1 - first_month
    window = orders[(orders["month"] >= 0) & (orders["month"] < months)]
    volume = (window.groupby(["customer_id", "month"]).size().unstack(fill_value=0)
              .reindex(index=customers["id"], columns=range(months), fill_value=0).to_numpy())  # integer counts
    acquired_on = pd.to_datetime(customers["acquired_on"])
    acquired = (acquired_on.dt.year * 12 + acquired_on.dt.month - 1 - first_month).to_numpy()
    stage = infer_stage(volume, acquired)
    return {"r": r, "f": f, "m": m, "rfm": cell.to_numpy(), "tier": tiers, "stage": stage,
            "pareto": pareto(monetary)["top20_share"]}


def median_cpu_ms(fn, repeat: int = 7) -> float:
    """The median process time of a call (all threads), after one call to warm up."""
    return median_ms(fn, repeat, clock=time.process_time)


def main() -> None:
    args = arguments(__doc__)
    header("RFM, Pareto, tiers and lifecycle from the raw orders")
    app, tmp = scratch_app()
    from app.extensions import db
    from app.models.sandbox import Sandbox
    from app.sandbox import analysis, store
    from simulations.analytics import pareto

    with app.app_context():
        sandbox = built_sandbox(args)
        sandbox = db.session.get(Sandbox, sandbox.id)
        as_of, months = analysis.as_of_of(sandbox.params), 24

        # (no keyword by default: the same script runs on a branch point without pieces)
        pieces = {"pieces": int(os.environ["RFM_PIECES"])} if os.environ.get("RFM_PIECES") else {}

        def ours():
            metrics = analysis.metrics_from_store(sandbox, **pieces)
            return metrics, pareto(metrics["revenue"])["top20_share"]

        mine, top20 = ours()
        theirs = pandas_metrics(sandbox, as_of, months)
        for key in ("r", "f", "m", "tier", "stage"):
            assert np.array_equal(np.asarray(mine[key]).astype(str), np.asarray(theirs[key]).astype(str)), key
        assert abs(top20 - theirs["pareto"]) < 1e-9
        for _ in range(3):  # alternately, so that both sides see the same load
            fast = median_ms(ours, repeat=5)
            slow = median_ms(lambda: pandas_metrics(sandbox, as_of, months), repeat=5)
            row("DuckDB + numpy (goal <= 1 s, >= 5x pandas)", f"{fast:.0f} ms", f"pandas {slow:.0f} ms",
                f"{slow / fast:.1f}x faster")
        # process time (every thread of the process: ours counts its second thread's work too), alternately: less
        # sensitive than the wall clock to other work on the machine, but blind to what the second core saves
        for _ in range(2):
            fast, slow = median_cpu_ms(ours), median_cpu_ms(lambda: pandas_metrics(sandbox, as_of, months))
            row("  process time per call, both threads", f"{fast:.0f} ms", f"pandas {slow:.0f} ms",
                f"{slow / fast:.1f}x less")
        print(f"  both agree on every customer's R, F, M, tier and stage; top 20 % of customers: {top20:.2%} of revenue")
        ids = store.columns(sandbox, "SELECT order_id FROM order_lines ORDER BY id")["order_id"]
        unique = median_ms(lambda: np.unique(ids).size, repeat=3)
        changes = median_ms(lambda: analysis.distinct_count(ids), repeat=3)
        assert analysis.distinct_count(ids) == np.unique(ids).size
        row(f"distinct orders among {ids.size:,} line ids", f"{changes:.0f} ms", f"np.unique {unique:.0f} ms",
            f"{unique / changes:.0f}x faster")
    tmp.cleanup()


if __name__ == "__main__":
    main()
