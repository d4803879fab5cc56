"""Sandbox list, creating a sandbox, its dashboard, reset and delete, and the CSV downloads."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from app import jobs
from app.charts import line_chart
from app.extensions import db
from app.formutil import choices
from app.models.jobs import Job
from app.models.sandbox import SbCaseRun
from app.sandbox import analysis, bp, store, tasks  # noqa: F401  (tasks registers the sandbox's jobs)
from app.sandbox import services as svc
from app.sandbox.cases import CASES
from app.sandbox.exports import DICTIONARY, EXPORTS, ZIP_NAME, export_path, exports_ready
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
        options.append(("0", "(不属于任何班级的演示沙盒)"))
    form.class_id.choices = choices(options)
    if request.method == "GET" and request.args.get("class_id"):
        form.class_id.data = request.args["class_id"]
    if form.validate_on_submit():
        class_id = int(form.class_id.data) or None
        sandbox = svc.new_sandbox(class_id=class_id, customers=form.customers.data, months=form.months.data,
                                  seed=form.seed.data, scenario=form.scenario.data, name=form.name.data or "",
                                  created_by_id=current_user.id)
        return _build_job(sandbox, f"生成沙盒:{sandbox.title}")
    return render_template("sandbox/new.html", form=form, has_classes=bool(options),
                           max_customers=current_app.config.get("SANDBOX_MAX_CUSTOMERS", 200_000))


def _build_job(sandbox, title: str):
    """Start (or find) the sandbox's build job and show its progress; the dashboard follows."""
    job = jobs.enqueue("sandbox.build", sandbox_id=sandbox.id, user_id=current_user.id, title=title,
                       key=f"sandbox.build:{sandbox.id}:{sandbox.version}",
                       next_url=url_for("sandbox.dashboard", sandbox_id=sandbox.id))
    return redirect(url_for("jobs.show", job_id=job.id))


@bp.route("/<int:sandbox_id>/")
@login_required
def dashboard(sandbox_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user, ready=False)
    manage = svc.can_manage(sandbox, current_user)
    if sandbox.status != "ready" or not store.exists(sandbox):
        job = db.session.scalar(sa.select(Job).where(Job.key == f"sandbox.build:{sandbox.id}:{sandbox.version}")
                                .order_by(Job.id.desc()))
        return render_template("sandbox/building.html", sandbox=sandbox, manage=manage, job=job,
                               missing=sandbox.status == "ready", reset_form=ResetForm() if manage else None)
    summary = analysis.cached(sandbox, "dashboard", lambda: _summary(sandbox), persist=True)
    monthly = summary["monthly"]
    top = max([v for _, v in monthly] + [1])
    chart = line_chart([(m[2:], float(v)) for m, v in monthly], "每月销售额", y_max=top * 1.1, y_format="{:,.0f}")
    runs = db.session.scalars(sa.select(SbCaseRun).where(SbCaseRun.sandbox_id == sandbox.id)).all()
    return render_template("sandbox/dashboard.html", sandbox=sandbox, manage=manage, s=summary, chart=chart,
                           reset_form=ResetForm() if manage else None, runs=runs, cases=CASES,
                           stages=analysis.lifecycle(sandbox)["counts"], tiers=analysis.tier_summary(sandbox))


def _summary(sandbox) -> dict:
    """Head figures and monthly revenue of a sandbox (aggregates over its file, cached per version)."""
    head = store.one(sandbox, "SELECT count(*) AS n, coalesce(sum(amount), 0) AS revenue, "
                              "coalesce(sum(amount - cost), 0) AS profit, count(DISTINCT customer_id) AS buyers "
                              "FROM orders")
    monthly = store.rows(sandbox, "SELECT strftime(ordered_on, '%Y-%m') AS month, sum(amount) AS amount FROM orders "
                                  "GROUP BY month ORDER BY month")
    return {"customers": int(store.scalar(sandbox, "SELECT count(*) FROM customers") or 0), "orders": int(head.n),
            "revenue": float(head.revenue), "profit": float(head.profit), "buyers": int(head.buyers),
            "monthly": [[r.month, round(float(r.amount or 0), 2)] for r in monthly]}


def _confirmed(form: ResetForm, sandbox_id: int) -> bool:
    if not form.validate_on_submit():
        return False
    if form.confirm.data != str(sandbox_id):
        flash("输入的编号与沙盒编号不一致,未执行。", "warning")
        return False
    return True


@bp.route("/<int:sandbox_id>/reset", methods=["POST"])
@login_required
def reset(sandbox_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user, manage=True, ready=False)
    form = ResetForm()
    if _confirmed(form, sandbox_id):
        svc.start_reset(sandbox, seed=form.seed.data)
        flash("沙盒正在重置:数据按参数重新生成,学生的接触记录、工单处理和营销活动已清空(细分与实训记录保留)。", "success")
        return _build_job(sandbox, f"重置沙盒:{sandbox.title}")
    return redirect(url_for("sandbox.dashboard", sandbox_id=sandbox_id))


@bp.route("/<int:sandbox_id>/delete", methods=["POST"])
@login_required
def delete(sandbox_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user, manage=True, ready=False)
    form = ResetForm()
    if _confirmed(form, sandbox_id):
        title = sandbox.title
        sandbox.status = "deleting"
        db.session.commit()
        job = jobs.enqueue("sandbox.delete", sandbox_id=sandbox.id, user_id=current_user.id,
                           title=f"删除沙盒:{title}", key=f"sandbox.delete:{sandbox.id}",
                           next_url=url_for("sandbox.index"))
        return redirect(url_for("jobs.show", job_id=job.id))
    return redirect(url_for("sandbox.dashboard", sandbox_id=sandbox_id))


@bp.route("/<int:sandbox_id>/downloads")
@login_required
def downloads(sandbox_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    return render_template("sandbox/downloads.html", sandbox=sandbox, exports=EXPORTS, dictionary=DICTIONARY,
                           ready=exports_ready(sandbox), zip_name=ZIP_NAME)


@bp.route("/<int:sandbox_id>/downloads/<name>")
@login_required
def download(sandbox_id: int, name: str):
    """A CSV file or the zip, from the sandbox's export (built by a background job on first request)."""
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    if name != ZIP_NAME and name.removesuffix(".csv") not in EXPORTS:
        abort(404)
    path = export_path(sandbox, name)
    if not path.is_file():
        job = jobs.enqueue("sandbox.export", sandbox_id=sandbox.id, user_id=current_user.id,
                           title=f"准备下载文件:{sandbox.title}", key=f"sandbox.export:{sandbox.id}:{sandbox.version}",
                           next_url=url_for("sandbox.download", sandbox_id=sandbox.id, name=name))
        return redirect(url_for("jobs.show", job_id=job.id))
    return send_file(path, mimetype="application/zip" if name == ZIP_NAME else "text/csv",
                     as_attachment=True, download_name=f"sandbox{sandbox.id}_{name}")
