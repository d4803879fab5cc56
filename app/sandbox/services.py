"""Sandbox domain logic on the session: access, creating/resetting/deleting, the customer list, student work."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import abort, current_app

from app.clock import now
from app.extensions import db
from app.models.classes import Membership, SchoolClass, classes_of
from app.models.sandbox import (
    SCENARIOS,
    Sandbox,
    SandboxTruth,
    SbCampaignRun,
    SbCaseRun,
    SbExerciseAttempt,
    SbSegment,
    SbStudentAction,
    sb_customer,
    sb_customer_metric,
)
from app.sandbox import store

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


def create_sandbox(*, class_id: int | None, customers: int, months: int, seed: int, scenario: str = "default",
                   name: str = "", created_by_id: int | None = None, progress: store.Progress | None = None,
                   as_of: date | None = None) -> Sandbox:
    """Generate a company and store it under a new sandbox (committed; status 'ready' when it is done)."""
    params = make_params(customers, months, scenario, as_of)
    sandbox = Sandbox(class_id=class_id, name=name, scenario=scenario, params=params_dict(params), seed=seed,
                      status="building", created_by_id=created_by_id)
    db.session.add(sandbox)
    db.session.commit()
    _populate(sandbox, params, seed, progress)
    return sandbox


def _populate(sandbox: Sandbox, params: Any, seed: int, progress: store.Progress | None) -> None:
    from app.sandbox.analysis import precompute, write_metrics
    from simulations import data_hash, generate

    sandbox_id = sandbox.id
    try:
        company = generate(params, seed)
        if progress:  # the total number of rows to write, so a progress bar knows its length
            progress("generate", sum(len(t["id"]) for t in company.tables.values()) + params.n_customers)
        sqlite = db.session.get_bind().dialect.name == "sqlite"
        counts = store.store_tables(sandbox_id, company.tables, progress, commit_each_batch=sqlite)
        db.session.merge(SandboxTruth(sandbox_id=sandbox_id, blob=store.pack_truth(company.truth)))
        db.session.flush()
        write_metrics(sandbox_id, params_dict(params), company.tables)
        db.session.commit()
        if progress:
            progress("sb_customer_metric", params.n_customers)
        sandbox = db.session.get(Sandbox, sandbox_id)
        precompute(sandbox, company.tables)
        store.analyze(list(store.DELETE_ORDER))
        sandbox.counts = counts
        sandbox.data_hash = str(data_hash(company))[:64]
        sandbox.status = "ready"
        sandbox.ready_at = now()
        db.session.commit()
    except Exception:
        db.session.rollback()
        store.delete_data(sandbox_id)
        db.session.execute(sa.delete(SandboxTruth).where(SandboxTruth.sandbox_id == sandbox_id))
        failed = db.session.get(Sandbox, sandbox_id)
        if failed is not None:
            failed.status = "failed"
        db.session.commit()
        raise


def reset_sandbox(sandbox: Sandbox, seed: int | None = None, progress: store.Progress | None = None) -> Sandbox:
    """Regenerate the data (same parameters; the same or a new seed) and clear students' overlays and campaigns.

    Segments (filters) and exercise attempts (history, grades) are kept.
    """
    sandbox_id = sandbox.id
    store.delete_data(sandbox_id, progress)
    for model in (SbStudentAction, SbCampaignRun):
        db.session.execute(sa.delete(model).where(model.sandbox_id == sandbox_id))
    db.session.execute(sa.delete(SandboxTruth).where(SandboxTruth.sandbox_id == sandbox_id))
    if seed is not None:
        sandbox.seed = seed
    sandbox.version += 1
    sandbox.status = "building"
    db.session.commit()
    from app.sandbox.analysis import forget

    forget(sandbox_id)
    _populate(sandbox, params_from_dict(sandbox.params), sandbox.seed, progress)
    return db.session.get(Sandbox, sandbox_id)


def delete_sandbox(sandbox: Sandbox, progress: store.Progress | None = None) -> None:
    """Delete a sandbox with its data and everything students did in it."""
    sandbox_id = sandbox.id
    store.delete_data(sandbox_id, progress)
    for model in (SbExerciseAttempt, SbCampaignRun, SbStudentAction, SbSegment, SbCaseRun, SandboxTruth):
        db.session.execute(sa.delete(model).where(model.sandbox_id == sandbox_id))
    _delete_exercise_assignments(sandbox)
    db.session.execute(sa.delete(Sandbox).where(Sandbox.id == sandbox_id))
    db.session.commit()
    from app.sandbox.analysis import forget

    forget(sandbox_id)


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
SORTS = {
    "id": ("编号", sb_customer.c.id, False),
    "name": ("姓名", sb_customer.c.name, False),
    "-revenue": ("累计消费(高→低)", sb_customer_metric.c.revenue, True),
    "-n_orders": ("订单数(多→少)", sb_customer_metric.c.n_orders, True),
    "-last_order_on": ("最近购买(近→远)", sb_customer_metric.c.last_order_on, True),
    "last_order_on": ("最近购买(远→近)", sb_customer_metric.c.last_order_on, False),
    "acquired_on": ("获客日期", sb_customer.c.acquired_on, False),
}


def clean_filters(args: Any) -> dict[str, str]:
    """Only the known filter keys with non-empty values (a segment stores exactly this)."""
    out = {}
    for key in FILTER_KEYS:
        value = (args.get(key) or "").strip()[:60]
        if value:
            out[key] = value
    return out


def _joined() -> Any:
    return sb_customer.outerjoin(sb_customer_metric, sa.and_(
        sb_customer_metric.c.sandbox_id == sb_customer.c.sandbox_id,
        sb_customer_metric.c.customer_id == sb_customer.c.id))


def _where(sandbox_id: int, filters: dict[str, str]) -> list[Any]:
    clauses: list[Any] = [sb_customer.c.sandbox_id == sandbox_id]
    q = filters.get("q")
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append(sa.or_(sb_customer.c.name.like(like, escape="\\"), sb_customer.c.phone.like(like, escape="\\"),
                              sb_customer.c.company.like(like, escape="\\")))
    if filters.get("city"):
        clauses.append(sb_customer.c.city == filters["city"])
    if filters.get("kind"):
        clauses.append(sb_customer.c.kind == filters["kind"])
    if filters.get("tier"):
        clauses.append(sb_customer_metric.c.tier == filters["tier"])
    if filters.get("stage"):
        clauses.append(sb_customer_metric.c.stage == filters["stage"])
    if filters.get("rfm"):
        clauses.append(sb_customer_metric.c.rfm == filters["rfm"])
    return clauses


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


def customer_page(sandbox_id: int, filters: dict[str, str], sort: str = "id", page: int = 1,
                  per_page: int | None = None) -> Page:
    """One page of the customer list (SQL filter, sort, LIMIT/OFFSET; one COUNT)."""
    per_page = per_page or current_app.config.get("ITEMS_PER_PAGE", 20)
    where = _where(sandbox_id, filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(_joined()).where(*where)) or 0
    page = max(1, min(page, max(1, math.ceil(total / per_page))))
    _label, column, desc = SORTS.get(sort, SORTS["id"])
    order = [column.desc() if desc else column.asc(), sb_customer.c.id]
    rows = db.session.execute(
        sa.select(sb_customer.c.id, sb_customer.c.name, sb_customer.c.phone, sb_customer.c.city,
                  sb_customer.c.company, sb_customer.c.kind, sb_customer_metric.c.n_orders,
                  sb_customer_metric.c.revenue, sb_customer_metric.c.last_order_on, sb_customer_metric.c.rfm,
                  sb_customer_metric.c.tier, sb_customer_metric.c.stage)
        .select_from(_joined()).where(*where).order_by(*order).limit(per_page).offset((page - 1) * per_page)).all()
    return Page(rows, page, per_page, total)


def segment_customer_ids(sandbox_id: int, filters: dict[str, str]) -> np.ndarray:
    """The ids of every customer matching the filters, as a numpy array (a column query)."""
    rows = db.session.execute(sa.select(sb_customer.c.id).select_from(_joined())
                              .where(*_where(sandbox_id, filters)).order_by(sb_customer.c.id)).scalars().all()
    return np.asarray(rows, dtype="int64")


def filter_options(sandbox_id: int) -> dict[str, list[str]]:
    """Distinct values for the filter selects (cities, kinds, tiers, stages)."""
    def distinct(column: Any, table: Any) -> list[str]:
        return [v for v in db.session.scalars(sa.select(column).where(table.c.sandbox_id == sandbox_id)
                                              .distinct().order_by(column)) if v]

    return {"city": distinct(sb_customer.c.city, sb_customer), "kind": distinct(sb_customer.c.kind, sb_customer),
            "tier": distinct(sb_customer_metric.c.tier, sb_customer_metric),
            "stage": distinct(sb_customer_metric.c.stage, sb_customer_metric)}


def describe_filters(filters: dict[str, str]) -> str:
    labels = {"q": "搜索", "city": "城市", "kind": "类型", "tier": "价值层级", "stage": "生命周期", "rfm": "RFM"}
    return ",".join(f"{labels[k]}={v}" for k, v in filters.items() if k in labels) or "全部客户"


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
