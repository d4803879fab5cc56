"""The sandbox CRM: a generated company per class (bulk tables keyed by sandbox_id) and what students do in it.

The generated tables (sb_customer, sb_order, ...) are plain Core tables: they are written in bulk
(executemany / COPY) and read with aggregates and column queries, never as one ORM object per row. Each has the
primary key (sandbox_id, id), so the ids the generator gave stay the ids students see. What students do lives
in their own tables (segments, campaign runs, actions, exercise attempts) and never changes the generated data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import utcnow

SCENARIOS = {
    "default": "综合零售（默认）",
    "walmart_basket": "购物篮分析（沃尔玛）",
    "cosmetics_members": "会员计划（化妆品公司）",
    "coca_cola_complaints": "投诉处理与口碑（可口可乐）",
    "convenience_time_of_day": "便利店分时段经营",
}
STATUSES = {"building": "生成中", "ready": "可用", "failed": "生成失败"}


class Sandbox(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    # None: a standalone demo sandbox every signed-in user may open (read-only for students' data as always).
    class_id: Mapped[int | None] = mapped_column(sa.ForeignKey("school_class.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    scenario: Mapped[str] = mapped_column(sa.String(40), default="default", index=True)
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    seed: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    status: Mapped[str] = mapped_column(sa.String(12), default="building", index=True)
    version: Mapped[int] = mapped_column(default=1)  # bumped on reset: analytics caches are keyed by it
    counts: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # rows per table
    data_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))

    school_class = relationship("SchoolClass")

    @property
    def scenario_label(self) -> str:
        return SCENARIOS.get(self.scenario, self.scenario)

    @property
    def status_label(self) -> str:
        return STATUSES.get(self.status, self.status)

    @property
    def title(self) -> str:
        if self.name:
            return self.name
        if self.school_class is not None:
            return f"{self.school_class.name} 的沙盒"
        return "演示沙盒"


class SandboxTruth(db.Model):
    """The generator's hidden truth (stages, propensities, planted rules): compressed, never shown to students."""

    __tablename__ = "sb_truth"

    sandbox_id: Mapped[int] = mapped_column(sa.ForeignKey("sandbox.id", ondelete="CASCADE"), primary_key=True)
    blob: Mapped[bytes] = mapped_column(sa.LargeBinary)


# ------------------------------------------------------------------------------------------ generated tables

def _data_table(name: str, *columns: sa.Column, indexes: tuple[tuple[str, ...], ...] = (),
                refs: tuple[tuple[str, str], ...] = (), bulk: bool = False) -> sa.Table:
    """A generated table: (sandbox_id, id) primary key, an index on sandbox_id + each filter/FK column.

    ``bulk`` tables (orders, order lines, interactions: 95 % of the rows) declare no foreign keys: a per-row
    check costs more than the whole write (PostgreSQL COPY of 1M orders: 9 s without, 38 s with the two keys;
    see scripts/bench_sandbox_store.py). Their references are consistent by construction (one generator writes
    them, ``store.delete_data`` deletes children first) and indexed like foreign keys.
    """
    sandbox_id = sa.Column("sandbox_id", sa.Integer, primary_key=True) if bulk else \
        sa.Column("sandbox_id", sa.ForeignKey("sandbox.id", ondelete="CASCADE"), primary_key=True)
    args: list[Any] = [
        sandbox_id,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        *columns,
    ]
    for cols in indexes:
        args.append(sa.Index(f"ix_{name}_{'_'.join(cols)}", "sandbox_id", *cols))
    for column, target in () if bulk else refs:
        args.append(sa.ForeignKeyConstraint(["sandbox_id", column], [f"{target}.sandbox_id", f"{target}.id"],
                                            ondelete="CASCADE"))
    # WITHOUT ROWID on SQLite: the (sandbox_id, id) key is the table itself, one B-tree less per row.
    return sa.Table(name, db.metadata, *args, sqlite_with_rowid=False)


def _text(name: str, length: int = 40) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=True)


sb_customer = _data_table(
    "sb_customer",
    _text("name", 60), _text("phone", 24), _text("province", 20), _text("city", 20), _text("company", 80),
    _text("kind", 20), _text("settlement", 20), _text("channel", 20), sa.Column("acquired_on", sa.Date),
    _text("owner", 40), _text("gender", 8), sa.Column("birth_year", sa.Integer),
    indexes=(("city",), ("kind",)),
)
sb_product = _data_table(
    "sb_product",
    _text("name", 80), _text("category", 40), sa.Column("unit_price", sa.Float), sa.Column("unit_cost", sa.Float),
)
sb_order = _data_table(
    "sb_order",
    sa.Column("customer_id", sa.Integer, nullable=False), sa.Column("ordered_on", sa.Date),
    sa.Column("amount", sa.Float), sa.Column("cost", sa.Float), _text("channel", 20), sa.Column("hour", sa.Integer),
    indexes=(("customer_id",),),
    refs=(("customer_id", "sb_customer"),), bulk=True,
)
sb_order_line = _data_table(
    "sb_order_line",
    sa.Column("order_id", sa.Integer, nullable=False), sa.Column("product_id", sa.Integer, nullable=False),
    sa.Column("quantity", sa.Integer), sa.Column("unit_price", sa.Float),
    indexes=(("order_id",), ("product_id",)),
    refs=(("order_id", "sb_order"), ("product_id", "sb_product")), bulk=True,
)
sb_interaction = _data_table(
    "sb_interaction",
    sa.Column("customer_id", sa.Integer, nullable=False), sa.Column("happened_on", sa.Date), _text("kind", 20),
    _text("direction", 12), _text("rep", 40), sa.Column("note", sa.Text),
    indexes=(("customer_id",),),
    refs=(("customer_id", "sb_customer"),), bulk=True,
)
sb_ticket = _data_table(
    "sb_ticket",
    sa.Column("customer_id", sa.Integer, nullable=False), sa.Column("opened_on", sa.Date), _text("type", 20),
    _text("priority", 12), _text("status", 12), _text("resolution", 200), sa.Column("hours_to_resolve", sa.Float),
    sa.Column("satisfied_with_handling", sa.Boolean),
    indexes=(("customer_id",), ("status",)),
    refs=(("customer_id", "sb_customer"),),
)
sb_survey = _data_table(
    "sb_survey",
    sa.Column("customer_id", sa.Integer, nullable=False), sa.Column("surveyed_on", sa.Date),
    sa.Column("expectation_a", sa.Float), sa.Column("perception_b", sa.Float), sa.Column("satisfaction_c", sa.Float),
    sa.Column("would_recommend", sa.Boolean),
    indexes=(("customer_id",),),
    refs=(("customer_id", "sb_customer"),),
)
sb_campaign = _data_table(
    "sb_campaign",
    _text("name", 100), _text("channel", 20), sa.Column("cost_per_contact", sa.Float),
    sa.Column("fixed_cost", sa.Float), sa.Column("sent_on", sa.Date), sa.Column("segment_note", sa.Text),
)
# Per-customer figures from observable data (orders), computed once per sandbox version: list filters and sorts
# (tier, stage, RFM cell, revenue) run in SQL on this table.
sb_customer_metric = sa.Table(
    "sb_customer_metric", db.metadata,
    sa.Column("sandbox_id", sa.ForeignKey("sandbox.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("customer_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("n_orders", sa.Integer, nullable=False, default=0),
    sa.Column("revenue", sa.Float, nullable=False, default=0),
    sa.Column("profit", sa.Float, nullable=False, default=0),
    sa.Column("first_order_on", sa.Date),
    sa.Column("last_order_on", sa.Date),
    sa.Column("r", sa.SmallInteger), sa.Column("f", sa.SmallInteger), sa.Column("m", sa.SmallInteger),
    sa.Column("rfm", sa.String(3)),
    sa.Column("tier", sa.String(8)),
    sa.Column("stage", sa.String(16)),
    sa.Index("ix_sb_customer_metric_rfm", "sandbox_id", "rfm"),
    sa.Index("ix_sb_customer_metric_tier", "sandbox_id", "tier"),
    sa.Index("ix_sb_customer_metric_stage", "sandbox_id", "stage"),
    sa.Index("ix_sb_customer_metric_revenue", "sandbox_id", "revenue"),
    sa.ForeignKeyConstraint(["sandbox_id", "customer_id"], ["sb_customer.sandbox_id", "sb_customer.id"],
                            ondelete="CASCADE"),
    sqlite_with_rowid=False,
)

# The generator's table name -> our table, in insertion order (parents first).
DATA_TABLES: dict[str, sa.Table] = {
    "customers": sb_customer,
    "products": sb_product,
    "orders": sb_order,
    "order_lines": sb_order_line,
    "interactions": sb_interaction,
    "tickets": sb_ticket,
    "surveys": sb_survey,
    "campaigns": sb_campaign,
}


# ------------------------------------------------------------------------------------ what students do

class SbSegment(db.Model):
    """A student's saved segment: a named set of customer-list filters."""

    __tablename__ = "sb_segment"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(sa.ForeignKey("sandbox.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(60))
    filters: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    __table_args__ = (sa.UniqueConstraint("sandbox_id", "user_id", "name"),)


class SbCampaignRun(db.Model):
    """A student's simulated campaign on a segment, with a random baseline of the same size."""

    __tablename__ = "sb_campaign_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(sa.ForeignKey("sandbox.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    segment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sb_segment.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    filters: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    channel: Mapped[str] = mapped_column(sa.String(20), default="")
    cost_per_contact: Mapped[float] = mapped_column(default=0.0)
    fixed_cost: Mapped[float] = mapped_column(default=0.0)
    result: Mapped[dict] = mapped_column(sa.JSON, default=dict)  # {"campaign": {...}, "baseline": {...}}
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)


class SbStudentAction(db.Model):
    """Something a student did to a customer (logged an interaction, handled a ticket): an overlay on the data."""

    __tablename__ = "sb_student_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(sa.ForeignKey("sandbox.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # interaction | ticket
    ticket_id: Mapped[int | None] = mapped_column()
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    __table_args__ = (sa.CheckConstraint("kind in ('interaction', 'ticket')", name="kind"),)


class SbCaseRun(db.Model):
    """A case study started for a class in its sandbox; the discussion opens after the close time."""

    __tablename__ = "sb_case_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    sandbox_id: Mapped[int] = mapped_column(sa.ForeignKey("sandbox.id", ondelete="CASCADE"), index=True)
    class_id: Mapped[int | None] = mapped_column(sa.ForeignKey("school_class.id", ondelete="CASCADE"), index=True)
    case_key: Mapped[str] = mapped_column(sa.String(40), index=True)
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    closes_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    closed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    sandbox: Mapped[Sandbox] = relationship()

    __table_args__ = (sa.UniqueConstraint("sandbox_id", "case_key"),)


class SbExerciseAttempt(db.Model):
    """One answer to a sandbox exercise: the student's parameters, answer, score and feedback."""

    __tablename__ = "sb_exercise_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    sandbox_id: Mapped[int] = mapped_column(sa.ForeignKey("sandbox.id", ondelete="CASCADE"), index=True)
    exercise_key: Mapped[str] = mapped_column(sa.String(40), index=True)
    case_run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sb_case_run.id", ondelete="SET NULL"), index=True)
    # the assignment (kind 'sandbox_exercise') this attempt was made for; a plain id like ExamAttempt's, so the
    # sandbox works without the assignments feature
    assignment_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    sandbox_version: Mapped[int] = mapped_column(default=1)
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    answer: Mapped[Any] = mapped_column(sa.JSON)
    score: Mapped[float] = mapped_column(default=0.0)
    feedback: Mapped[list] = mapped_column(sa.JSON, default=list)  # lines of Chinese feedback
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, index=True)


class SbAnalysisCache(db.Model):
    """Analytics of one sandbox version computed once (npz blob): any process serves them without recomputing."""

    __tablename__ = "sb_analysis_cache"

    sandbox_id: Mapped[int] = mapped_column(sa.ForeignKey("sandbox.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(sa.String(60), primary_key=True)
    blob: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
