"""Sandbox list, creating a sandbox, its dashboard, reset and delete, and the CSV downloads."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, stream_with_context, url_for
from flask_login import current_user, login_required

from app.charts import line_chart
from app.extensions import db
from app.formutil import choices
from app.models.sandbox import SbCaseRun, sb_customer, sb_order
from app.sandbox import analysis, bp, store
from app.sandbox import services as svc
from app.sandbox.cases import CASES
from app.sandbox.exports import EXPORTS, iter_csv
from app.sandbox.forms import CreateSandboxForm, ResetForm


@bp.route("/")
@login_required
def index():
    sandboxes = svc.visible_sandboxes(current_user)
    manageable = {s.id for s in sandboxes if svc.can_manage(s, current_user)}
    runs = db.session.scalars(sa.select(SbCaseRun).where(SbCaseRun.sandbox_id.in_([s.id for s in sandboxes]))
                              .order_by(SbCaseRun.id.desc())).all()
    return render_template("sandbox/index.html", sandboxes=sandboxes, manageable=manageable, runs=runs, cases=CASES,
                           can_create=bool(svc.managed_classes(current_user)) or current_user.is_admin)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    if not current_user.is_instructor:
        abort(403)
    form = CreateSandboxForm()
    classes = svc.managed_classes(current_user)
    options = [(str(c.id), c.name) for c in classes]
    if current_user.is_admin:
        options.append(("0", "（不属于任何班级的演示沙盒）"))
    form.class_id.choices = choices(options)
    if request.method == "GET" and request.args.get("class_id"):
        form.class_id.data = request.args["class_id"]
    if form.validate_on_submit():
        class_id = int(form.class_id.data) or None
        sandbox = svc.create_sandbox(class_id=class_id, customers=form.customers.data, months=form.months.data,
                                     seed=form.seed.data, scenario=form.scenario.data, name=form.name.data or "",
                                     created_by_id=current_user.id)
        flash(f"沙盒已生成：{sandbox.counts.get('customers', 0)} 位客户，{sandbox.counts.get('orders', 0)} 笔订单。",
              "success")
        return redirect(url_for("sandbox.dashboard", sandbox_id=sandbox.id))
    return render_template("sandbox/new.html", form=form, has_classes=bool(options))


@bp.route("/<int:sandbox_id>/")
@login_required
def dashboard(sandbox_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user, ready=False)
    manage = svc.can_manage(sandbox, current_user)
    if sandbox.status != "ready":
        return render_template("sandbox/building.html", sandbox=sandbox, manage=manage,
                               reset_form=ResetForm() if manage else None)
    summary = analysis.cached(sandbox, "dashboard", lambda: _summary(sandbox.id), persist=True)
    monthly = summary["monthly"]
    top = max([v for _, v in monthly] + [1])
    chart = line_chart([(m[2:], float(v)) for m, v in monthly], "每月销售额", y_max=top * 1.1, y_format="{:,.0f}")
    runs = db.session.scalars(sa.select(SbCaseRun).where(SbCaseRun.sandbox_id == sandbox.id)).all()
    return render_template("sandbox/dashboard.html", sandbox=sandbox, manage=manage, s=summary, chart=chart,
                           reset_form=ResetForm() if manage else None, runs=runs, cases=CASES,
                           stages=analysis.lifecycle(sandbox)["counts"], tiers=analysis.tier_summary(sandbox))


def _summary(sandbox_id: int) -> dict:
    """Head figures and monthly revenue of a sandbox (SQL aggregates, cached per version)."""
    o = sb_order.c
    n_orders, revenue, profit, buyers = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(o.amount), 0), sa.func.coalesce(sa.func.sum(o.amount - o.cost), 0),
                  sa.func.count(sa.distinct(o.customer_id))).where(o.sandbox_id == sandbox_id)).one()
    n_customers = db.session.scalar(sa.select(sa.func.count()).select_from(sb_customer)
                                    .where(sb_customer.c.sandbox_id == sandbox_id))
    month = store.month_expr(o.ordered_on)
    monthly = db.session.execute(sa.select(month, sa.func.sum(o.amount)).where(o.sandbox_id == sandbox_id)
                                 .group_by(month).order_by(month)).all()
    return {"customers": int(n_customers or 0), "orders": int(n_orders or 0), "revenue": float(revenue or 0),
            "profit": float(profit or 0), "buyers": int(buyers or 0),
            "monthly": [[m, round(float(v or 0), 2)] for m, v in monthly]}


def _confirmed(form: ResetForm, sandbox_id: int) -> bool:
    if not form.validate_on_submit():
        return False
    if form.confirm.data != str(sandbox_id):
        flash("输入的编号与沙盒编号不一致，未执行。", "warning")
        return False
    return True


@bp.route("/<int:sandbox_id>/reset", methods=["POST"])
@login_required
def reset(sandbox_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user, manage=True, ready=False)
    form = ResetForm()
    if _confirmed(form, sandbox_id):
        svc.reset_sandbox(sandbox, seed=form.seed.data)
        flash("沙盒已重置：数据已按参数重新生成，学生的接触记录、工单处理和营销活动已清空（细分与实训记录保留）。", "success")
    return redirect(url_for("sandbox.dashboard", sandbox_id=sandbox_id))


@bp.route("/<int:sandbox_id>/delete", methods=["POST"])
@login_required
def delete(sandbox_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user, manage=True, ready=False)
    form = ResetForm()
    if _confirmed(form, sandbox_id):
        svc.delete_sandbox(sandbox)
        flash("沙盒已删除。", "success")
        return redirect(url_for("sandbox.index"))
    return redirect(url_for("sandbox.dashboard", sandbox_id=sandbox_id))


@bp.route("/<int:sandbox_id>/downloads")
@login_required
def downloads(sandbox_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    return render_template("sandbox/downloads.html", sandbox=sandbox, exports=EXPORTS)


@bp.route("/<int:sandbox_id>/downloads/<name>.csv")
@login_required
def download(sandbox_id: int, name: str):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    if name not in EXPORTS:
        abort(404)
    filename = f"sandbox{sandbox.id}_{name}.csv"
    return Response(stream_with_context(iter_csv(name, sandbox.id)), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
