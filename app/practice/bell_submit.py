"""Submit at the bell, PostgreSQL: a mock exam handed in with two round trips and no ORM in the request.

What the ordinary route (``practice.exam_submit`` through ``services.submit_exam``) does with the session's user, the
attempt's ORM object and the session's transaction, this does on one pooled DB-API connection (app/rawsql.py):

1. who is asking, from the signed session cookie (as autosave reads it: no statement);
2. one statement closes the attempt and reads it with its saved answers: the close is a data-modifying CTE whose
   WHERE checks what the ordinary route checks before it grades (the attempt is this user's, a mock exam, still
   open; the session's version is the user's current one), and the learning job's id is reserved with it;
3. the paper is graded in Python (``services._grade_paper``, as the ordinary route); the hand-in time and who closed
   it are decided as the ordinary route decides them (``services.close_reason``) and written with the score, and the
   grades (``services.pg_grade_writes``) and the COMMIT go to the server together.

No row from step 2 (another user's attempt, one already handed in, an ended session, a class assignment): nothing
was written, and the ordinary route answers the request and explains itself (404, the result page, the login page).
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app import jobs, rawsql
from app.clock import aware, now
from app.extensions import db
from app.practice import autosave
from app.practice import services as svc

_WHEN = sa.DateTime(timezone=True)
# the attempt's columns in the first row only (the paper is a few kilobytes of JSON; one row per saved answer)
CLAIM = rawsql.RawStatement(sa.text(
    "WITH closed AS (UPDATE exam_attempt SET status = 'graded', learning_applied = false "
    "WHERE id = :attempt_id AND user_id = :user_id AND status = 'open' AND assignment_id IS NULL "
    'AND EXISTS (SELECT 1 FROM "user" AS u WHERE u.id = :user_id AND COALESCE(u.session_version, 1) = :version) '
    "RETURNING id, paper, deadline, multi_rule, feedback_policy, review_after), "
    "reserved AS (SELECT nextval(pg_get_serial_sequence('job', 'id')) AS job_id) "
    "SELECT CASE WHEN row_number() OVER () = 1 THEN c.paper END AS paper, c.deadline, c.multi_rule, "
    "c.feedback_policy, c.review_after, r.job_id, a.id, a.position, a.answer, a.saved_at, a.review_status "
    "FROM closed AS c JOIN reserved AS r ON true LEFT JOIN exam_answer AS a ON a.attempt_id = c.id"
).columns(paper=sa.JSON, deadline=_WHEN, multi_rule=sa.String, feedback_policy=sa.String, review_after=_WHEN,
          job_id=sa.Integer, id=sa.Integer, position=sa.Integer, answer=sa.JSON, saved_at=_WHEN,
          review_status=sa.String))

Saved = namedtuple("Saved", "id position answer saved_at review_status")  # a saved answer, as grading reads it


@dataclass
class Claimed:
    """The attributes of ``ExamAttempt`` that deciding the close and grading read, from the claim's first row."""

    id: int
    user_id: int
    paper: list[dict[str, Any]]
    deadline: datetime | None
    multi_rule: str
    feedback_policy: str
    review_after: datetime | None
    status: str = "open"  # as the ordinary route sees it before its claim
    assignment_id: int | None = None


def eligible(attempt_id: Any) -> bool:
    """Whether a submit can take this path: PostgreSQL and a signed-in session with its version (no statement)."""
    if not isinstance(attempt_id, int) or db.engine.dialect.name != "postgresql":
        return False
    who = autosave.session_user()
    return who is not None and who[1] is not None


def submit(attempt_id: int, asked_by_bell: bool) -> bool | None:
    """Hand in a mock exam (``eligible`` first): whether it was late (after the deadline's grace), or None when the
    ordinary route must answer (nothing has been written)."""
    user_id, version = autosave.session_user()  # type: ignore[misc]
    with rawsql.transaction(db.engine) as tx:
        rows = tx.rows(CLAIM, {"attempt_id": attempt_id, "user_id": user_id, "version": version})
        if not rows:
            tx.rollback()
            return None
        paper, deadline, multi_rule, feedback_policy, review_after, job_id = rows[0][:6]
        attempt = Claimed(id=attempt_id, user_id=user_id, paper=paper, deadline=aware(deadline),
                          multi_rule=multi_rule, feedback_policy=feedback_policy, review_after=aware(review_after))
        late = not svc.accepting_answers(attempt)  # type: ignore[arg-type]
        closed_by = svc.close_reason(attempt, asked_by_bell)  # type: ignore[arg-type]
        cutoff = attempt.deadline + svc.grace() if attempt.deadline else None
        ended = now()
        attempt.status = "graded"
        answers = {row[7]: Saved(*row[6:]) for row in rows if row[6] is not None}
        graded = svc._grade_paper(attempt, svc.graded_versions(paper), answers, cutoff,  # type: ignore[arg-type]
                                  closed_by)
        # the 错题本 and FSRS: only when the feedback policy already lets the student see keys (as submit_exam)
        if not svc.policy_allows_feedback(attempt):  # type: ignore[arg-type]
            job_id = None
        submitted_at = min(ended, cutoff) if cutoff else ended
        for statement, values in svc.pg_grade_writes(attempt, answers, graded, job_id, submitted_at, closed_by):
            tx.send(statement, values)
    if job_id is not None:
        jobs.hand_over(job_id)
    return late
