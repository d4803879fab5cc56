"""Exams that cannot be looked up.

- While a student has an open graded attempt (a class assignment), the items of its paper show no key and give
  no feedback to that student anywhere: the bank's item page, single-item practice, practice sets, earlier
  feedback pages and earlier exam results are refused with a clear message.
- Items an instructor marks 考试专用 （``Item.exam_only``） are not in the public bank, search, practice or mock
  exams; only instructors see their pages.
- Answers of an attempt whose feedback is withheld feed the 错题本 and FSRS only once the policy lets the student
  see keys (``apply_deferred_learning``); a ``never`` policy never feeds them.
- A student removed from a class can no longer work on or submit an attempt at that class's assignment.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from app.auth.decorators import role_required
from app.extensions import db
from app.models import Item, User
from app.models.practice import ExamAttempt, PracticeSet, ResponseRecord

LOCKED_MESSAGE = "考试进行中：这道题属于你正在作答的测验，交卷前不能查看它的答案、解析或练习反馈。"
REMOVED_MESSAGE = "你已不在这份作业所属的班级中，不能继续作答或交卷；如有疑问请联系任课教师。"


def init_exam_integrity(app: Flask) -> None:
    app.before_request(_guard)
    app.add_url_rule("/manage/items/<uid>/exam-only", "exam_only_toggle", exam_only_toggle, methods=["POST"])
    app.extensions.setdefault("crm_item_hooks", []).append(_item_context)


# ---------------------------------------------------------------- what is locked

def locked_item_ids(user_id: int) -> set[int]:
    """Items of the user's open attempts at class assignments (graded work)."""
    papers = db.session.scalars(sa.select(ExamAttempt.paper).where(
        ExamAttempt.user_id == user_id, ExamAttempt.status == "open", ExamAttempt.assignment_id.is_not(None)))
    return {int(entry["item_id"]) for paper in papers for entry in (paper or []) if "item_id" in entry}


def _student() -> bool:
    return bool(current_user.is_authenticated and not current_user.is_instructor)


def _refuse(message: str) -> Any:
    return render_template("error.html", code=403, title="暂不可查看", message=message), 403


def _item_of_view(endpoint: str, args: dict[str, Any]) -> int | None:
    """The item a request would show a key or feedback for (None: not such a request)."""
    if endpoint in ("bank.item", "practice.single"):
        return db.session.scalar(sa.select(Item.id).where(Item.uid == args.get("uid")))
    if endpoint == "practice.run":
        practice_set = db.session.get(PracticeSet, args.get("set_id"))
        if practice_set is None or practice_set.user_id != current_user.id:
            return None
        ids = practice_set.item_ids or []
        return int(ids[practice_set.cursor]) if practice_set.cursor < len(ids) else None
    if endpoint == "practice.answer":
        value = request.form.get("item_id", "")
        return int(value) if value.isdigit() and len(value) < 12 else None
    if endpoint in ("practice.feedback", "practice.assess"):
        return db.session.scalar(sa.select(ResponseRecord.item_id).where(
            ResponseRecord.id == args.get("response_id"), ResponseRecord.user_id == current_user.id))
    return None


def _guard() -> Any:
    endpoint = request.endpoint or ""
    if endpoint == "static":
        return None
    args = request.view_args or {}
    if endpoint == "practice.exam_save":
        from app.practice import autosave

        # a mock exam's autosave is one upsert and nothing else (its own statement checks owner, status and time);
        # a class assignment's autosave also checks the student is still in the class
        if autosave.is_plain_mock_exam(args.get("attempt_id")):
            return None
    if endpoint == "practice.exam_submit":
        from app.practice import bell_submit

        if bell_submit.eligible(args.get("attempt_id")):
            return None  # its own statement checks the user, owner and status; else the view calls guard_submit
        return guard_submit(args.get("attempt_id"))
    instructor = current_user.is_authenticated and current_user.is_instructor
    if endpoint in ("bank.item", "practice.single") and not instructor \
            and db.session.scalar(sa.select(Item.exam_only).where(Item.uid == args.get("uid"))):
        abort(404)
    if not _student():
        return None
    apply_deferred_learning(current_user.id)
    if endpoint in ("practice.exam", "practice.exam_save", "practice.exam_confirm"):
        return _guard_removed_student(args.get("attempt_id"))
    if endpoint == "practice.exam_result":
        return _guard_other_results(args.get("attempt_id"))
    if endpoint not in ("bank.item", "practice.single", "practice.run", "practice.answer", "practice.feedback",
                        "practice.assess"):
        return None
    locked = locked_item_ids(current_user.id)
    if locked and _item_of_view(endpoint, args) in locked:
        return _refuse(LOCKED_MESSAGE)
    return None


def guard_submit(attempt_id: Any) -> Any:
    """A submit by the ordinary route: the user and the attempt read together; a class assignment's student must
    still be in the class. (A submit at the bell does its own work only: no deferred learning, which its result page
    applies.)"""
    _load_user_with_attempt(attempt_id)
    if not _student():
        return None
    return _guard_removed_student(attempt_id)


def _guard_other_results(attempt_id: Any) -> Any:
    """An earlier attempt's result shows keys: not for items of a paper still being answered."""
    locked = locked_item_ids(current_user.id)
    if not locked:
        return None
    attempt = db.session.get(ExamAttempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id or attempt.status == "open":
        return None
    if {int(e.get("item_id", 0)) for e in attempt.paper or []} & locked:
        return _refuse("考试进行中：这次结果里有你正在作答的测验中的题目，交卷后再来查看。")
    return None


_USER_WITH_ATTEMPT = sa.select(User, ExamAttempt).outerjoin(ExamAttempt, ExamAttempt.id == sa.bindparam("attempt_id")) \
    .where(User.id == sa.bindparam("user_id"))  # built once: its cache key is memoised


def _load_user_with_attempt(attempt_id: Any) -> None:
    """A submit at the bell: the session's user and the attempt in one statement, not two.

    Flask-Login's loader (``app.models.users.load_user``, which still checks the session version) and the view then
    find both in the session's identity map; they are held in ``g`` for the request (the identity map is weak).
    """
    from app.practice.autosave import session_user

    who = session_user()
    if who is None or not isinstance(attempt_id, int):
        return
    row = db.session.execute(_USER_WITH_ATTEMPT, {"user_id": who[0], "attempt_id": attempt_id}).first()
    if row is not None:
        g.session_user, g.exam_attempt = row


def _guard_removed_student(attempt_id: Any) -> Any:
    """Refuse work on an assignment attempt once the student has left (or been removed from) its class."""
    attempt = db.session.get(ExamAttempt, attempt_id)
    # held for the request: the session's identity map holds objects weakly, and the view loads the same attempt
    # (a second query on every save and submit once this one was collected)
    g.exam_attempt = attempt
    if attempt is None or attempt.user_id != current_user.id or attempt.assignment_id is None \
            or attempt.status != "open":
        return None
    from app.models.assignments import Assignment
    from app.models.classes import Membership

    class_id = db.session.scalar(sa.select(Assignment.class_id).where(Assignment.id == attempt.assignment_id))
    if class_id is None:
        return None
    member = db.session.scalar(sa.select(Membership.id).where(Membership.class_id == class_id,
                                                              Membership.user_id == current_user.id))
    if member is None:
        if request.is_json:
            from flask import jsonify

            return jsonify(ok=False, error=REMOVED_MESSAGE), 403
        return _refuse(REMOVED_MESSAGE)
    return None


# ---------------------------------------------------------------- deferred learning

def learning_allowed_now(attempt: ExamAttempt) -> bool:
    """Whether the attempt's answers may feed the 错题本 and FSRS: when its keys may be shown."""
    from app.practice.services import feedback_visible

    return feedback_visible(attempt)


def apply_deferred_learning(user_id: int) -> int:
    """Feed the 错题本 and FSRS from graded attempts whose feedback has become visible since they were graded."""
    from app.practice.services import apply_exam_learning

    pending = list(db.session.scalars(sa.select(ExamAttempt).where(
        ExamAttempt.user_id == user_id, ExamAttempt.status == "graded", ExamAttempt.learning_applied.is_(False),
        ExamAttempt.feedback_policy == "after_close")))
    applied = 0
    for attempt in pending:
        if not learning_allowed_now(attempt):
            continue
        apply_exam_learning(attempt)
        applied += 1
    if applied:
        db.session.commit()
    return applied


# ---------------------------------------------------------------- 考试专用

def _item_context(item: Item) -> dict[str, Any]:
    if current_user.is_authenticated and current_user.is_instructor:
        return {"exam_only_panel": {"exam_only": bool(item.exam_only)}}
    return {}


@role_required("instructor")
def exam_only_toggle(uid: str) -> Any:
    """Mark an item 考试专用 (or public again)."""
    item = db.first_or_404(sa.select(Item).where(Item.uid == uid))
    item.exam_only = request.form.get("exam_only") == "1"
    db.session.commit()
    flash("已设为考试专用：题库、搜索、练习和模拟考试中不再出现。" if item.exam_only
          else "已取消考试专用：题目重新出现在公开题库中。", "success")
    return redirect(url_for("bank.item", uid=uid))
