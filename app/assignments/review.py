"""The grading queue: 名词解释/简答 answers in assignments that the scorer was unsure of (待复核).

``submit_exam`` marks such an answer ``pending`` with the suggested score; the class's instructor accepts it or
sets another, and the attempt's score (and so the gradebook) follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.clock import now
from app.extensions import db
from app.models import Item, User
from app.models.assignments import Assignment
from app.models.classes import SchoolClass
from app.models.practice import ExamAnswer, ExamAttempt, ResponseRecord


@dataclass
class Pending:
    answer: ExamAnswer
    attempt: ExamAttempt
    assignment: Assignment
    school_class: SchoolClass
    student: User
    item: Item
    points: float
    record: ResponseRecord | None

    @property
    def detail(self) -> dict[str, Any]:
        return (self.record.detail if self.record else None) or {}


def _managed(user: User) -> sa.Select[Any]:
    query = (sa.select(ExamAnswer, ExamAttempt, Assignment, SchoolClass)
             .join(ExamAttempt, ExamAnswer.attempt_id == ExamAttempt.id)
             .join(Assignment, ExamAttempt.assignment_id == Assignment.id)
             .join(SchoolClass, Assignment.class_id == SchoolClass.id))
    return query if user.is_admin else query.where(SchoolClass.instructor_id == user.id)


def pending_count(user: User) -> int:
    query = _managed(user).where(ExamAnswer.review_status == "pending")
    return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0


def pending_for(user: User, limit: int = 50) -> list[Pending]:
    """The oldest pending answers of the classes the user manages."""
    rows = db.session.execute(_managed(user).where(ExamAnswer.review_status == "pending")
                              .order_by(ExamAttempt.submitted_at, ExamAnswer.position).limit(limit)).all()
    return [_pending(*row) for row in rows]


def get_pending(user: User, answer_id: int) -> Pending | None:
    row = db.session.execute(_managed(user).where(ExamAnswer.id == answer_id)).first()
    return _pending(*row) if row is not None else None


def _pending(answer: ExamAnswer, attempt: ExamAttempt, assignment: Assignment, school_class: SchoolClass) -> Pending:
    entry = attempt.paper[answer.position]
    item = db.session.get(Item, entry["item_id"])
    assert item is not None
    record = db.session.scalar(sa.select(ResponseRecord).where(ResponseRecord.exam_id == attempt.id,
                                                               ResponseRecord.item_id == item.id))
    student = db.session.get(User, attempt.user_id)
    assert student is not None
    return Pending(answer, attempt, assignment, school_class, student, item, float(entry["points"]), record)


def resolve(pending: Pending, reviewer: User, points: float | None) -> None:
    """Accept the suggested score (``points`` None) or set another; the attempt's total follows."""
    answer = pending.answer
    if points is not None and points != answer.score:
        answer.score = points
        answer.review_status = "changed"
        if pending.record is not None:
            fraction = points / pending.points if pending.points else 0.0
            pending.record.score = fraction
            pending.record.correct = fraction >= 1.0
    else:
        answer.review_status = "accepted"
    answer.reviewed_by_id = reviewer.id
    answer.reviewed_at = now()
    attempt = pending.attempt
    attempt.score = round(sum(a.score or 0.0 for a in attempt.answers), 2)
