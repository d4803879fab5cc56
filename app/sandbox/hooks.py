"""What the sandbox adds to the rest of the site: default sandboxes at setup, exercise links on bank items, the
'sandbox_exercise' assignment kind, and a local-time filter."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_login import current_user

from app.extensions import db
from app.models.classes import SchoolClass
from app.models.sandbox import Sandbox, SbCaseRun
from app.sandbox import bp, work
from app.sandbox import services as svc
from app.sandbox.cases import CASES, cases_for_item
from app.sandbox.exercises import REGISTRY

DEFAULT_CUSTOMERS = 1500
DEFAULT_MONTHS = 24
DEFAULT_SEED = 2026
DEMO_CLASS_NAMES = ("演示班级:客户关系管理",)  # the classes feature's DEMO_CLASS


def _demo_class() -> SchoolClass | None:
    return db.session.scalar(sa.select(SchoolClass).where(SchoolClass.name.in_(DEMO_CLASS_NAMES))
                             .order_by(SchoolClass.id))


def _has_sandbox(class_id: int | None) -> bool:
    query = sa.select(Sandbox.id).where(Sandbox.class_id.is_(None) if class_id is None else Sandbox.class_id == class_id)
    return db.session.scalar(query.limit(1)) is not None


def ensure_default_sandbox() -> None:
    """``flask setup`` hook: a small sandbox for the demo class (if there is one), else a standalone demo one,
    so a new user finds a working CRM at once. Does nothing when one exists already. Ready sandboxes whose data
    file is missing (the move from SQL tables, a lost volume) are rebuilt from their parameters and seed."""
    import click

    for sandbox_id in svc.rebuild_missing():
        click.echo(f"已重建沙盒 {sandbox_id} 的数据文件。")
    demo = _demo_class()
    if demo is not None and not _has_sandbox(demo.id):
        _create(demo.id, demo.instructor_id, "演示班级的沙盒")
    elif demo is None and not _has_sandbox(None) and db.session.scalar(sa.select(Sandbox.id).limit(1)) is None:
        _create(None, None, "演示沙盒")


def _create(class_id: int | None, user_id: int | None, name: str) -> None:
    import click

    sandbox = svc.create_sandbox(class_id=class_id, customers=DEFAULT_CUSTOMERS, months=DEFAULT_MONTHS,
                                 seed=DEFAULT_SEED, name=name, created_by_id=user_id)
    click.echo(f"已创建{name}:{sandbox.counts.get('customers', 0)} 位客户,{sandbox.counts.get('orders', 0)} 笔订单"
               f"(沙盒 {sandbox.id})。")


def demo_sandbox(instructor: Any, student: Any) -> list[str]:
    """Demo-accounts hook: the demo class (made by the classes feature just before) gets its sandbox."""
    demo = _demo_class()
    if demo is None or _has_sandbox(demo.id):
        return []
    db.session.commit()  # the demo accounts and class, so the sandbox can refer to them
    sandbox = svc.create_sandbox(class_id=demo.id, customers=DEFAULT_CUSTOMERS, months=DEFAULT_MONTHS,
                                 seed=DEFAULT_SEED, name="演示班级的沙盒", created_by_id=instructor.id)
    return [f"  沙盒 CRM: {sandbox.counts.get('customers', 0)} 位客户的演示公司(演示班级可用)"]


def item_exercises(item: Any) -> dict[str, Any]:
    """Bank item page: links to the sandbox exercises of the item's topics (and to cases built on the item)."""
    if not current_user.is_authenticated:
        return {}
    sandboxes = [s for s in svc.visible_sandboxes(current_user) if s.status == "ready"]
    if not sandboxes:
        return {}
    sandbox = next((s for s in sandboxes if s.class_id is not None), sandboxes[0])
    topics = {t.name for t in item.topics}
    links = [{"url": url_for("sandbox.exercise", sandbox_id=sandbox.id, key=ex.key), "title": ex.title}
             for ex in REGISTRY.values() if ex.topic in topics]
    for case in cases_for_item(item.uid):
        run = db.session.scalar(sa.select(SbCaseRun).where(SbCaseRun.case_key == case.key, SbCaseRun.sandbox_id.in_(
            [s.id for s in sandboxes])).order_by(SbCaseRun.id.desc()))
        if run is not None:
            links.insert(0, {"url": url_for("sandbox.case", run_id=run.id), "title": f"案例实训:{case.title}"})
        elif current_user.is_instructor:
            links.insert(0, {"url": url_for("sandbox.cases", case=case.key), "title": f"在沙盒中开展案例:{case.title}"})
    return {"exercises": links} if links else {}


@bp.record_once
def _register(state) -> None:
    ext = state.app.extensions
    ext.setdefault("crm_setup_hooks", []).append(ensure_default_sandbox)
    ext.setdefault("crm_demo_hooks", []).append(demo_sandbox)
    ext.setdefault("crm_item_hooks", []).append(item_exercises)
    ext.setdefault("crm_assignment_kinds", {})[work.KIND] = work.SandboxExerciseKind()
    state.app.jinja_env.filters.setdefault("sb_time", work.format_local)


@bp.app_context_processor
def _case_names() -> dict[str, Any]:
    return {"SB_CASES": CASES}


@bp.app_template_global("sandbox_block")
def sandbox_block(class_id: int) -> dict[str, Any]:
    """The class page's sandbox block: the class's sandboxes and whether the viewer manages them."""
    school_class = db.session.get(SchoolClass, class_id)
    if school_class is None or not school_class.can_view(current_user):
        return {"sandboxes": [], "manage": False}
    sandboxes = db.session.scalars(sa.select(Sandbox).where(Sandbox.class_id == class_id).order_by(Sandbox.id)).all()
    return {"sandboxes": sandboxes, "manage": school_class.can_manage(current_user)}
