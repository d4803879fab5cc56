"""What students do: answers, practice sets, stars, the wrong-answer book, FSRS cards, mock exams."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.bank import Item
from app.models.base import utcnow

# Who closed an exam attempt (ExamAttempt.closed_by), as students and instructors read it.
CLOSED_BY = {
    "student": "主动交卷",
    "timeup": "时间到，自动交卷",
    "abandoned": "未交卷，超时后由系统收卷",
}


class PracticeSet(db.Model):
    """An ordered list of items a student works through (one mode and scope); the cursor is where they are."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    guest_key: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    mode: Mapped[str] = mapped_column(sa.String(20))
    scope: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    scope_key: Mapped[str] = mapped_column(sa.String(200), default="", index=True)
    item_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    cursor: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class ResponseRecord(db.Model):
    """One answer to one item (practice or exam), graded against the version the student saw."""

    __tablename__ = "response"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    guest_key: Mapped[str | None] = mapped_column(sa.String(40))  # indexed where set (__table_args__)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("item.id", ondelete="CASCADE"), index=True)
    item_version: Mapped[int] = mapped_column(default=1)
    mode: Mapped[str] = mapped_column(sa.String(20))  # not indexed: every look-up by mode also names the user
    set_id: Mapped[int | None] = mapped_column(sa.ForeignKey("practice_set.id", ondelete="SET NULL"))  # see below
    exam_id: Mapped[int | None] = mapped_column(sa.ForeignKey("exam_attempt.id", ondelete="CASCADE"), index=True)
    answer: Mapped[Any] = mapped_column(sa.JSON)
    score: Mapped[float | None] = mapped_column()  # automatic score 0..1 (None: self-assessed types)
    correct: Mapped[bool | None] = mapped_column()
    self_score: Mapped[float | None] = mapped_column()  # the student's own assessment 0..1
    self_ratings: Mapped[list | None] = mapped_column(sa.JSON)
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)  # see below

    item: Mapped[Item] = relationship()
    # A guest's key and a practice set's id are indexed only where set: an exam's responses (ten at each submit
    # at the bell) have neither, and adding their NULLs to two indexes was a third of the INSERT's work.
    # ``= value`` implies IS NOT NULL, so both databases use these for every look-up by key or set.
    # The time is not indexed: responses are read by user, item or exam (visitors' old rows, which the clean-up in
    # app/security.py deletes, through the user's index: NULL), and each index is ten entries more at every submit.
    __table_args__ = (
        sa.Index("ix_response_guest_key", "guest_key", postgresql_where=sa.text("guest_key IS NOT NULL"),
                 sqlite_where=sa.text("guest_key IS NOT NULL")),
        sa.Index("ix_response_set_id", "set_id", postgresql_where=sa.text("set_id IS NOT NULL"),
                 sqlite_where=sa.text("set_id IS NOT NULL")),
    )

    @property
    def effective_score(self) -> float | None:
        return self.score if self.score is not None else self.self_score


class Star(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("item.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    item: Mapped[Item] = relationship()
    __table_args__ = (sa.UniqueConstraint("user_id", "item_id"),)


class WrongEntry(db.Model):
    """An item in a student's 错题本. It leaves after right answers on two different later days."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("item.id", ondelete="CASCADE"), index=True)
    wrong_count: Mapped[int] = mapped_column(default=1)
    last_wrong_on: Mapped[date] = mapped_column(sa.Date)
    right_days: Mapped[int] = mapped_column(default=0)  # distinct days answered right since the last wrong answer
    last_right_on: Mapped[date | None] = mapped_column(sa.Date)
    cleared_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True), index=True)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    item: Mapped[Item] = relationship()
    __table_args__ = (sa.UniqueConstraint("user_id", "item_id"),)


class ReviewCard(db.Model):
    """The FSRS card of one item for one student (智能复习)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    item_id: Mapped[int] = mapped_column(sa.ForeignKey("item.id", ondelete="CASCADE"), index=True)
    card: Mapped[dict] = mapped_column(sa.JSON)
    due: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    reviews: Mapped[int] = mapped_column(default=0)
    item: Mapped[Item] = relationship()
    __table_args__ = (sa.UniqueConstraint("user_id", "item_id"),)


class ExamAttempt(db.Model):
    """A mock exam (or an assigned quiz): the paper, the server-side deadline and the result."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200), default="模拟考试")
    blueprint: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # [{item_id, version, points, order: [original option keys in displayed order]}]
    paper: Mapped[list] = mapped_column(sa.JSON, default=list)
    multi_rule: Mapped[str] = mapped_column(sa.String(20), default="partial")
    started_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    # deadline and status are not indexed: every query on them names the user or the assignment (indexed), and a
    # submit changes the status: with no index on what it changes, PostgreSQL updates the row in place (HOT)
    deadline: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    status: Mapped[str] = mapped_column(sa.String(12), default="open")  # open | graded
    # who closed it: student (交卷) | timeup (the bell, the page open) | abandoned (time ran out with the student away)
    closed_by: Mapped[str] = mapped_column(sa.String(12), default="")
    last_position: Mapped[int] = mapped_column(default=0, server_default="0")  # the question the student was on
    score: Mapped[float | None] = mapped_column()
    max_score: Mapped[float] = mapped_column(default=0)
    assignment_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    # when the student may see keys and feedback: after_submit | after_close (review_after) | never
    feedback_policy: Mapped[str] = mapped_column(sa.String(20), default="after_submit")
    review_after: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # whether the answers have fed the 错题本 and FSRS: only once the feedback policy lets the student see keys
    learning_applied: Mapped[bool] = mapped_column(default=False, server_default=sa.true())
    answers: Mapped[list[ExamAnswer]] = relationship(back_populates="attempt", cascade="all, delete-orphan",
                                                     order_by="ExamAnswer.position")


class ExamAnswer(db.Model):
    """The saved answer to one question of an attempt: autosave writes this one small row."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # looked up by attempt through the unique (attempt_id, position) index below
    attempt_id: Mapped[int] = mapped_column(sa.ForeignKey("exam_attempt.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column()
    answer: Mapped[Any] = mapped_column(sa.JSON)
    flagged: Mapped[bool] = mapped_column(default=False)
    saved_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    score: Mapped[float | None] = mapped_column()  # points earned, after grading
    # 名词解释/简答 the scorer was unsure of (待复核) in an assignment: pending until the instructor accepts the
    # suggested score or changes it (accepted | changed); None when the automatic grade stands
    review_status: Mapped[str | None] = mapped_column(sa.String(12))
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    attempt: Mapped[ExamAttempt] = relationship(back_populates="answers")
    # Autosave writes these rows at the bell: one index fewer per write (attempt_id alone is the unique index's
    # first column), and the review columns indexed only where set (rows sent to review, reviewers)
    __table_args__ = (
        sa.UniqueConstraint("attempt_id", "position"),
        sa.Index("ix_exam_answer_review_status", "review_status", postgresql_where=sa.text("review_status IS NOT NULL"),
                 sqlite_where=sa.text("review_status IS NOT NULL")),
        sa.Index("ix_exam_answer_reviewed_by_id", "reviewed_by_id",
                 postgresql_where=sa.text("reviewed_by_id IS NOT NULL"),
                 sqlite_where=sa.text("reviewed_by_id IS NOT NULL")),
    )
