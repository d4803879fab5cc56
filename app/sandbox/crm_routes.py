"""Working in the CRM: the customer list, the 360° page, logging contacts and handling tickets, segments, campaigns."""

from __future__ import annotations

import json

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.charts import bar_chart
from app.extensions import db
from app.formutil import choices
from app.models.sandbox import (
    SbCampaignRun,
    SbSegment,
    SbStudentAction,
    sb_customer,
    sb_customer_metric,
    sb_interaction,
    sb_order,
    sb_order_line,
    sb_product,
    sb_survey,
    sb_ticket,
)
from app.sandbox import bp, campaigns, store
from app.sandbox import services as svc
from app.sandbox.forms import CAMPAIGN_CHANNELS, TICKET_OUTCOMES, CampaignForm, InteractionForm, SegmentForm, TicketForm
from simulations.catalog import TICKET_STATUSES

RESOLVED = TICKET_STATUSES[0]  # 已解决: a resolved ticket is closed, nobody handles it again


@bp.route("/<int:sandbox_id>/customers")
@login_required
def customers(sandbox_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    filters = svc.clean_filters(request.args)
    sort = request.args.get("sort", "id")
    page = svc.customer_page(sandbox.id, filters, sort, request.args.get("page", 1, type=int))
    form = SegmentForm(filters=json.dumps(filters, ensure_ascii=False))
    return render_template("sandbox/customers.html", sandbox=sandbox, page=page, filters=filters, sort=sort,
                           sorts=svc.SORTS, options=svc.filter_options(sandbox.id), form=form,
                           described=svc.describe_filters(filters))


def _customer_or_404(sandbox_id: int, customer_id: int):
    row = db.session.execute(
        sa.select(sb_customer, sb_customer_metric.c.n_orders, sb_customer_metric.c.revenue,
                  sb_customer_metric.c.profit, sb_customer_metric.c.first_order_on,
                  sb_customer_metric.c.last_order_on, sb_customer_metric.c.r, sb_customer_metric.c.f,
                  sb_customer_metric.c.m, sb_customer_metric.c.rfm, sb_customer_metric.c.tier,
                  sb_customer_metric.c.stage)
        .select_from(sb_customer.outerjoin(sb_customer_metric, sa.and_(
            sb_customer_metric.c.sandbox_id == sb_customer.c.sandbox_id,
            sb_customer_metric.c.customer_id == sb_customer.c.id)))
        .where(sb_customer.c.sandbox_id == sandbox_id, sb_customer.c.id == customer_id)).first()
    if row is None:
        abort(404)
    return row


@bp.route("/<int:sandbox_id>/customers/<int:customer_id>")
@login_required
def customer(sandbox_id: int, customer_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    profile = _customer_or_404(sandbox.id, customer_id)
    mine = sb_order.c.sandbox_id == sandbox.id
    month = store.month_expr(sb_order.c.ordered_on)
    monthly = dict(db.session.execute(sa.select(month, sa.func.sum(sb_order.c.amount))
                                      .where(mine, sb_order.c.customer_id == customer_id)
                                      .group_by(month)).all())
    months = svc.sandbox_months(sandbox)
    chart = bar_chart([(m[2:], float(monthly.get(m) or 0)) for m in months], "每月消费金额",
                      y_format="{:,.0f}") if monthly else None
    orders = db.session.execute(sa.select(sb_order).where(mine, sb_order.c.customer_id == customer_id)
                                .order_by(sb_order.c.ordered_on.desc(), sb_order.c.id.desc()).limit(20)).all()
    lines: dict[int, list] = {}
    if orders:
        for line in db.session.execute(
                sa.select(sb_order_line.c.order_id, sb_product.c.name, sb_order_line.c.quantity,
                          sb_order_line.c.unit_price)
                .select_from(sb_order_line.join(sb_product, sa.and_(
                    sb_product.c.sandbox_id == sb_order_line.c.sandbox_id,
                    sb_product.c.id == sb_order_line.c.product_id)))
                .where(sb_order_line.c.sandbox_id == sandbox.id,
                       sb_order_line.c.order_id.in_([o.id for o in orders]))):
            lines.setdefault(line.order_id, []).append(line)
    of_customer = {"sandbox_id": sandbox.id, "customer_id": customer_id}

    def rows(table, date_column, limit=None):
        query = sa.select(table).filter_by(**of_customer).order_by(date_column.desc(), table.c.id.desc())
        return db.session.execute(query.limit(limit) if limit else query).all()

    actions = db.session.scalars(sa.select(SbStudentAction).where(
        SbStudentAction.sandbox_id == sandbox.id, SbStudentAction.user_id == current_user.id,
        SbStudentAction.customer_id == customer_id).order_by(SbStudentAction.id.desc())).all()
    handled = {a.ticket_id: a for a in reversed(actions) if a.kind == "ticket"}
    return render_template(
        "sandbox/customer.html", sandbox=sandbox, c=profile, chart=chart, orders=orders, lines=lines,
        interactions=rows(sb_interaction, sb_interaction.c.happened_on, 30),
        tickets=rows(sb_ticket, sb_ticket.c.opened_on), surveys=rows(sb_survey, sb_survey.c.surveyed_on),
        actions=actions, handled=handled, outcomes=TICKET_OUTCOMES,
        interaction_form=InteractionForm(), ticket_form=TicketForm(), RESOLVED=RESOLVED)


@bp.route("/<int:sandbox_id>/customers/<int:customer_id>/interactions", methods=["POST"])
@login_required
def log_interaction(sandbox_id: int, customer_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    _customer_or_404(sandbox.id, customer_id)
    form = InteractionForm()
    if form.validate_on_submit():
        db.session.add(SbStudentAction(sandbox_id=sandbox.id, user_id=current_user.id, customer_id=customer_id,
                                       kind="interaction", data={"kind": form.kind.data, "direction": form.direction.data,
                                                                 "note": form.note.data}))
        db.session.commit()
        flash("接触记录已保存（只记在你自己的工作记录里，不会改动班级的数据）。", "success")
    else:
        flash("记录未保存：" + "；".join(e for errors in form.errors.values() for e in errors), "warning")
    return redirect(url_for("sandbox.customer", sandbox_id=sandbox.id, customer_id=customer_id) + "#mine")


@bp.route("/<int:sandbox_id>/customers/<int:customer_id>/tickets/<int:ticket_id>", methods=["POST"])
@login_required
def handle_ticket(sandbox_id: int, customer_id: int, ticket_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    ticket = db.session.execute(sa.select(sb_ticket.c.id, sb_ticket.c.status).where(
        sb_ticket.c.sandbox_id == sandbox.id, sb_ticket.c.id == ticket_id,
        sb_ticket.c.customer_id == customer_id)).first()
    if ticket is None:
        abort(404)
    form = TicketForm()
    if ticket.status == RESOLVED:
        flash(f"工单 #{ticket_id} 已经解决，不需要再处理。", "warning")
    elif form.validate_on_submit():
        db.session.add(SbStudentAction(sandbox_id=sandbox.id, user_id=current_user.id, customer_id=customer_id,
                                       kind="ticket", ticket_id=ticket_id,
                                       data={"outcome": form.outcome.data, "note": form.note.data}))
        db.session.commit()
        flash(f"工单 #{ticket_id} 的处理已记录（记在你的工作记录里，原始工单不变）。", "success")
    else:
        flash("处理未保存：" + "；".join(e for errors in form.errors.values() for e in errors), "warning")
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
        flash("细分未保存：" + "；".join(e for errors in form.errors.values() for e in errors), "warning")
    rows = []
    for segment in svc.segments_of(sandbox.id, current_user.id):
        rows.append((segment, len(svc.segment_customer_ids(sandbox.id, segment.filters)),
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
    history = campaigns.generated_campaigns(sandbox.id)
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
