"""Sandbox domain logic on the session: access, creating/resetting/deleting, the customer list, student work."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import abort, current_app

from app.clock import now
from app.extensions import db
from app.models.classes import Membership, SchoolClass, classes_of
from app.models.sandbox import (
    SCENARIOS,
    Sandbox,
    SandboxTruth,
    SbAnalysisCache,
    SbCampaignRun,
    SbCaseRun,
    SbExerciseAttempt,
    SbSegment,
    SbStudentAction,
)
from app.sandbox import store

if TYPE_CHECKING:  # numpy is imported inside the functions: the app starts without it
    import numpy as np

DEFAULT_AS_OF = date(2026, 6, 30)


# ------------------------------------------------------------------------------------------------- access

def can_view(sandbox: Sandbox, user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if sandbox.class_id is None:
        return True  # the standalone demo sandbox
    return sandbox.school_class is not None and sandbox.school_class.can_view(user)


def can_manage(sandbox: Sandbox, user: Any) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if sandbox.class_id is None:
        # the class-less demo sandbox (no creator) is managed by admins only; one an instructor made, by them too
        return user.is_admin or (user.is_instructor and sandbox.created_by_id is not None
                                 and sandbox.created_by_id == user.id)
    return sandbox.school_class is not None and sandbox.school_class.can_manage(user)


def sandbox_or_404(sandbox_id: int, user: Any, manage: bool = False, ready: bool = True) -> Sandbox:
    """The sandbox if the user may see it; 404 for anyone outside its class (its existence is not revealed)."""
    sandbox = db.session.get(Sandbox, sandbox_id)
    if sandbox is None or not can_view(sandbox, user):
        abort(404)
    if manage and not can_manage(sandbox, user):
        abort(403)
    if ready and sandbox.status != "ready":
        abort(404)
    return sandbox


def visible_sandboxes(user: Any) -> list[Sandbox]:
    class_ids = [c.id for c in classes_of(user)]
    query = sa.select(Sandbox).where(sa.or_(Sandbox.class_id.is_(None), Sandbox.class_id.in_(class_ids)))
    return list(db.session.scalars(query.order_by(Sandbox.class_id.is_(None), Sandbox.class_id, Sandbox.id)))


def managed_classes(user: Any) -> list[SchoolClass]:
    return [c for c in classes_of(user) if c.can_manage(user) and not c.archived]


def is_student_in(sandbox: Sandbox, user_id: int) -> bool:
    if sandbox.class_id is None:
        return False
    return db.session.scalar(sa.select(Membership.id).where(
        Membership.class_id == sandbox.class_id, Membership.user_id == user_id)) is not None


# ---------------------------------------------------------------------------------------------- lifecycle

Progress = Callable[[int, int, str], None]  # (done, total, message), as jobs.Report and the CLI bar take it


def make_params(customers: int, months: int, scenario: str, as_of: date | None = None) -> Any:
    from simulations import Params

    if scenario not in SCENARIOS:
        raise ValueError(f"未知情景 {scenario}")
    return Params(n_customers=customers, months=months, as_of=as_of or DEFAULT_AS_OF, scenario=scenario)


def params_dict(params: Any) -> dict[str, Any]:
    from dataclasses import asdict, is_dataclass

    raw = asdict(params) if is_dataclass(params) else dict(vars(params))
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in raw.items()}


def params_from_dict(data: dict[str, Any]) -> Any:
    from simulations import Params

    values = dict(data)
    if isinstance(values.get("as_of"), str):
        values["as_of"] = date.fromisoformat(values["as_of"])
    return Params(**values)


def new_sandbox(*, class_id: int | None, customers: int, months: int, seed: int, scenario: str = "default",
                name: str = "", created_by_id: int | None = None, as_of: date | None = None) -> Sandbox:
    """Record a sandbox to be built (status 'building'); ``build`` (a background job) fills it."""
    params = make_params(customers, months, scenario, as_of)
    sandbox = Sandbox(class_id=class_id, name=name, scenario=scenario, params=params_dict(params), seed=seed,
                      status="building", created_by_id=created_by_id)
    db.session.add(sandbox)
    db.session.commit()
    return sandbox


def create_sandbox(*, class_id: int | None, customers: int, months: int, seed: int, scenario: str = "default",
                   name: str = "", created_by_id: int | None = None, progress: Progress | None = None,
                   as_of: date | None = None) -> Sandbox:
    """Generate a company and store it under a new sandbox, in this thread (committed; 'ready' when done)."""
    sandbox = new_sandbox(class_id=class_id, customers=customers, months=months, seed=seed, scenario=scenario,
                          name=name, created_by_id=created_by_id, as_of=as_of)
    return build(sandbox.id, progress)


BUILD_STEPS = 12  # progress units: generate 3, metrics and analyses 2, the eight tables + metrics 6, the rest 1


def build(sandbox_id: int, progress: Progress | None = None) -> Sandbox:
    """Generate the sandbox's company from its parameters and seed, precompute its analyses, write its file.

    Everything that needs the whole company in memory (its hash, the hidden truth, the per-customer metrics and
    the heavy analyses) is done first; then the tables are written one by one and each is freed once written,
    so the build's peak memory is the generator's, not the generator's plus the file writer's.
    """
    import numpy as np

    from app.sandbox.analysis import compute_metrics, precompute
    from simulations import data_hash, generate
    from simulations.analytics import monthly_volume

    sandbox = db.session.get(Sandbox, sandbox_id)
    if sandbox is None:
        raise LookupError(f"no sandbox {sandbox_id}")
    report = progress or (lambda done, total, message: None)
    params, version = params_from_dict(sandbox.params), sandbox.version
    try:
        report(0, BUILD_STEPS, "正在生成客户、订单与服务记录……")
        company = generate(params, sandbox.seed)
        report(3, BUILD_STEPS, "正在计算每位客户的 RFM、价值层级与生命周期……")
        tables = company.tables
        c, o = tables["customers"], tables["orders"]
        volume = monthly_volume(c["id"], o["customer_id"], o["ordered_on"], params.as_of, params.months)
        metrics = compute_metrics({"id": c["id"], "acquired_on": c["acquired_on"]},
                                  {"customer_id": o["customer_id"], "day": o["ordered_on"], "amount": o["amount"],
                                   "cost": o["cost"]}, params.as_of, params.months, volume=volume)
        hashed = str(data_hash(company))[:64]
        db.session.merge(SandboxTruth(sandbox_id=sandbox_id, blob=store.pack_truth(company.truth)))
        db.session.commit()
        report(4, BUILD_STEPS, "正在预先计算分析页面……")
        precompute(sandbox, tables, metrics=metrics, volume=volume)
        del volume
        written = [5.0]

        def wrote(table: str, rows: int) -> None:
            written[0] += 6 / n_tables
            report(int(written[0]), BUILD_STEPS, f"已写入 {TABLE_LABELS.get(table, table)} {rows:,} 行")

        # order lines carry their order's customer, so the 360° page finds them in one row group of the file
        to_write = {name: dict(columns) for name, columns in tables.items()}
        line_order = to_write["order_lines"]["order_id"]
        row = (line_order - 1 if np.array_equal(o["id"], np.arange(1, o["id"].size + 1))  # ids are 1..n in row order
               else np.searchsorted(o["id"], line_order))
        to_write["order_lines"]["customer_id"] = o["customer_id"][row]
        del line_order, row
        to_write[store.METRICS] = metrics
        n_tables = len(to_write)
        del company, tables, c, o, metrics  # from here on, only to_write holds the arrays: write frees them
        report(5, BUILD_STEPS, "正在写入数据文件……")
        counts = store.write(sandbox_id, version, to_write, wrote, derived={"customer_list": CUSTOMER_LIST})
        counts.pop(store.METRICS, None)
        sandbox.counts = counts
        sandbox.data_hash = hashed
        sandbox.status = "ready"
        sandbox.ready_at = now()
        db.session.commit()
        report(BUILD_STEPS, BUILD_STEPS, f"沙盒已就绪：{counts.get('customers', 0):,} 位客户，{counts.get('orders', 0):,} 笔订单。")
    except Exception:
        db.session.rollback()
        store.delete_version(sandbox_id, version)
        db.session.execute(sa.delete(SandboxTruth).where(SandboxTruth.sandbox_id == sandbox_id))
        db.session.execute(sa.delete(SbAnalysisCache).where(SbAnalysisCache.sandbox_id == sandbox_id,
                                                            SbAnalysisCache.version == version))
        failed = db.session.get(Sandbox, sandbox_id)
        if failed is not None:
            failed.status = "failed"
        db.session.commit()
        raise
    return sandbox


TABLE_LABELS = {"customers": "客户", "products": "产品", "orders": "订单", "order_lines": "订单明细",
                "interactions": "接触记录", "tickets": "服务工单", "surveys": "满意度调查", "campaigns": "历史营销活动",
                store.METRICS: "客户指标"}


def start_reset(sandbox: Sandbox, seed: int | None = None) -> Sandbox:
    """Clear students' overlays and campaigns, bump the version and mark the sandbox for rebuilding.

    Segments (filters) and exercise attempts (history, grades) are kept. ``build`` then regenerates the data.
    """
    sandbox_id = sandbox.id
    for model in (SbStudentAction, SbCampaignRun, SandboxTruth, SbAnalysisCache):
        db.session.execute(sa.delete(model).where(model.sandbox_id == sandbox_id))
    from app.sandbox.exports import delete_exports

    store.delete(sandbox_id)
    delete_exports(sandbox_id)
    if seed is not None:
        sandbox.seed = seed
    sandbox.version += 1
    sandbox.status = "building"
    db.session.commit()
    from app.sandbox.analysis import forget

    forget(sandbox_id)
    return sandbox


def reset_sandbox(sandbox: Sandbox, seed: int | None = None, progress: Progress | None = None) -> Sandbox:
    """Regenerate the data (same parameters; the same or a new seed), in this thread."""
    return build(start_reset(sandbox, seed).id, progress)


def delete_sandbox(sandbox: Sandbox, progress: Progress | None = None) -> None:
    """Delete a sandbox with its data file and everything students did in it."""
    sandbox_id = sandbox.id
    for model in (SbExerciseAttempt, SbCampaignRun, SbStudentAction, SbSegment, SbCaseRun, SandboxTruth,
                  SbAnalysisCache):
        db.session.execute(sa.delete(model).where(model.sandbox_id == sandbox_id))
    _delete_exercise_assignments(sandbox)
    db.session.execute(sa.delete(Sandbox).where(Sandbox.id == sandbox_id))
    db.session.commit()
    store.forget(sandbox_id)
    store.delete(sandbox_id)
    from app.sandbox.analysis import forget
    from app.sandbox.exports import delete_exports

    delete_exports(sandbox_id)
    forget(sandbox_id)
    if progress:
        progress(1, 1, "沙盒已删除。")


def rebuild_missing(progress: Progress | None = None) -> list[int]:
    """Rebuild ready sandboxes whose data file is missing (after the move from SQL tables, or a lost volume).

    The generator is deterministic, so the same parameters and seed give the same company: the rebuilt file's
    ``data_hash`` is compared with the recorded one and a difference is logged (a changed generator).
    """
    rebuilt = []
    for sandbox in db.session.scalars(sa.select(Sandbox).where(Sandbox.status == "ready").order_by(Sandbox.id)):
        if store.exists(sandbox):
            continue
        recorded = sandbox.data_hash
        for model in (SandboxTruth, SbAnalysisCache):
            db.session.execute(sa.delete(model).where(model.sandbox_id == sandbox.id))
        sandbox.status = "building"
        db.session.commit()
        rebuilt_sandbox = build(sandbox.id, progress)
        if recorded and rebuilt_sandbox.data_hash != recorded:
            current_app.logger.warning("沙盒 %s 重建后的数据与原数据不同（生成器已更新）", sandbox.id)
        rebuilt.append(sandbox.id)
    return rebuilt


def _delete_exercise_assignments(sandbox: Sandbox) -> None:
    """Sandbox exercises assigned in this sandbox go with it (their attempts are deleted above)."""
    if sandbox.class_id is None:
        return
    try:
        from app.models.assignments import Assignment
    except ImportError:  # the assignments feature is not installed
        return
    from app.sandbox.work import KIND

    for assignment in db.session.scalars(sa.select(Assignment).where(
            Assignment.class_id == sandbox.class_id, Assignment.kind == KIND)):
        if (assignment.settings or {}).get("sandbox_id") == sandbox.id:
            db.session.delete(assignment)


def truth_of(sandbox: Sandbox) -> Any:
    from app.sandbox.analysis import cached

    def load() -> Any:
        blob = db.session.scalar(sa.select(SandboxTruth.blob).where(SandboxTruth.sandbox_id == sandbox.id))
        return store.unpack_truth(blob) if blob else {}

    return cached(sandbox, "truth", load)


# -------------------------------------------------------------------------------------------- customer list

FILTER_KEYS = ("q", "city", "kind", "tier", "stage", "rfm")
# key -> (label, ORDER BY of the customer list); every order ends with the id, so pages never overlap
SORTS = {
    "id": ("编号", "id"),
    "name": ("姓名", "name_order"),
    "-revenue": ("累计消费（高→低）", "revenue DESC, id"),
    "-n_orders": ("订单数（多→少）", "n_orders DESC, id"),
    "-last_order_on": ("最近购买（近→远）", "last_order_on DESC NULLS LAST, id"),
    "last_order_on": ("最近购买（远→近）", "last_order_on ASC NULLS FIRST, id"),
    "acquired_on": ("获客日期", "acquired_on, id"),
}
# the customer list: customers with their metrics, joined once when the file is written (no join per page)
# (with each customer's place in name order, so sorting by name reads one integer column, not 100,000 names;
# the places are numbered over (id, name) alone: sorting whole joined rows by name took twice as long)
CUSTOMER_LIST = ("SELECT c.*, m.* EXCLUDE (customer_id), o.name_order FROM customers c "
                 "LEFT JOIN customer_metrics m ON m.customer_id = c.id "
                 "JOIN (SELECT id, row_number() OVER (ORDER BY name, id) AS name_order FROM customers) o ON o.id = c.id "
                 "ORDER BY c.id")


def clean_filters(args: Any) -> dict[str, str]:
    """Only the known filter keys with non-empty values (a segment stores exactly this)."""
    out = {}
    for key in FILTER_KEYS:
        value = (args.get(key) or "").strip()[:60]
        if value:
            out[key] = value
    return out


def _where(filters: dict[str, str]) -> tuple[str, list[Any]]:
    """The WHERE clause (with its parameters) of the customer-list filters."""
    clauses, params = ["TRUE"], []
    q = filters.get("q")
    if q:
        clauses.append("(strpos(name, ?) > 0 OR strpos(phone, ?) > 0 OR strpos(company, ?) > 0)")
        params += [q, q, q]
    for key, column in (("city", "city"), ("kind", "kind"), ("tier", "tier"), ("stage", "stage"), ("rfm", "rfm")):
        if filters.get(key):
            clauses.append(f"{column} = ?")
            params.append(filters[key])
    return " AND ".join(clauses), params


@dataclass
class Page:
    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


LIST_COLUMNS = "id, name, phone, city, company, kind, n_orders, revenue, last_order_on, rfm, tier, stage"


def customer_page(sandbox: Sandbox, filters: dict[str, str], sort: str = "id", page: int = 1,
                  per_page: int | None = None) -> Page:
    """One page of the customer list (filter, sort, LIMIT/OFFSET and the count) from the sandbox's file.

    With filters, one scan gives the page and the count (``count(*) OVER ()``), instead of a COUNT and a page
    that each test every row (a phone-number fragment against three text columns). Without filters, the count
    is the table's and a page in name order is a range of ``name_order`` (1..n): no sort of 100,000 names.
    """
    per_page = per_page or current_app.config.get("ITEMS_PER_PAGE", 20)
    where, params = _where(filters)
    order = SORTS.get(sort, SORTS["id"])[1]
    page = max(1, page)
    if not filters:
        total = int(store.scalar(sandbox, "SELECT count(*) FROM customer_list") or 0)
        page = max(1, min(page, max(1, math.ceil(total / per_page))))
        if order == "name_order":  # positions in name order are 1..total, each once
            rows = store.rows(sandbox, f"SELECT {LIST_COLUMNS} FROM customer_list WHERE name_order > ? "
                                       "AND name_order <= ? ORDER BY name_order",
                              [(page - 1) * per_page, page * per_page])
        else:
            rows = store.rows(sandbox, f"SELECT {LIST_COLUMNS} FROM customer_list ORDER BY {order} LIMIT ? OFFSET ?",
                              [per_page, (page - 1) * per_page])
        return Page(rows, page, per_page, total)
    query = (f"SELECT {LIST_COLUMNS}, count(*) OVER () AS matching FROM customer_list WHERE {where} "
             f"ORDER BY {order} LIMIT ? OFFSET ?")
    rows, total = store.rows_and_count(sandbox, query, [*params, per_page, (page - 1) * per_page])
    if total is None:  # nothing matches, or the page is past the last one: count, then show the last page
        total = int(store.scalar(sandbox, f"SELECT count(*) FROM customer_list WHERE {where}", params) or 0)
        last = max(1, math.ceil(total / per_page))
        if page > last and total:
            page = last
            rows, _ = store.rows_and_count(sandbox, query, [*params, per_page, (page - 1) * per_page])
        else:
            page = min(page, last)
    return Page(rows, page, per_page, total)


def segment_customer_ids(sandbox: Sandbox, filters: dict[str, str]) -> np.ndarray:
    """The ids of every customer matching the filters, as a numpy array."""
    import numpy as np

    where, params = _where(filters)
    ids = store.columns(sandbox, f"SELECT id FROM customer_list WHERE {where} ORDER BY id", params)["id"]
    return np.asarray(ids, dtype="int64")


def filter_options(sandbox: Sandbox) -> dict[str, list[str]]:
    """Distinct values for the filter selects (cities, kinds, tiers, stages), once per sandbox version."""
    from app.sandbox.analysis import cached

    def distinct(column: str, table: str) -> list[str]:
        return [r[0] for r in store.rows(sandbox, f"SELECT DISTINCT {column} FROM {table} WHERE {column} <> '' "
                                                  f"ORDER BY {column}")]

    return cached(sandbox, "filter_options", lambda: {
        "city": distinct("city", "customer_list"), "kind": distinct("kind", "customer_list"),
        "tier": distinct("tier", "customer_list"), "stage": distinct("stage", "customer_list")})


def describe_filters(filters: dict[str, str]) -> str:
    labels = {"q": "搜索", "city": "城市", "kind": "类型", "tier": "价值层级", "stage": "生命周期", "rfm": "RFM"}
    return "，".join(f"{labels[k]}={v}" for k, v in filters.items() if k in labels) or "全部客户"


# ------------------------------------------------------------------------------------------- student work

def segments_of(sandbox_id: int, user_id: int) -> list[SbSegment]:
    return list(db.session.scalars(sa.select(SbSegment).where(
        SbSegment.sandbox_id == sandbox_id, SbSegment.user_id == user_id).order_by(SbSegment.id)))


def stable_seed(*parts: Any) -> int:
    """A seed that depends only on its parts (per student, per exercise): stable across processes and runs."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big")


def sandbox_months(sandbox: Sandbox) -> list[str]:
    """The 'YYYY-MM' months of a sandbox's history, oldest first (from its parameters)."""
    as_of = date.fromisoformat(sandbox.params.get("as_of") or DEFAULT_AS_OF.isoformat())
    months = int(sandbox.params.get("months") or 24)
    out = []
    year, month = as_of.year, as_of.month
    for _ in range(months):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]
