"""The sandbox CRM: a generated company per class and what students do in it.

The generated company (customers, orders, order lines, tickets, ...) never changes once built, so it is not kept
here: it lives column-wise in one DuckDB file per sandbox version (``app/sandbox/store.py``), with the ids the
generator gave. What students do lives in these SQL tables (segments, campaign runs, actions, exercise attempts)
as overlays, and never changes the generated data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import utcnow

SCENARIOS = {
    "default": "综合零售(默认)",
    "walmart_basket": "购物篮分析(沃尔玛)",
    "cosmetics_members": "会员计划(化妆品公司)",
    "coca_cola_complaints": "投诉处理与口碑(可口可乐)",
    "convenience_time_of_day": "便利店分时段经营",
}
STATUSES = {"building": "生成中", "ready": "可用", "failed": "生成失败", "deleting": "删除中"}


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

    sandbox: Mapped[Sandbox] = relationship()

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
