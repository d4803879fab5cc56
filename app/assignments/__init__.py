"""Assignments (作业) for a class, the gradebook (成绩册) and item statistics (题目统计).

Assignment kinds are a registry
-------------------------------
``app.extensions["crm_assignment_kinds"]`` maps ``Assignment.kind`` (a short string stored on the row) to an
object that runs that kind of work. This package registers ``"quiz"`` (测验: chosen items or a blueprint draw,
taken on the practice exam pages). Another feature plugs in its own kind from its blueprint::

    @bp.record_once
    def _register(state):
        state.app.extensions.setdefault("crm_assignment_kinds", {})["exercise"] = ExerciseKind()

Required members of a kind object:

``label: str``
    The Chinese name shown in lists, e.g. ``"测验"``, ``"沙盒实训"``.
``student_url(assignment) -> str``
    Where a student goes to work on (or review) the assignment.
``score(assignment, user_id) -> tuple[float, float, datetime | None] | None``
    ``(earned, max, submitted_at)`` of the attempt that counts for this student, or ``None`` when the student
    has nothing submitted. ``submitted_at`` is timezone-aware UTC (it decides 迟交: submitted after
    ``assignment.closes_at``).

Optional members (the gradebook and lists use them when present):

``scores(assignment, user_ids) -> dict[int, tuple[float, float, datetime | None]]``
    The same as ``score`` for many students in a few queries (the gradebook calls this once per column).
``status(assignment, user_id) -> str``
    ``"not_started" | "in_progress" | "submitted"``; without it a student with a score is "submitted".
``max_points(assignment) -> float | None``
    Full marks before anyone has an attempt (a missing student counts 0 out of this in the totals).
``prepare(assignment) -> None``
    Called before the gradebook reads scores (the quiz grades attempts whose time ran out here).
``create_url(school_class) -> str | None`` / ``edit_url(assignment) -> str | None``
    Pages where the class's instructor creates / edits an assignment of this kind; a kind with its own
    configuration page creates the ``Assignment`` row itself (``kind=...``, its settings in
    ``Assignment.settings``) and keeps ``opens_at`` / ``closes_at`` meaningful.

Open and close times, 迟交/缺交 marks, instructors' overrides (with reason, who and when) and the CSV export are
handled here for every kind; a kind only answers the questions above.
"""

from flask import Blueprint

bp = Blueprint("assignments", __name__, url_prefix="/assignments")

from app.assignments import hooks, review_routes, routes  # noqa: E402,F401
