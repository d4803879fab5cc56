"""Assignments given to a class, the numbering of students' attempts at them, and instructors' score overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import utcnow
from app.models.classes import SchoolClass
from app.models.users import User

GRADING_RULES = {"highest": "最高分", "last": "最后一次", "first": "第一次"}
FEEDBACK_POLICIES = {
    "after_submit": "交卷后立即可看答案与反馈",
    "after_close": "截止时间过后才可看答案与反馈",
    "never": "不公布答案与反馈（只显示得分）",
}


class Assignment(db.Model):
    """Work set for a class between an open and a close time; ``kind`` says which engine runs it (quiz, ...)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(sa.ForeignKey("school_class.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default="quiz", index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    opens_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))  # None: open at once
    closes_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True), index=True)  # None: no deadline
    time_limit: Mapped[int | None] = mapped_column()  # minutes per attempt; None: until the close time
    attempts_allowed: Mapped[int] = mapped_column(default=1)  # 0: unlimited
    grading_rule: Mapped[str] = mapped_column(sa.String(12), default="highest")
    shuffle: Mapped[bool] = mapped_column(default=True)  # question order of a chosen-items quiz
    feedback_policy: Mapped[str] = mapped_column(sa.String(20), default="after_submit")
    # kind-specific configuration; a quiz keeps {"source": "items", "items": [{"item_id", "uid", "points"}]}
    # or {"source": "blueprint", "blueprint": {"topics": [...], "sections": [{"type", "count", "points"}]}}
    settings: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    school_class: Mapped[SchoolClass] = relationship()

    __table_args__ = (
        sa.CheckConstraint("grading_rule in ('highest', 'last', 'first')", name="grading_rule"),
        sa.CheckConstraint("feedback_policy in ('after_submit', 'after_close', 'never')", name="feedback_policy"),
        sa.CheckConstraint("attempts_allowed >= 0", name="attempts_allowed"),
        sa.CheckConstraint("time_limit is null or time_limit > 0", name="time_limit"),
    )

    @property
    def grading_rule_label(self) -> str:
        return GRADING_RULES.get(self.grading_rule, self.grading_rule)

    @property
    def feedback_label(self) -> str:
        return FEEDBACK_POLICIES.get(self.feedback_policy, self.feedback_policy)


class AssignmentAttempt(db.Model):
    """Numbers a student's attempts: the unique number keeps 'attempts allowed' true even when two starts race."""

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignment.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    exam_attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_attempt.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    __table_args__ = (sa.UniqueConstraint("assignment_id", "user_id", "number"),)


class ScoreOverride(db.Model):
    """An instructor's change to a student's score, kept as history; the newest row wins (score None: withdrawn)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(sa.ForeignKey("assignment.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    score: Mapped[float | None] = mapped_column()
    previous: Mapped[float | None] = mapped_column()  # the score shown before this change
    reason: Mapped[str] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    student: Mapped[User] = relationship(foreign_keys=[user_id])
