"""The 'quiz' assignment kind (see the package docstring for the interface every kind offers)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import url_for

from app.assignments import services as svc
from app.extensions import db
from app.models.assignments import Assignment
from app.models.classes import SchoolClass
from app.models.practice import ExamAttempt
from app.practice.services import accepting_answers

Score = tuple[float, float, datetime | None]


class QuizKind:
    """测验: items chosen by uid or drawn by a blueprint, taken on the practice exam pages."""

    label = "测验"

    def student_url(self, assignment: Assignment) -> str:
        return url_for("assignments.detail", assignment_id=assignment.id)

    def create_url(self, school_class: SchoolClass) -> str:
        return url_for("assignments.new", class_id=school_class.id)

    def edit_url(self, assignment: Assignment) -> str:
        return url_for("assignments.edit", assignment_id=assignment.id)

    def scores(self, assignment: Assignment, user_ids: list[int]) -> dict[int, Score]:
        counted = svc.counting_attempts([assignment], user_ids)
        return {user_id: (row.score, row.max_score, row.submitted_at) for (_a, user_id), row in counted.items()}

    def score(self, assignment: Assignment, user_id: int) -> Score | None:
        return self.scores(assignment, [user_id]).get(user_id)

    def status(self, assignment: Assignment, user_id: int) -> str:
        rows = db.session.scalars(sa.select(ExamAttempt).where(
            ExamAttempt.assignment_id == assignment.id, ExamAttempt.user_id == user_id)).all()
        if any(r.status == "open" and accepting_answers(r) for r in rows):
            return "in_progress"
        if rows and any(r.status != "open" or not accepting_answers(r) for r in rows):
            return "submitted"  # an attempt whose time ran out is graded on its owner's next visit"
        return "not_started"

    def max_points(self, assignment: Assignment) -> float:
        return svc.quiz_max_points(assignment)

    def prepare(self, assignment: Assignment) -> None:
        svc.close_expired_attempts(assignment)


def register(app) -> None:
    app.extensions.setdefault("crm_assignment_kinds", {})["quiz"] = QuizKind()
