"""Analytics of a sandbox from observable data: column queries into numpy, then ``simulations.analytics``.

Per-customer figures (RFM, value tier, inferred stage) are computed once when a sandbox is built and written into
its file as ``customer_metrics`` (the list filters run on it). Everything heavier (Pareto curve, stage volumes,
clusters, basket rules, satisfaction vs repurchase) is kept in an in-process LRU keyed by sandbox id and version
(a reset bumps the version, so stale figures are never served), backed by ``sb_analysis_cache`` rows: the heavy
ones are computed from the in-memory arrays right after a sandbox is stored (``precompute``), so no request and
no other process reads two million orders back to draw a chart.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models.sandbox import Sandbox, SbAnalysisCache
from app.sandbox import store

if TYPE_CHECKING:  # numpy is imported inside the functions: the app starts without it
    import numpy as np

MAX_SANDBOXES = 4
_lock = threading.Lock()
_cache: OrderedDict[tuple[int, int, str], dict[str, Any]] = OrderedDict()

STAGE_ORDER = ("考察期", "形成期", "稳定期", "退化期", "已流失", "潜在客户")  # 潜在客户: never bought (未转化)
TIER_ORDER = ("VIP", "主要", "普通", "小客户")
REPURCHASE_DAYS = 180  # "repurchase": an order within this many days after the survey


def cached(sandbox: Sandbox, name: str, compute: Callable[[], Any], persist: bool = False) -> Any:
    """Return the cached value ``name`` of a sandbox version, computing it on first use.

    ``persist``: also look in / write to ``sb_analysis_cache`` (values of numpy arrays, dicts, lists, numbers).
    """
    # created_at too: SQLite may give a deleted sandbox's id to the next one, and other processes keep caches
    key = (sandbox.id, sandbox.version, str(sandbox.created_at))
    with _lock:
        entry = _cache.get(key)
        if entry is not None:
            _cache.move_to_end(key)
            if name in entry:
                return entry[name]
    value = _load(sandbox.id, sandbox.version, name) if persist else None
    if value is None:
        value = compute()
        if persist:
            _save(sandbox.id, sandbox.version, name, value)
    _remember(key, name, value)
    return value


def _load(sandbox_id: int, version: int, name: str) -> Any:
    blob = db.session.scalar(sa.select(SbAnalysisCache.blob).filter_by(sandbox_id=sandbox_id, version=version,
                                                                        name=name))
    return store.unpack_truth(blob) if blob else None


def _save(sandbox_id: int, version: int, name: str, value: Any) -> None:
    """Store a computed analysis; another process that got there first wins (same value)."""
    try:
        with db.session.begin_nested():
            db.session.add(SbAnalysisCache(sandbox_id=sandbox_id, version=version, name=name,
                                           blob=store.pack_truth(value)))
        db.session.commit()
    except IntegrityError:
        db.session.rollback()


def _remember(key: tuple[int, int, str], name: str, value: Any) -> None:
    with _lock:
        entry = _cache.setdefault(key, {})
        entry[name] = value
        _cache.move_to_end(key)
        while len(_cache) > MAX_SANDBOXES:
            _cache.popitem(last=False)


def forget(sandbox_id: int) -> None:
    with _lock:
        for key in [k for k in _cache if k[0] == sandbox_id]:
            del _cache[key]


def as_of_of(params: dict[str, Any]) -> date:
    return date.fromisoformat(params.get("as_of") or "2026-06-30")


# ------------------------------------------------------------------------------------- per-customer metrics

def _read_orders(sandbox: Sandbox, with_cost: bool = False) -> dict[str, np.ndarray]:
    data = store.columns(sandbox, f"SELECT customer_id, {store.days('ordered_on')} AS day, amount"
                                  + (", cost" if with_cost else "") + " FROM orders")
    data["day"] = store.as_dates(data["day"])
    return data


def _read_customers(sandbox: Sandbox) -> dict[str, np.ndarray]:
    data = store.columns(sandbox, f"SELECT id, {store.days('acquired_on')} AS acquired_on, city, kind, channel "
                                  "FROM customers ORDER BY id")
    data["acquired_on"] = store.as_dates(data["acquired_on"])
    return data


def compute_metrics(customers: dict[str, np.ndarray], orders: dict[str, np.ndarray], as_of: date,
                    months: int, volume: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """RFM (rank_first), value tier (by observed profit) and inferred stage of every customer.

    ``volume``: the customers x months order counts (``monthly_volume``) when the caller has them already.
    """
    import numpy as np

    from simulations.analytics import (
        infer_stage,
        month_index,
        monthly_volume,
        rfm_from_orders,
        rfm_scores,
        value_tiers,
    )

    ids = customers["id"]
    raw = rfm_from_orders(ids, orders["customer_id"], orders["day"], orders["amount"], as_of)
    scores = rfm_scores(raw["recency_days"], raw["frequency"], raw["monetary"])
    pos = np.searchsorted(ids, orders["customer_id"])
    profit = np.bincount(pos, weights=orders["amount"] - orders["cost"], minlength=ids.size)
    days = (orders["day"] - store.epoch()).astype("int64")
    first = np.full(ids.size, np.iinfo(np.int64).max)
    last = np.full(ids.size, np.iinfo(np.int64).min)
    np.minimum.at(first, pos, days)
    np.maximum.at(last, pos, days)
    has = raw["frequency"] > 0
    if volume is None:
        volume = monthly_volume(ids, orders["customer_id"], orders["day"], as_of, months)
    acquired = month_index(customers["acquired_on"], as_of, months)
    stage = infer_stage(volume, acquired)
    return {
        "customer_id": ids,
        "n_orders": raw["frequency"].astype("int64"),
        "revenue": raw["monetary"],
        "profit": np.round(profit, 2),
        "first_order_on": np.where(has, store.epoch() + first.clip(-10**6, 10**6).astype("timedelta64[D]"),
                                   np.datetime64("NaT")),
        "last_order_on": np.where(has, store.epoch() + last.clip(-10**6, 10**6).astype("timedelta64[D]"),
                                  np.datetime64("NaT")),
        "r": scores["r"], "f": scores["f"], "m": scores["m"], "rfm": scores["cell"],
        "tier": value_tiers(profit),
        "stage": stage,
    }


PARALLEL_FROM = 20_000  # customers: from here on the orders are read and reduced in two pieces, on two threads
_workers: ThreadPoolExecutor | None = None


def _worker_pool() -> ThreadPoolExecutor:
    """One thread beside the caller's (the machines this runs on have 2 cores), started on first use."""
    global _workers
    with _lock:
        if _workers is None:
            _workers = ThreadPoolExecutor(max_workers=1, thread_name_prefix="metrics")
        return _workers


def metrics_from_store(sandbox: Sandbox, pieces: int | None = None) -> dict[str, np.ndarray]:
    """The per-customer figures computed again from the raw orders in the sandbox's file (the fast path the
    benchmark measures).

    The customers are cut into ``pieces`` ranges of ids (two from ``PARALLEL_FROM`` customers on, else one); each
    range's orders are read through Arrow and reduced per customer (``_piece``) on a thread of its own, the
    caller's for the first: DuckDB and numpy release the GIL, so two ranges take both cores. Every figure of a
    customer comes from that customer's orders alone, so the pieces give the same arrays as one. Scores and tiers,
    which rank all customers, come after (the tiers on the other thread while the scores are computed).
    """
    import numpy as np

    from simulations.analytics import quintile_scores, rfm_cells, value_tiers

    as_of, months = as_of_of(sandbox.params), int(sandbox.params.get("months") or 24)
    path = store.file_of(sandbox)
    # customers in the file's order, which is by id (checked; DuckDB's ORDER BY took 2 of 3 ms)
    customers_ = store.arrays(path, "SELECT id, acquired_on FROM customers")
    ids, acquired_on = customers_["id"].astype("int64", copy=False), customers_["acquired_on"]
    distinct = True  # ids ascend strictly
    if ids.size and bool(np.any(ids[1:] <= ids[:-1])):
        by_id = np.argsort(ids, kind="stable")
        ids, acquired_on = ids[by_id], acquired_on[by_id]
        distinct = bool(np.all(ids[1:] > ids[:-1]))
    n = ids.size
    if pieces is None:
        pieces = 2 if n >= PARALLEL_FROM else 1
    pieces = max(1, min(int(pieces), n))
    cuts = [n * k // pieces for k in range(pieces + 1)]  # customer positions: piece k is cuts[k]..cuts[k+1]-1
    window = _Window(as_of, months, dense=distinct and n > 0 and ids[0] == 1 and ids[-1] == n,  # ids 1..n
                     wide=n > 0 and int(ids[-1]) >= 2**31)
    jobs = []
    for k in range(pieces):
        # orders of the ids after the previous piece's last, up to this piece's last (the first and the last
        # piece take any orders outside the customers' ids, as one piece would)
        low = [int(ids[cuts[k] - 1])] if k > 0 else []
        high = [int(ids[cuts[k + 1] - 1])] if k < pieces - 1 else []
        where = " AND ".join(["customer_id > ?"] * len(low) + ["customer_id <= ?"] * len(high))
        jobs.append((path, where, low + high, ids[cuts[k]:cuts[k + 1]], acquired_on[cuts[k]:cuts[k + 1]], window))
    others = [_worker_pool().submit(_piece, *job) for job in jobs[1:]]
    parts = [_piece(*jobs[0])] + [future.result() for future in others]
    got = parts[0] if pieces == 1 else {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}

    def m_and_tiers() -> tuple[np.ndarray, np.ndarray]:
        # monetary in whole cents: the same order and ties (it is rounded to cents), ranked without a float sort
        return quintile_scores(got["cents"]), value_tiers(got["profit"])

    # the M score and the tiers on the worker while R and F are scored here (one piece: all here)
    other = _worker_pool().submit(m_and_tiers) if pieces > 1 else None
    r, f = quintile_scores(got["recency"], higher_is_better=False), quintile_scores(got["frequency_float"])
    m, tiers = other.result() if other is not None else m_and_tiers()
    return {"customer_id": ids, "n_orders": got["frequency"], "revenue": got["monetary"],
            "profit": got["profit_cents"], "first_order_on": got["first_order_on"],
            "last_order_on": got["last_order_on"], "r": r, "f": f, "m": m, "rfm": rfm_cells(r, f, m),
            "tier": tiers, "stage": got["stage"]}


class _Window:
    """The history window of ``metrics_from_store``: as_of and the first day as day numbers, and each day's month."""

    def __init__(self, as_of: date, months: int, dense: bool, wide: bool):
        import numpy as np

        self.as_of, self.months, self.dense, self.wide = as_of, months, dense, wide
        self.as_of_day = int((np.datetime64(as_of, "D") - store.epoch()).astype("int64"))
        start = np.datetime64(as_of, "M") - np.timedelta64(months - 1, "M")
        self.start_day = int((start.astype("datetime64[D]") - store.epoch()).astype("int64"))
        # month 0 = the oldest of the window, for each day of the window
        self.month_of_day = (np.arange(self.start_day, self.as_of_day + 1).astype("datetime64[D]")
                             .astype("datetime64[M]") - start).astype("int64")


def _piece(path: Any, where: str, params: list[int], ids: np.ndarray, acquired_on: np.ndarray,
           window: _Window) -> dict[str, np.ndarray]:
    """Count, sums, first and last day, recency and stage of the customers ``ids`` (ascending, acquired on the
    day numbers ``acquired_on``) from their orders.

    The orders come in the file's order: by customer, and by id (so by date) within a customer. Count and sums are
    segment reductions between the places where the customer changes, first and last day the segments' ends (when
    the days ascend within each customer, as they do); the stage comes from one (customer, month) cell per order
    (``infer_stage_from_cells``). Rows that are not in customer order (another writer) are sorted first.
    """
    import numpy as np

    from simulations.analytics import infer_stage_from_cells, month_index

    n, months, as_of_day, start_day = ids.size, window.months, window.as_of_day, window.start_day
    # every order, then the few after as_of (if any) dropped in numpy: DuckDB's WHERE on the day took 10 of 28 ms;
    # customer ids as 32-bit integers when they fit (less to copy out of Arrow)
    orders = store.arrays(path, f"SELECT customer_id::{'BIGINT' if window.wide else 'INTEGER'} AS customer_id, "
                                "ordered_on, amount, cost FROM orders" + (f" WHERE {where}" if where else ""), params)
    who, day = orders["customer_id"], orders["ordered_on"]  # day numbers (int32)
    amount, cost = orders["amount"], orders["cost"]
    if who.size and int(day.max()) > as_of_day:
        keep = day <= as_of_day
        who, day, amount, cost = who[keep], day[keep], amount[keep], cost[keep]
    ascending = True  # orders by customer, then by day (the cells below ascend)
    for _ in range(2):
        change = who[1:] != who[:-1]
        starts = np.concatenate(([0], np.flatnonzero(change) + 1)) if who.size else np.zeros(0, "int64")
        # the ids ascend when the runs of equal ids do (one look per customer, not per order)
        if not bool(np.any(who[starts[1:]] < who[starts[:-1]])):
            break
        order = np.argsort(who, kind="stable")
        who, day, amount, cost = who[order], day[order], amount[order], cost[order]
    ends = np.append(starts[1:], who.size)
    # ids first..first+n-1 (dense): a customer's position is id - first, with no position per order
    first_id = int(ids[0]) if n else 1
    index = None if window.dense else np.searchsorted(ids, who)
    pos = who[starts] - first_id if index is None else index[starts]
    has = np.zeros(n, dtype=bool)
    has[pos] = True
    frequency = np.zeros(n, dtype="int64")
    monetary, profit = np.zeros(n), np.zeros(n)
    first, last = np.zeros(n, dtype="int64"), np.zeros(n, dtype="int64")
    if who.size:
        frequency[pos] = ends - starts
        monetary[pos] = np.round(np.add.reduceat(amount, starts), 2)
        profit[pos] = np.add.reduceat(amount - cost, starts)
        # days ascend within each customer: every step back is a change of customer
        ascending = bool(change[np.flatnonzero(day[1:] < day[:-1])].all())
        if ascending:
            first[pos], last[pos] = day[starts], day[ends - 1]
        else:
            first[pos], last[pos] = np.minimum.reduceat(day, starts), np.maximum.reduceat(day, starts)
    # orders per customer and month of the window: one cell per order, position * months + month (the month
    # looked up by day; dense ids: the - first id folded into that table)
    cell_type = np.int32 if (first_id + n) * months < 2**31 else np.int64
    month_of_day = window.month_of_day.astype(cell_type)
    customer = who if index is None else index
    if index is None:
        month_of_day -= cell_type(months * first_id)
    if who.size and int(day.min()) < start_day:  # orders before the window are not counted
        in_window = day >= start_day
        customer, day = customer[in_window], day[in_window]
    cells = customer.astype(cell_type, copy=False) * cell_type(months)
    cells += month_of_day.take(day - np.int32(start_day))  # (take: 2 ms against 3 for indexing)
    acquired = month_index(acquired_on.astype("datetime64[D]"), window.as_of, months)
    stage = infer_stage_from_cells(cells, n, months, acquired, presorted=ascending)
    missing = np.datetime64("NaT")
    return {"frequency": frequency, "frequency_float": frequency.astype(float), "monetary": monetary,
            "cents": np.rint(monetary * 100), "profit": profit, "profit_cents": np.round(profit, 2),
            "first_order_on": np.where(has, store.epoch() + first.astype("timedelta64[D]"), missing),
            "last_order_on": np.where(has, store.epoch() + last.astype("timedelta64[D]"), missing),
            "recency": np.where(has, (as_of_day - last).astype(float), np.inf), "stage": stage}


def customers(sandbox: Sandbox) -> dict[str, np.ndarray]:
    """Per-customer arrays (sorted by id) of the observable metrics plus city/kind/channel/acquisition."""
    import numpy as np

    def load() -> dict[str, np.ndarray]:
        data = _read_customers(sandbox)
        metric = store.columns(sandbox, f"SELECT n_orders, revenue, profit, {store.days('last_order_on')} AS last, "
                                        "r, f, m, rfm, tier, stage FROM customer_metrics ORDER BY customer_id")
        data.update(metric)
        for key in ("n_orders", "r", "f", "m"):
            data[key] = data[key].astype("int64")
        data["last"] = store.as_dates(data["last"])
        as_of = np.datetime64(as_of_of(sandbox.params), "D")
        recency = (as_of - data["last"]).astype("float64")
        # no order: worst recency (a NULL date may not come back as NaT from the file, so look at the count too)
        recency[np.isnat(data["last"]) | (data["n_orders"] == 0)] = np.inf
        data["recency_days"] = recency
        return data

    return cached(sandbox, "customers", load)


def index_of(sandbox: Sandbox, customer_ids: Any) -> np.ndarray:
    import numpy as np

    ids = customers(sandbox)["id"]
    return np.searchsorted(ids, np.asarray(customer_ids, dtype="int64"))


# ------------------------------------------------------------------------------------------------ analyses

def rfm_grid(sandbox: Sandbox) -> dict[str, Any]:
    """Customer counts and revenue on the R x F grid (M averaged), for the heat map and the cell table."""
    import numpy as np

    def compute() -> dict[str, Any]:
        data = customers(sandbox)
        counts = np.zeros((5, 5))
        np.add.at(counts, (5 - data["r"], data["f"] - 1), 1)
        mean_m = np.zeros((5, 5))
        np.add.at(mean_m, (5 - data["r"], data["f"] - 1), data["m"])
        cells, cell_counts = np.unique(data["rfm"], return_counts=True)
        return {"counts": counts, "mean_m": np.divide(mean_m, counts, out=np.zeros_like(mean_m), where=counts > 0),
                "cells": sorted(zip(cells.tolist(), cell_counts.tolist(), strict=True), key=lambda x: -x[1])}

    return cached(sandbox, "rfm_grid", compute)


def pareto_curve(sandbox: Sandbox) -> dict[str, Any]:
    from simulations.analytics import pareto

    return cached(sandbox, "pareto", lambda: pareto(customers(sandbox)["revenue"]))


def tier_summary(sandbox: Sandbox) -> list[dict[str, Any]]:
    def compute() -> list[dict[str, Any]]:
        data = customers(sandbox)
        total = float(data["profit"].sum()) or 1.0
        rows = []
        for tier in TIER_ORDER:
            mask = data["tier"] == tier
            rows.append({"tier": tier, "customers": int(mask.sum()), "profit": float(data["profit"][mask].sum()),
                         "share": float(data["profit"][mask].sum()) / total,
                         "revenue": float(data["revenue"][mask].sum())})
        return rows

    return cached(sandbox, "tiers", compute)


def lifecycle_from(stage: np.ndarray, ids: np.ndarray, orders: dict[str, np.ndarray], as_of: date,
                   months: int, volume: np.ndarray | None = None) -> dict[str, Any]:
    """Stage counts, each stage's mean monthly orders per customer over the history, and the last 3 months.

    ``volume``: ``monthly_volume`` of these ids and orders when the caller has it already.
    """
    import numpy as np

    from simulations.analytics import monthly_volume

    if volume is None:
        volume = monthly_volume(ids, orders["customer_id"], orders["day"], as_of, months)
    counts, curves, recent = {}, {}, {}
    for name in STAGE_ORDER:
        mask = stage == name
        counts[name] = int(mask.sum())
        curves[name] = volume[mask].mean(axis=0) if mask.any() else np.zeros(months)
        recent[name] = float(volume[mask][:, -3:].mean()) if mask.any() else 0.0
    return {"counts": counts, "curves": curves, "recent": recent}


def lifecycle(sandbox: Sandbox) -> dict[str, Any]:
    """Stage distribution and the monthly order volume of each stage's customers (the lifecycle curve)."""
    def compute() -> dict[str, Any]:
        data = customers(sandbox)
        return lifecycle_from(data["stage"], data["id"], _read_orders(sandbox), as_of_of(sandbox.params),
                              int(sandbox.params.get("months") or 24))

    return cached(sandbox, "lifecycle", compute, persist=True)


def _recency(d: dict[str, np.ndarray]) -> np.ndarray:
    import numpy as np

    return np.where(np.isfinite(d["recency_days"]), d["recency_days"], np.nan)


def _profit(d: dict[str, np.ndarray]) -> np.ndarray:
    import numpy as np

    return np.maximum(d["profit"], 0.0)


# name -> (label, values per customer, drawn on a log scale)
DIMENSIONS = {
    "recency": ("最近购买距今天数", _recency, False),
    "frequency": ("订单数 F", lambda d: d["n_orders"].astype(float), True),
    "monetary": ("消费金额 M", lambda d: d["revenue"], True),
    "profit": ("贡献利润", _profit, True),
}


def clusters(sandbox: Sandbox, k: int = 4) -> dict[str, Any]:
    """k-means on standardised RFM features (deterministic seed); labels and centroid summaries."""
    import numpy as np

    def compute() -> dict[str, Any]:
        from simulations.analytics import kmeans, rfm_features

        data = customers(sandbox)
        buyers = data["n_orders"] > 0
        x = rfm_features(data["recency_days"][buyers], data["n_orders"][buyers], data["revenue"][buyers])
        labels, _centers = kmeans(x, k, seed=sandbox.seed % (2**32))
        full = np.full(data["id"].size, -1)
        full[buyers] = labels
        summary = []
        for j in range(k):
            mask = full == j
            summary.append({"label": j, "customers": int(mask.sum()),
                            "recency": float(np.nanmean(np.where(mask, data["recency_days"], np.nan)))
                            if mask.any() else 0.0,
                            "frequency": float(data["n_orders"][mask].mean()) if mask.any() else 0.0,
                            "monetary": float(data["revenue"][mask].mean()) if mask.any() else 0.0})
        return {"labels": full, "summary": summary}

    return cached(sandbox, f"clusters{k}", compute)


MAX_RULES = 50


def rules_from(order_ids: np.ndarray, product_ids: np.ndarray, names: dict[int, str], min_support: float,
               min_confidence: float, max_rules: int | None = MAX_RULES) -> dict[str, Any]:
    from simulations.analytics import association_rules

    rules = association_rules(order_ids, product_ids, min_support, min_confidence, max_rules=max_rules)
    for rule in rules:
        rule["antecedent_name"] = names.get(rule["antecedent"], str(rule["antecedent"]))
        rule["consequent_name"] = names.get(rule["consequent"], str(rule["consequent"]))
    return {"rules": rules, "n_orders": distinct_count(order_ids), "min_support": min_support,
            "min_confidence": min_confidence}


def distinct_count(values: np.ndarray) -> int:
    """How many distinct values: changes between neighbours once sorted (order lines come sorted by order id,
    so usually no sort at all; np.unique over 3.4 M ids took 2.3 s, this takes a few hundredths)."""
    import numpy as np

    values = np.asarray(values)
    if values.size == 0:
        return 0
    if np.any(values[1:] < values[:-1]):
        values = np.sort(values)
    return int(1 + np.count_nonzero(values[1:] != values[:-1]))


def _rule_key(min_support: float, min_confidence: float) -> str:
    return f"rules:{min_support:g}:{min_confidence:g}"


def product_names(sandbox: Sandbox) -> dict[int, str]:
    return cached(sandbox, "product_names",
                  lambda: {int(r.id): r.name for r in store.rows(sandbox, "SELECT id, name FROM products ORDER BY id")})


def basket_rules(sandbox: Sandbox, min_support: float = 0.005, min_confidence: float = 0.1) -> dict[str, Any]:
    """Association rules of products bought in the same order, with product names."""
    def compute() -> dict[str, Any]:
        lines = store.columns(sandbox, "SELECT order_id, product_id FROM order_lines ORDER BY id")
        return rules_from(lines["order_id"], lines["product_id"], product_names(sandbox), min_support, min_confidence)

    return cached(sandbox, _rule_key(min_support, min_confidence), compute, persist=True)


def satisfaction_from(surveys: dict[str, np.ndarray], orders: dict[str, np.ndarray], as_of: date) -> dict[str, Any]:
    """Each survey's c = b/a and whether its customer ordered again within REPURCHASE_DAYS after the survey day."""
    import numpy as np

    as_of64 = np.datetime64(as_of, "D")
    order_key = np.lexsort((orders["day"], orders["customer_id"]))
    cust, day = orders["customer_id"][order_key], orders["day"][order_key]
    key_orders = cust.astype("int64") * 1_000_000 + (day - store.epoch()).astype("int64")
    key_surveys = surveys["customer_id"] * 1_000_000 + (surveys["day"] - store.epoch()).astype("int64")
    pos = np.searchsorted(key_orders, key_surveys, side="right")  # the first order strictly after the survey day
    has_next = pos < key_orders.size
    at = np.minimum(pos, max(cust.size - 1, 0))
    if cust.size:
        gap = (day[at] - surveys["day"]).astype("int64")
        repurchased = has_next & (cust[at] == surveys["customer_id"]) & (gap <= REPURCHASE_DAYS)
    else:
        repurchased = np.zeros(key_surveys.size, dtype=bool)
    observable = (as_of64 - surveys["day"]).astype("int64") >= REPURCHASE_DAYS  # the whole window was observed
    c = np.round(surveys["perception_b"] / surveys["expectation_a"], 3)
    return {**surveys, "c": c, "repurchased": repurchased, "observable": observable}


def _read_surveys(sandbox: Sandbox) -> dict[str, np.ndarray]:
    data = store.columns(sandbox, f"SELECT id, customer_id, {store.days('surveyed_on')} AS day, expectation_a, "
                                  "perception_b, satisfaction_c FROM surveys ORDER BY id")
    data["day"] = store.as_dates(data["day"])
    return data


def satisfaction(sandbox: Sandbox) -> dict[str, Any]:
    def compute() -> dict[str, Any]:
        return satisfaction_from(_read_surveys(sandbox), _read_orders(sandbox), as_of_of(sandbox.params))

    return cached(sandbox, "satisfaction", compute, persist=True)


DEFAULT_RULES = ((0.005, 0.1), (0.01, 0.1), (0.005, 0.2), (0.01, 0.2))


def precompute(sandbox: Sandbox, tables: dict[str, dict[str, Any]], metrics: dict[str, np.ndarray] | None = None,
               volume: np.ndarray | None = None) -> None:
    """Compute the heavy analyses from the generated arrays and persist them (no read-back of the orders).

    ``metrics`` (``compute_metrics``) and ``volume`` (``monthly_volume``), when given, are the very arrays the
    sandbox's file gets (or has) as ``customer_metrics``; without them the stages are read from the file.
    """
    import numpy as np

    o, lines, s = tables["orders"], tables["order_lines"], tables["surveys"]
    orders = {"customer_id": np.asarray(o["customer_id"], dtype="int64"),
              "day": np.asarray(o["ordered_on"], dtype="datetime64[D]")}
    if metrics is None:
        data = customers(sandbox)  # from the file's customer_metrics
        stage, ids = data["stage"], data["id"]
    else:
        stage, ids = metrics["stage"], np.asarray(metrics["customer_id"], dtype="int64")
    as_of, months = as_of_of(sandbox.params), int(sandbox.params.get("months") or 24)
    _save(sandbox.id, sandbox.version, "lifecycle", lifecycle_from(stage, ids, orders, as_of, months, volume))
    names = {int(i): str(n) for i, n in zip(tables["products"]["id"], tables["products"]["name"], strict=True)}
    # One mining pass at the lowest thresholds; the stricter threshold pairs are subsets of its rules.
    low_support, low_confidence = min(s for s, _ in DEFAULT_RULES), min(c for _, c in DEFAULT_RULES)
    everything = rules_from(np.asarray(lines["order_id"]), np.asarray(lines["product_id"]), names, low_support,
                            low_confidence, max_rules=None)
    for support, confidence in DEFAULT_RULES:
        kept = [r for r in everything["rules"]  # the same comparisons association_rules makes
                if r["count"] >= support * everything["n_orders"] and r["confidence"] >= confidence]
        _save(sandbox.id, sandbox.version, _rule_key(support, confidence),
              {**everything, "rules": kept[:MAX_RULES], "min_support": support, "min_confidence": confidence})
    surveys = {"id": np.asarray(s["id"], dtype="int64"), "customer_id": np.asarray(s["customer_id"], dtype="int64"),
               "day": np.asarray(s["surveyed_on"], dtype="datetime64[D]"),
               "expectation_a": np.asarray(s["expectation_a"], dtype="float64"),
               "perception_b": np.asarray(s["perception_b"], dtype="float64"),
               "satisfaction_c": np.asarray(s["satisfaction_c"], dtype="float64")}
    _save(sandbox.id, sandbox.version, "satisfaction", satisfaction_from(surveys, orders, as_of))


def satisfaction_bins(sandbox: Sandbox) -> list[dict[str, Any]]:
    data = satisfaction(sandbox)
    mask = data["observable"]
    bins = [("c < 0.8", 0, 0.8), ("0.8 ≤ c < 1", 0.8, 1.0), ("1 ≤ c < 1.2", 1.0, 1.2), ("c ≥ 1.2", 1.2, 99)]
    rows = []
    for label, lo, hi in bins:
        sel = mask & (data["c"] >= lo) & (data["c"] < hi)
        rows.append({"label": label, "surveys": int(sel.sum()),
                     "rate": float(data["repurchased"][sel].mean()) if sel.any() else None})
    return rows


def tickets(sandbox: Sandbox) -> dict[str, np.ndarray]:

    def load() -> dict[str, np.ndarray]:
        data = store.columns(sandbox, f"SELECT id, customer_id, {store.days('opened_on')} AS day, status, "
                                      "CAST(satisfied_with_handling AS DOUBLE) AS satisfied_with_handling "
                                      "FROM tickets ORDER BY id")
        data["day"] = store.as_dates(data["day"])
        return data

    return cached(sandbox, "tickets", load)


class View:
    """The observable analytics of one sandbox, as exercise checkers and pages use them."""

    def __init__(self, sandbox: Sandbox):
        self.sandbox = sandbox
        self.as_of = as_of_of(sandbox.params)
        self.months = int(sandbox.params.get("months") or 24)

    @property
    def customers(self) -> dict[str, np.ndarray]:
        return customers(self.sandbox)

    def index(self, customer_ids: Any) -> np.ndarray:
        return index_of(self.sandbox, customer_ids)

    def pareto(self) -> dict[str, Any]:
        return pareto_curve(self.sandbox)

    def rules(self, min_support: float = 0.005, min_confidence: float = 0.1) -> dict[str, Any]:
        return basket_rules(self.sandbox, min_support, min_confidence)

    def satisfaction(self) -> dict[str, Any]:
        return satisfaction(self.sandbox)

    def tickets(self) -> dict[str, np.ndarray]:
        return tickets(self.sandbox)

    def profit_between(self, customer_id: int, start: date, end: date) -> float:
        """A customer's profit (amount − cost) from orders with start < ordered_on <= end (a SUM in SQL)."""
        value = store.scalar(self.sandbox, "SELECT coalesce(sum(amount - cost), 0) FROM orders WHERE customer_id = ? "
                                           "AND ordered_on > ? AND ordered_on <= ?", [customer_id, start, end])
        return round(float(value or 0.0), 2)
