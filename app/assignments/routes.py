"""Assignment pages: class lists, the quiz form, taking a quiz, the gradebook, overrides, statistics."""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import quote

import sqlalchemy as sa
from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app.assignments import bp
from app.assignments import gradebook as gb
from app.assignments import services as svc
from app.assignments import statistics as st
from app.assignments.forms import ActionForm, OverrideForm, QuizForm
from app.auth.decorators import class_or_404
from app.charts import bar_chart
from app.extensions import db
from app.formutil import choices
from app.models import Item, Topic
from app.models.assignments import Assignment
from app.models.classes import Membership, SchoolClass, classes_of
from app.models.practice import ExamAttempt
from app.scores import format_score, round_score
from app.timefmt import for_input, from_local


def _assignment_or_404(assignment_id: int, manage: bool = False) -> Assignment:
    assignment = db.get_or_404(Assignment, assignment_id)
    class_or_404(assignment.class_id, manage)
    return assignment


def _manages(school_class: SchoolClass) -> bool:
    return school_class.can_manage(current_user)


# ---------------------------------------------------------------- lists

@bp.route("/")
@login_required
def index():
    """Every class of the user with its assignments."""
    from app.assignments.review import pending_count

    pending = pending_count(current_user) if current_user.is_instructor else 0
    return render_template("assignments/index.html", classes=classes_of(current_user), review_pending=pending)


@bp.route("/class/<int:class_id>/")
@login_required
def class_list(class_id: int):
    school_class = class_or_404(class_id)
    manage = _manages(school_class)
    other_kinds = []
    if manage:
        for name, kind in svc.kinds().items():
            url = kind.create_url(school_class) if hasattr(kind, "create_url") else None
            if name != "quiz" and url:
                other_kinds.append((kind.label, url))
    return render_template("assignments/class_list.html", school_class=school_class, manage=manage,
                           other_kinds=other_kinds)


# ---------------------------------------------------------------- the quiz form

def _topic_choices():
    return choices((t.slug, t.name) for t in db.session.scalars(sa.select(Topic).order_by(Topic.position)))


def _source_errors(form: QuizForm) -> dict:
    """Check the items or the blueprint; return the settings, or attach errors to the form."""
    if form.source.data == "blueprint":
        sections = form.sections()
        errors = svc.check_blueprint(form.topics.data or [], sections)
        if errors:
            form.topics.errors = list(form.topics.errors) + errors
            return {}
        return {"source": "blueprint", "blueprint": {"topics": form.topics.data or [], "sections": sections}}
    entries, errors = svc.parse_item_list(form.item_list.data or "")
    if errors:
        form.item_list.errors = list(form.item_list.errors) + errors
        return {}
    return {"source": "items", "items": entries}


def _save_quiz(form: QuizForm, assignment: Assignment) -> bool:
    if not form.validate_on_submit():
        if request.method == "POST":
            _source_errors(form)  # show every problem at once
        return False
    settings = _source_errors(form)
    if not settings:
        return False
    assignment.title = form.title.data
    assignment.description = form.description.data or ""
    assignment.opens_at = from_local(form.opens_at.data)
    assignment.closes_at = from_local(form.closes_at.data)
    assignment.time_limit = form.time_limit.data or None
    assignment.attempts_allowed = form.attempts_allowed.data
    assignment.grading_rule = form.grading_rule.data
    assignment.feedback_policy = form.feedback_policy.data
    assignment.shuffle = bool(form.shuffle.data)
    assignment.settings = settings
    return True


def _render_form(form: QuizForm, school_class: SchoolClass, assignment: Assignment | None):
    sizes = svc.pool_sizes(form.topics.data or [])
    used = 0
    if assignment is not None:
        used = db.session.scalar(sa.select(sa.func.count()).select_from(ExamAttempt).where(
            ExamAttempt.assignment_id == assignment.id)) or 0
    return render_template("assignments/form.html", form=form, school_class=school_class, assignment=assignment,
                           quiz_types=svc.QUIZ_TYPES, sizes=sizes, used=used), 400 if request.method == "POST" else 200


@bp.route("/class/<int:class_id>/new", methods=["GET", "POST"])
@login_required
def new(class_id: int):
    school_class = class_or_404(class_id, manage=True)
    form = QuizForm()
    form.topics.choices = _topic_choices()
    assignment = Assignment(class_id=school_class.id, kind="quiz", created_by_id=current_user.id)
    if _save_quiz(form, assignment):
        db.session.add(assignment)
        db.session.commit()
        flash("测验已创建。", "success")
        return redirect(url_for("assignments.detail", assignment_id=assignment.id))
    return _render_form(form, school_class, None)


@bp.route("/<int:assignment_id>/edit", methods=["GET", "POST"])
@login_required
def edit(assignment_id: int):
    assignment = _assignment_or_404(assignment_id, manage=True)
    if assignment.kind != "quiz":
        kind = svc.kind_of(assignment)
        url = kind.edit_url(assignment) if kind is not None and hasattr(kind, "edit_url") else None
        if url:
            return redirect(url)
        abort(404)
    form = QuizForm()
    form.topics.choices = _topic_choices()
    if request.method == "GET":
        settings = assignment.settings or {}
        form.title.data, form.description.data = assignment.title, assignment.description
        form.opens_at.data, form.closes_at.data = for_input(assignment.opens_at), for_input(assignment.closes_at)
        form.time_limit.data, form.attempts_allowed.data = assignment.time_limit, assignment.attempts_allowed
        form.grading_rule.data, form.feedback_policy.data = assignment.grading_rule, assignment.feedback_policy
        form.shuffle.data = assignment.shuffle
        form.source.data = settings.get("source", "items")
        form.item_list.data = svc.item_list_text(settings)
        blueprint = settings.get("blueprint") or {}
        form.topics.data = blueprint.get("topics") or []
        for section in blueprint.get("sections") or []:
            getattr(form, f"count_{section['type']}").data = section["count"]
            getattr(form, f"points_{section['type']}").data = section["points"]
    elif _save_quiz(form, assignment):
        svc.reapply_settings(assignment)
        db.session.commit()
        flash("测验已保存。", "success")
        return redirect(url_for("assignments.detail", assignment_id=assignment.id))
    return _render_form(form, assignment.school_class, assignment)


@bp.route("/<int:assignment_id>/delete", methods=["POST"])
@login_required
def delete(assignment_id: int):
    assignment = _assignment_or_404(assignment_id, manage=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    taken = db.session.scalar(sa.select(sa.func.count()).select_from(ExamAttempt).where(
        ExamAttempt.assignment_id == assignment.id)) or 0
    if taken:
        flash(f"已有 {taken} 次作答，不能删除；可以把截止时间提前来结束它。", "warning")
        return redirect(url_for("assignments.detail", assignment_id=assignment.id))
    class_id = assignment.class_id
    db.session.delete(assignment)
    db.session.commit()
    flash("已删除。", "success")
    return redirect(url_for("assignments.class_list", class_id=class_id))


@bp.route("/items")
@login_required
def item_search():
    """Find items to put in a quiz: a JSON list for the picker, or a page when scripts are off."""
    if not current_user.is_instructor:
        abort(403)
    from app.bank.services import item_query, search_condition

    q = (request.args.get("q") or "").strip()[:100]
    item_type = request.args.get("type") if request.args.get("type") in svc.QUIZ_TYPES else None
    stmt = item_query(item_type=item_type).where(Item.key_source != "none", Item.type.in_(svc.QUIZ_TYPES))
    if q:  # an item id (or part of one) or words of the stem, options and answer
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(sa.or_(Item.uid.ilike(f"%{escaped}%", escape="\\"), search_condition(q)))
    stmt = stmt.limit(30)
    items = list(db.session.scalars(stmt))
    if request.args.get("format") == "json":
        from question_bank.schema import ITEM_TYPES

        return jsonify(items=[{"uid": i.uid, "type": ITEM_TYPES.get(i.type, i.type), "stem": i.stem[:80],
                               "points": svc.DEFAULT_POINTS.get(i.type, 1.0)} for i in items])
    return render_template("assignments/item_search.html", items=items, q=q, item_type=item_type,
                           quiz_types=svc.QUIZ_TYPES)


# ---------------------------------------------------------------- a student's page and taking the quiz

@bp.route("/<int:assignment_id>")
@login_required
def detail(assignment_id: int):
    assignment = _assignment_or_404(assignment_id)
    school_class = assignment.school_class
    manage = _manages(school_class)
    kind = svc.kind_of(assignment)
    if assignment.kind != "quiz" and kind is not None and not manage:
        return redirect(kind.student_url(assignment))
    context = {"assignment": assignment, "school_class": school_class, "manage": manage, "kind": kind,
               "phase": svc.phase(assignment), "form": ActionForm(), "max_points": svc.quiz_max_points(assignment),
               "item_count": svc.quiz_item_count(assignment)}
    if manage:
        context["summary"] = _summary(assignment, school_class)
    else:
        svc.open_attempt(assignment, current_user.id)  # grade an attempt whose time ran out
        attempts = svc.my_attempts(assignment, current_user.id)
        counted = svc.counting_attempts([assignment], [current_user.id]).get((assignment.id, current_user.id))
        context.update(attempts=attempts, counted=counted,
                       late_ids={a.id for a in attempts if svc.is_late(
                           assignment, svc.handed_in_at(a.submitted_at, a.closed_by, a.deadline))},
                       blocker=svc.start_blockers(assignment, current_user.id),
                       current=next((a for a in attempts if a.status == "open"), None),
                       used=svc.attempts_used(assignment, current_user.id),
                       cell=gb.cell_of(assignment, current_user.id, prepare=False))
    return render_template("assignments/detail.html", **context)


def _summary(assignment: Assignment, school_class: SchoolClass) -> dict:
    students = svc.students_of(school_class)
    counted = svc.counting_attempts([assignment], [m.user_id for m in students])
    scores = [row.score / row.max_score for row in counted.values() if row.max_score]
    late = sum(1 for row in counted.values() if svc.is_late(assignment, row.submitted_at))
    return {"students": len(students), "submitted": len(counted), "late": late,
            "mean": sum(scores) / len(scores) if scores else None}


@bp.route("/<int:assignment_id>/start", methods=["POST"])
@login_required
def start(assignment_id: int):
    assignment = _assignment_or_404(assignment_id)
    if assignment.kind != "quiz" or not assignment.school_class.has_member(current_user):
        abort(403)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        attempt = svc.start_attempt(assignment, current_user.id)
    except svc.AssignmentError as error:
        db.session.rollback()
        flash(str(error), "warning")
        return redirect(url_for("assignments.detail", assignment_id=assignment.id))
    db.session.commit()
    return redirect(url_for("practice.exam", attempt_id=attempt.id))


# ---------------------------------------------------------------- gradebook and overrides

@bp.route("/class/<int:class_id>/gradebook")
@login_required
def gradebook(class_id: int):
    school_class = class_or_404(class_id, manage=True)
    return render_template("assignments/gradebook.html", book=gb.build_gradebook(school_class))


@bp.route("/class/<int:class_id>/gradebook.csv")
@login_required
def gradebook_csv(class_id: int):
    school_class = class_or_404(class_id, manage=True)
    body = gb.gradebook_csv(gb.build_gradebook(school_class))
    name = quote(f"{school_class.name}-成绩册.csv", safe="")
    return Response(body.encode("utf-8"), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=gradebook-class{school_class.id}.csv; filename*=UTF-8''{name}"})


@bp.route("/<int:assignment_id>/grades/<int:user_id>", methods=["GET", "POST"])
@login_required
def grade(assignment_id: int, user_id: int):
    assignment = _assignment_or_404(assignment_id, manage=True)
    member = db.session.scalar(sa.select(Membership).where(Membership.class_id == assignment.class_id,
                                                           Membership.user_id == user_id))
    if member is None:
        abort(404)
    form = OverrideForm()
    cell = gb.cell_of(assignment, user_id)
    if form.validate_on_submit():
        score = None if form.clear.data or form.score.data is None else round_score(form.score.data)
        if score is None and not form.clear.data:
            form.score.errors = [*form.score.errors, "请填写新的得分，或勾选“撤销改分”"]
        elif score is not None and not 0 <= score <= (cell.max if cell.max is not None else 1000):
            form.score.errors = [*form.score.errors, f"得分应在 0 到满分 {format_score(cell.max or 0)} 之间"]
        elif form.clear.data and cell.override is None:
            form.clear.errors = [*form.clear.errors, "当前没有改分，无需撤销"]
        else:
            gb.override_score(assignment, user_id, score, form.reason.data, current_user.id)
            db.session.commit()
            flash("已撤销改分。" if score is None else "已改分并记录理由。", "success")
            return redirect(url_for("assignments.gradebook", class_id=assignment.class_id))
    attempts = svc.my_attempts(assignment, user_id)
    return render_template("assignments/grade.html", assignment=assignment, member=member, cell=cell, form=form,
                           attempts=attempts), 400 if request.method == "POST" else 200


# ---------------------------------------------------------------- statistics

@bp.route("/<int:assignment_id>/statistics")
@login_required
def statistics(assignment_id: int):
    assignment = _assignment_or_404(assignment_id, manage=True)
    data = st.assignment_statistics(assignment)
    order = {e["item_id"]: i for i, e in enumerate((assignment.settings or {}).get("items") or [])}
    data["items"].sort(key=lambda r: (order.get(r["item"].id, len(order)), r["item"].position, r["item"].id))
    return render_template("assignments/statistics.html", assignment=assignment, data=data, form=ActionForm(),
                           candidates=[r for r in data["items"] if r["stats"].flag_candidate],
                           low=st.LOW_DISCRIMINATION, min_n=st.MIN_ATTEMPTS)


@bp.route("/<int:assignment_id>/statistics/flag", methods=["POST"])
@login_required
def flag(assignment_id: int):
    assignment = _assignment_or_404(assignment_id, manage=True)
    if not ActionForm().validate_on_submit():
        abort(400)
    flagged = st.apply_flags(st.assignment_statistics(assignment)["items"])
    db.session.commit()
    flash(f"已标记 {len(flagged)} 道题，它们会出现在答案核对队列中。" if flagged else "没有新的需要标记的题目。",
          "success" if flagged else "info")
    return redirect(url_for("assignments.statistics", assignment_id=assignment.id))


@dataclass
class _Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    has_prev = property(lambda self: self.page > 1)
    has_next = property(lambda self: self.page < self.pages)
    prev_num = property(lambda self: self.page - 1)
    next_num = property(lambda self: self.page + 1)


def _sort_key(row):
    d = row["stats"].discrimination
    return (d is None, d if d is not None else 0.0, row["item"].position)


@bp.route("/statistics")
@login_required
def bank_statistics():
    """Item statistics pooled over every quiz in every class (instructors)."""
    if not current_user.is_instructor:
        abort(403)
    rows = sorted(st.bank_statistics(), key=_sort_key)
    only_flagged = request.args.get("only") == "candidates"
    if only_flagged:
        rows = [r for r in rows if r["stats"].flag_candidate]
    page = request.args.get("page", 1, type=int) or 1
    per_page = 50
    page = max(1, min(page, max(1, math.ceil(len(rows) / per_page))))
    view = _Page(rows[(page - 1) * per_page: page * per_page], page, per_page, len(rows))
    candidates = sum(1 for r in rows if r["stats"].flag_candidate)
    return render_template("assignments/bank_statistics.html", page=view, form=ActionForm(), only_flagged=only_flagged,
                           candidates=candidates, low=st.LOW_DISCRIMINATION, min_n=st.MIN_ATTEMPTS)


@bp.route("/statistics/flag", methods=["POST"])
@login_required
def bank_flag():
    if not current_user.is_instructor:
        abort(403)
    if not ActionForm().validate_on_submit():
        abort(400)
    flagged = st.apply_flags(st.bank_statistics())
    db.session.commit()
    flash(f"已标记 {len(flagged)} 道题，它们会出现在答案核对队列中。" if flagged else "没有新的需要标记的题目。",
          "success" if flagged else "info")
    return redirect(url_for("assignments.bank_statistics"))


@bp.route("/class/<int:class_id>/topics")
@login_required
def topics(class_id: int):
    """How the class does per topic: mean score fraction over the counting attempts, as a bar chart."""
    school_class = class_or_404(class_id, manage=True)
    assignments = [a for a in svc.class_assignments(class_id) if a.kind == "quiz"]
    chosen = request.args.get("assignment", type=int)
    scope = [a for a in assignments if a.id == chosen] if chosen else assignments
    rows = st.topic_performance(scope)
    chart = bar_chart([(r["topic"].name, r["mean"]) for r in rows], "各专题平均得分率", y_max=1.0) if rows else None
    return render_template("assignments/topics.html", school_class=school_class, assignments=assignments,
                           chosen=chosen, rows=rows, chart=chart)

