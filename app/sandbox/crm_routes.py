"""Working in the CRM: the customer list, the 360° page, logging contacts and handling tickets, segments, campaigns."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.charts import bar_chart
from app.extensions import db
from app.formutil import choices
from app.models.sandbox import SbCampaignRun, SbSegment, SbStudentAction
from app.sandbox import bp, campaigns, store
from app.sandbox import services as svc
from app.sandbox.forms import CAMPAIGN_CHANNELS, TICKET_OUTCOMES, CampaignForm, InteractionForm, SegmentForm, TicketForm


@bp.route("/<int:sandbox_id>/customers")
@login_required
def customers(sandbox_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    filters = svc.clean_filters(request.args)
    sort = request.args.get("sort", "id")
    page = svc.customer_page(sandbox, filters, sort, request.args.get("page", 1, type=int))
    form = SegmentForm(filters=json.dumps(filters, ensure_ascii=False))
    return render_template("sandbox/customers.html", sandbox=sandbox, page=page, filters=filters, sort=sort,
                           sorts=svc.SORTS, options=svc.filter_options(sandbox), form=form,
                           described=svc.describe_filters(filters))


def _customer_or_404(sandbox, customer_id: int):
    row = store.one(sandbox, "SELECT c.*, m.n_orders, m.revenue, m.profit, m.first_order_on, m.last_order_on, m.r, "
                             "m.f, m.m, m.rfm, m.tier, m.stage FROM customers c LEFT JOIN customer_metrics m "
                             "ON m.customer_id = c.id WHERE c.id = ?", [customer_id])
    if row is None:
        abort(404)
    return row


@bp.route("/<int:sandbox_id>/customers/<int:customer_id>")
@login_required
def customer(sandbox_id: int, customer_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    profile = _customer_or_404(sandbox, customer_id)
    monthly = {r.month: r.amount for r in store.rows(
        sandbox, "SELECT strftime(ordered_on, '%Y-%m') AS month, sum(amount) AS amount FROM orders "
                 "WHERE customer_id = ? GROUP BY month", [customer_id])}
    months = svc.sandbox_months(sandbox)
    chart = bar_chart([(m[2:], float(monthly.get(m) or 0)) for m in months], "每月消费金额",
                      y_format="{:,.0f}") if monthly else None
    orders = store.rows(sandbox, "SELECT * FROM orders WHERE customer_id = ? ORDER BY ordered_on DESC, id DESC "
                                 "LIMIT 20", [customer_id])
    lines: dict[int, list] = {}
    if orders:
        for line in store.rows(sandbox, "SELECT l.order_id, p.name, l.quantity, l.unit_price FROM order_lines l "
                                        "JOIN products p ON p.id = l.product_id WHERE l.order_id BETWEEN ? AND ? "
                                        "AND l.order_id IN (SELECT unnest(?::BIGINT[])) ORDER BY l.id",
                               [min(o.id for o in orders), max(o.id for o in orders), [o.id for o in orders]]):
            lines.setdefault(line.order_id, []).append(line)

    def rows(table: str, date_column: str, limit: int = 1000):
        return store.rows(sandbox, f"SELECT * FROM {table} WHERE customer_id = ? ORDER BY {date_column} DESC, id DESC "
                                   f"LIMIT ?", [customer_id, limit])

    actions = db.session.scalars(sa.select(SbStudentAction).where(
        SbStudentAction.sandbox_id == sandbox.id, SbStudentAction.user_id == current_user.id,
        SbStudentAction.customer_id == customer_id).order_by(SbStudentAction.id.desc())).all()
    handled = {a.ticket_id: a for a in reversed(actions) if a.kind == "ticket"}
    return render_template(
        "sandbox/customer.html", sandbox=sandbox, c=profile, chart=chart, orders=orders, lines=lines,
        interactions=rows("interactions", "happened_on", 30),
        tickets=rows("tickets", "opened_on"), surveys=rows("surveys", "surveyed_on"),
        actions=actions, handled=handled, outcomes=TICKET_OUTCOMES,
        interaction_form=InteractionForm(), ticket_form=TicketForm())


@bp.route("/<int:sandbox_id>/customers/<int:customer_id>/interactions", methods=["POST"])
@login_required
def log_interaction(sandbox_id: int, customer_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    _customer_or_404(sandbox, customer_id)
    form = InteractionForm()
    if form.validate_on_submit():
        db.session.add(SbStudentAction(sandbox_id=sandbox.id, user_id=current_user.id, customer_id=customer_id,
                                       kind="interaction", data={"kind": form.kind.data, "direction": form.direction.data,
                                                                 "note": form.note.data}))
        db.session.commit()
        flash("接触记录已保存(只记在你自己的工作记录里,不会改动班级的数据)。", "success")
    else:
        flash("记录未保存:" + ";".join(e for errors in form.errors.values() for e in errors), "warning")
    return redirect(url_for("sandbox.customer", sandbox_id=sandbox.id, customer_id=customer_id) + "#mine")


@bp.route("/<int:sandbox_id>/customers/<int:customer_id>/tickets/<int:ticket_id>", methods=["POST"])
@login_required
def handle_ticket(sandbox_id: int, customer_id: int, ticket_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    ticket = store.one(sandbox, "SELECT id FROM tickets WHERE id = ? AND customer_id = ?", [ticket_id, customer_id])
    if ticket is None:
        abort(404)
    form = TicketForm()
    if form.validate_on_submit():
        db.session.add(SbStudentAction(sandbox_id=sandbox.id, user_id=current_user.id, customer_id=customer_id,
                                       kind="ticket", ticket_id=ticket_id,
                                       data={"outcome": form.outcome.data, "note": form.note.data}))
        db.session.commit()
        flash(f"工单 #{ticket_id} 的处理已记录(记在你的工作记录里,原始工单不变)。", "success")
    else:
        flash("处理未保存:" + ";".join(e for errors in form.errors.values() for e in errors), "warning")
    return redirect(url_for("sandbox.customer", sandbox_id=sandbox.id, customer_id=customer_id) + "#tickets")


# ------------------------------------------------------------------------------------------------- segments

@bp.route("/<int:sandbox_id>/segments", methods=["GET", "POST"])
@login_required
def segments(sandbox_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    form = SegmentForm()
    if form.validate_on_submit():
        try:
            filters = svc.clean_filters(json.loads(form.filters.data or "{}"))
        except (ValueError, AttributeError):
            filters = {}
        existing = db.session.scalar(sa.select(SbSegment).where(
            SbSegment.sandbox_id == sandbox.id, SbSegment.user_id == current_user.id, SbSegment.name == form.name.data))
        if existing:
            existing.filters = filters
            flash(f"细分“{form.name.data}”已更新。", "success")
        else:
            db.session.add(SbSegment(sandbox_id=sandbox.id, user_id=current_user.id, name=form.name.data,
                                     filters=filters))
            flash(f"细分“{form.name.data}”已保存。", "success")
        db.session.commit()
        return redirect(url_for("sandbox.segments", sandbox_id=sandbox.id))
    if request.method == "POST":
        flash("细分未保存:" + ";".join(e for errors in form.errors.values() for e in errors), "warning")
    rows = []
    for segment in svc.segments_of(sandbox.id, current_user.id):
        rows.append((segment, len(svc.segment_customer_ids(sandbox, segment.filters)),
                     svc.describe_filters(segment.filters)))
    return render_template("sandbox/segments.html", sandbox=sandbox, rows=rows, delete_form=SegmentForm())


@bp.route("/<int:sandbox_id>/segments/<int:segment_id>/delete", methods=["POST"])
@login_required
def delete_segment(sandbox_id: int, segment_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    segment = db.session.get(SbSegment, segment_id)
    if segment is None or segment.sandbox_id != sandbox.id or segment.user_id != current_user.id:
        abort(404)
    name = segment.name  # CSRFProtect has checked the token of this POST already
    db.session.delete(segment)
    db.session.commit()
    flash(f"细分“{name}”已删除。", "success")
    return redirect(url_for("sandbox.segments", sandbox_id=sandbox.id))


# ------------------------------------------------------------------------------------------------ campaigns

@bp.route("/<int:sandbox_id>/campaigns", methods=["GET", "POST"])
@login_required
def campaigns_page(sandbox_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    form = CampaignForm()
    segments = svc.segments_of(sandbox.id, current_user.id)
    form.segment_id.choices = choices([(str(s.id), s.name) for s in segments])
    if request.method == "GET" and request.args.get("segment"):
        form.segment_id.data = request.args["segment"]
    if form.validate_on_submit():
        segment = next((s for s in segments if str(s.id) == form.segment_id.data), None)
        if segment is None:
            abort(404)
        cost_per_contact, fixed_cost = CAMPAIGN_CHANNELS[form.channel.data]
        run = campaigns.run_campaign(sandbox, current_user.id, segment, form.name.data, form.channel.data,
                                     cost_per_contact, fixed_cost, form.max_contacts.data)
        db.session.commit()
        return redirect(url_for("sandbox.campaign_run", sandbox_id=sandbox.id, run_id=run.id))
    runs = db.session.scalars(sa.select(SbCampaignRun).where(
        SbCampaignRun.sandbox_id == sandbox.id, SbCampaignRun.user_id == current_user.id)
        .order_by(SbCampaignRun.id.desc())).all()
    history = campaigns.generated_campaigns(sandbox)
    return render_template("sandbox/campaigns.html", sandbox=sandbox, form=form, runs=runs, history=history,
                           has_segments=bool(segments))


@bp.route("/<int:sandbox_id>/campaigns/<int:run_id>")
@login_required
def campaign_run(sandbox_id: int, run_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    run = db.session.get(SbCampaignRun, run_id)
    if run is None or run.sandbox_id != sandbox.id or run.user_id != current_user.id:
        abort(404)
    return render_template("sandbox/campaign_run.html", sandbox=sandbox, run=run,
                           chart=campaigns.comparison_chart(run), described=svc.describe_filters(run.filters))
