"""The grading queue page (批改队列): instructors settle the answers the automatic grading was unsure of."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.assignments import bp
from app.assignments import review as rv
from app.assignments.forms import ReviewForm
from app.extensions import db


def _instructor_only() -> None:
    if not (current_user.is_instructor or current_user.is_admin):
        abort(403)


@bp.route("/review")
@login_required
def review_queue():
    """Pending answers of the user's classes' assignments, oldest first."""
    _instructor_only()
    pending = rv.pending_for(current_user)
    return render_template("assignments/review_queue.html", pending=pending, form=ReviewForm(),
                           total=rv.pending_count(current_user))


@bp.route("/review/<int:answer_id>", methods=["POST"])
@login_required
def review_answer(answer_id: int):
    _instructor_only()
    pending = rv.get_pending(current_user, answer_id)
    if pending is None:
        abort(404)
    if pending.answer.review_status != "pending":
        flash("这道题已经批改过了。", "warning")
        return redirect(url_for("assignments.review_queue"))
    form = ReviewForm()
    if not form.validate_on_submit():
        flash("提交无效,请刷新页面后重试。", "danger")
        return redirect(url_for("assignments.review_queue"))
    points = form.score.data if request.form.get("action") == "change" else None
    if request.form.get("action") == "change" and (points is None or not 0 <= points <= pending.points):
        flash(f"得分应在 0 到本题满分 {pending.points:g} 之间,未做任何改动。", "danger")
        return redirect(url_for("assignments.review_queue"))
    rv.resolve(pending, current_user, points)
    db.session.commit()
    flash(f"已确定 {pending.student.name} 第 {pending.answer.position + 1} 题的得分:{pending.answer.score or 0:g} 分。",
          "success")
    return redirect(url_for("assignments.review_queue"))
