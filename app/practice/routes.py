"""Practice modes, the 错题本 and stars, mock exams, and the progress page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required

from app.bank.services import notes_for_topics, seed_names
from app.extensions import db
from app.formutil import choices
from app.grading import MULTI_CHOICE_RULES, REGISTRY, SELF_RATINGS
from app.models import Item, Topic
from app.models.practice import ExamAnswer, ExamAttempt, PracticeSet, ResponseRecord, Star, WrongEntry
from app.practice import autosave, bell_submit, bp
from app.practice import services as svc
from app.practice.forms import BlueprintForm, StartForm
from app.practice.progress import progress_data
from question_bank.seeds import seed_title


def owner(create: bool = True) -> svc.Owner:
    if current_user.is_authenticated:
        return svc.Owner(current_user.id, None)
    key = session.get("guest_key")
    if key is None and create:
        key = session["guest_key"] = svc.new_guest_key()
    return svc.Owner(None, key)


def _topic_choices():
    return choices([("", "全部专题")] + [(t.slug, t.name) for t in db.session.scalars(sa.select(Topic).order_by(Topic.position))])


@bp.route("/practice/")
def home():
    form = StartForm(request.args)
    form.topic.choices = _topic_choices()
    form.seed.choices = choices([("", "全部资料")] + [(s, seed_title(s)) for s in seed_names()])
    counts = {}
    if current_user.is_authenticated:
        counts["wrong"] = db.session.scalar(sa.select(sa.func.count()).select_from(WrongEntry).where(
            WrongEntry.user_id == current_user.id, WrongEntry.cleared_at.is_(None))) or 0
        counts["starred"] = db.session.scalar(sa.select(sa.func.count()).select_from(Star).where(
            Star.user_id == current_user.id)) or 0
        counts["due"] = svc.due_today(current_user.id)
    gradable = db.session.scalar(sa.select(sa.func.count()).select_from(Item).where(
        Item.retired.is_(False), Item.key_source != "none")) or 0
    return render_template("practice/home.html", form=form, counts=counts, gradable=gradable, modes=svc.MODES)


@bp.route("/practice/start")
def start():
    mode = request.args.get("mode", "sequential")
    if mode not in svc.MODES or mode == "single":
        abort(404)
    if mode in ("wrong", "starred", "review") and not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    scope = {"types": sorted(set(request.args.getlist("types")) & set(REGISTRY)),
             "topic": request.args.get("topic") or "", "seed": request.args.get("seed") or ""}
    if mode in ("random", "review"):
        try:
            scope["count"] = max(1, min(200, int(request.args.get("count") or 20)))
        except ValueError:
            scope["count"] = 20
    if mode == "topic" and not scope["topic"]:
        flash("请选择一个专题。", "warning")
        return redirect(url_for("practice.home"))
    practice_set = svc.build_set(owner(), mode, scope)
    if practice_set is None:
        db.session.rollback()
        flash("没有符合条件的题目。", "warning")
        return redirect(url_for("practice.home"))
    db.session.commit()
    return redirect(url_for("practice.run", set_id=practice_set.id))


@bp.route("/practice/items/<uid>")
def single(uid: str):
    item = db.first_or_404(sa.select(Item).where(Item.uid == uid, Item.retired.is_(False)))
    if not item.gradable:
        flash("这道题还没有答案，暂不能作答。", "warning")
        return redirect(url_for("bank.item", uid=uid))
    practice_set = svc.build_set(owner(), "single", {"item_ids": [item.id]})
    db.session.commit()
    return redirect(url_for("practice.run", set_id=practice_set.id))


def _load_set(set_id: int) -> PracticeSet:
    practice_set = svc.get_set(owner(create=False), set_id)
    if practice_set is None:
        abort(404)
    return practice_set


@bp.route("/practice/sets/<int:set_id>")
def run(set_id: int):
    practice_set = _load_set(set_id)
    total = len(practice_set.item_ids)
    marks = svc.set_marks(practice_set)
    if practice_set.cursor >= total:
        responses = db.session.scalars(sa.select(ResponseRecord).where(ResponseRecord.set_id == practice_set.id)).all()
        scored = [r.effective_score for r in responses if r.effective_score is not None]
        return render_template("practice/done.html", practice_set=practice_set, total=total, answered=len(responses),
                               accuracy=(sum(scored) / len(scored)) if scored else None, modes=svc.MODES,
                               unanswered=[i for i, item_id in enumerate(practice_set.item_ids) if item_id not in marks])
    item = db.session.get(Item, practice_set.item_ids[practice_set.cursor])
    if item is None or item.retired:
        practice_set.cursor += 1
        db.session.commit()
        return redirect(url_for("practice.run", set_id=set_id))
    notes = notes_for_topics(t.name for t in item.topics) if practice_set.mode == "study" else []
    starred = current_user.is_authenticated and svc.is_starred(current_user.id, item.id)
    return render_template("practice/question.html", practice_set=practice_set, item=item, position=practice_set.cursor,
                           total=total, modes=svc.MODES, study=practice_set.mode == "study", notes=notes,
                           marks=marks, starred=starred,
                           rule=MULTI_CHOICE_RULES[current_app.config["MULTI_CHOICE_RULE"]])


@bp.route("/practice/sets/<int:set_id>/answer", methods=["POST"])
def answer(set_id: int):
    practice_set = _load_set(set_id)
    try:
        item_id = int(request.form.get("item_id", ""))
    except ValueError:
        abort(400)
    if item_id not in practice_set.item_ids:
        abort(400)
    item = db.get_or_404(Item, item_id)
    if not item.gradable:
        abort(400)
    values = request.form.getlist("answer")
    if svc.is_blank_answer(item, values):
        # an empty submission is a skip, not a wrong answer: nothing is recorded
        svc.skip(practice_set, item.id)
        db.session.commit()
        flash("这道题没有作答，已跳过（不计入正确率，也不进错题本）。", "warning")
        return redirect(url_for("practice.run", set_id=set_id))
    record, _result = svc.record_answer(owner(), item, values, practice_set.mode, practice_set)
    db.session.commit()
    return redirect(url_for("practice.feedback", response_id=record.id))


@bp.route("/practice/sets/<int:set_id>/goto", methods=["POST"])
def goto(set_id: int):
    """Move through a set without answering: 上一题, 下一题/跳过 (nothing is recorded) or a number on the grid."""
    practice_set = _load_set(set_id)
    total = len(practice_set.item_ids)
    raw = request.form.get("position")
    try:
        position = min(practice_set.cursor + 1, total) if raw in (None, "") else int(raw)
    except ValueError:
        abort(400)
    if not 0 <= position <= total:
        abort(400)
    practice_set.cursor = position
    db.session.commit()
    return redirect(url_for("practice.run", set_id=set_id))


def _load_response(response_id: int) -> ResponseRecord:
    me = owner(create=False)
    record = db.session.scalar(sa.select(ResponseRecord).where(ResponseRecord.id == response_id,
                                                               me.filter(ResponseRecord)))
    if record is None or record.exam_id is not None:
        abort(404)
    return record


@bp.route("/practice/responses/<int:response_id>")
def feedback(response_id: int):
    record = _load_response(response_id)
    item = record.item
    content = svc.version_content(item, record.item_version)
    practice_set = db.session.get(PracticeSet, record.set_id) if record.set_id else None
    notes = notes_for_topics(t.name for t in item.topics)
    starred = current_user.is_authenticated and svc.is_starred(current_user.id, item.id)
    return render_template("practice/feedback.html", record=record, item=item, content=content,
                           practice_set=practice_set, notes=notes, ratings=SELF_RATINGS, starred=starred,
                           rule=MULTI_CHOICE_RULES[current_app.config["MULTI_CHOICE_RULE"]])


@bp.route("/practice/responses/<int:response_id>/assess", methods=["POST"])
def assess(response_id: int):
    record = _load_response(response_id)
    ratings = [r for r in request.form.getlist("rating") if r in SELF_RATINGS]
    if not ratings and request.form.get("points"):
        # 论述/案例: one rating per rubric point, all required
        try:
            n = min(int(request.form["points"]), 50)
        except ValueError:
            abort(400)
        ratings = [request.form.get(f"rating_{i}", "") for i in range(n)]
        if not all(r in SELF_RATINGS for r in ratings):
            ratings = []
    if not ratings:
        flash("请选择自评结果。", "warning")
    else:
        svc.assess(record, ratings)
        db.session.commit()
        flash("自评已保存。", "success")
    return redirect(url_for("practice.feedback", response_id=response_id))


@bp.route("/practice/items/<uid>/star", methods=["POST"])
@login_required
def star(uid: str):
    item = db.first_or_404(sa.select(Item).where(Item.uid == uid))
    starred = svc.toggle_star(current_user.id, item.id)
    db.session.commit()
    flash("已收藏。" if starred else "已取消收藏。", "success")
    target = request.form.get("next") or ""
    return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("bank.item", uid=uid))


@bp.route("/practice/wrong")
@login_required
def wrong_book():
    entries = db.session.scalars(sa.select(WrongEntry).where(
        WrongEntry.user_id == current_user.id, WrongEntry.cleared_at.is_(None)).order_by(WrongEntry.last_wrong_on.desc())).all()
    cleared = db.session.scalar(sa.select(sa.func.count()).select_from(WrongEntry).where(
        WrongEntry.user_id == current_user.id, WrongEntry.cleared_at.is_not(None))) or 0
    return render_template("practice/wrong.html", entries=entries, cleared=cleared, rule=svc.WRONG_BOOK_RULE,
                           needed=svc.RIGHT_DAYS_TO_CLEAR)


@bp.route("/practice/starred")
@login_required
def starred():
    stars = db.session.scalars(sa.select(Star).where(Star.user_id == current_user.id).order_by(Star.id.desc())).all()
    return render_template("practice/starred.html", stars=stars)


@bp.route("/practice/progress")
@login_required
def progress():
    return render_template("practice/progress.html", **progress_data(current_user.id))


# ---------------------------------------------------------------- mock exams

@bp.route("/exam/")
@login_required
def exams():
    # class quizzes are listed under 作业, not in the mock-exam history
    attempts = db.session.scalars(sa.select(ExamAttempt).where(ExamAttempt.user_id == current_user.id,
                                                               ExamAttempt.assignment_id.is_(None))
                                  .order_by(ExamAttempt.id.desc())).all()
    return render_template("practice/exams.html", attempts=attempts)


@bp.route("/exam/new", methods=["GET", "POST"])
@login_required
def exam_new():
    form = BlueprintForm()
    form.topics.choices = choices((t.slug, t.name) for t in db.session.scalars(sa.select(Topic).order_by(Topic.position)))
    sections = svc.DEFAULT_BLUEPRINT["sections"]
    available = dict(db.session.execute(sa.select(Item.type, sa.func.count()).where(
        Item.retired.is_(False), Item.key_source != "none").group_by(Item.type)).all())
    errors = []
    if form.validate_on_submit():
        chosen = []
        for kind in REGISTRY:
            try:
                count = int(request.form.get(f"count_{kind}") or 0)
                points = float(request.form.get(f"points_{kind}") or 0)
            except ValueError:
                errors.append(f"{REGISTRY[kind].name}：题数和分值必须是数字")
                continue
            if count < 0 or count > 100 or points < 0 or points > 100:
                errors.append("每种题型的题数应在 0–100 之间，分值应在 0–100 之间")
                continue
            if count:
                chosen.append({"type": kind, "count": count, "points": points})
        if not chosen and not errors:
            errors.append("至少选择一种题型并填写题数")
        if not errors:
            blueprint = {"title": form.title.data or "模拟考试", "minutes": form.minutes.data,
                         "topics": form.topics.data or [], "sections": chosen}
            attempt = svc.start_exam(current_user.id, blueprint)
            if not attempt.paper:
                db.session.rollback()
                errors.append("题库中没有符合条件的题目，请调整专题或题型")
            else:
                db.session.commit()
                return redirect(url_for("practice.exam", attempt_id=attempt.id))
    counts = {s["type"]: s for s in sections}
    return render_template("practice/exam_new.html", form=form, counts=counts, available=available, errors=errors,
                           rule=MULTI_CHOICE_RULES[current_app.config["MULTI_CHOICE_RULE"]])


def _my_attempt(attempt_id: int) -> ExamAttempt:
    attempt = db.session.get(ExamAttempt, attempt_id)
    if attempt is None or attempt.user_id != current_user.id:
        abort(404)
    return attempt


@bp.route("/exam/<int:attempt_id>")
@login_required
def exam(attempt_id: int):
    attempt = _my_attempt(attempt_id)
    if attempt.status != "open":
        return redirect(url_for("practice.exam_result", attempt_id=attempt_id))
    if not svc.accepting_answers(attempt):
        svc.submit_exam(attempt, "abandoned")  # the page was not open at the bell (it would have handed in)
        flash("考试时间已到，试卷已按截止时的作答自动交卷。", "warning")
        return redirect(url_for("practice.exam_result", attempt_id=attempt_id))
    try:
        # without ?q= the exam opens where the student stopped
        position = max(0, min(int(request.args.get("q", attempt.last_position)), len(attempt.paper) - 1))
    except ValueError:
        position = 0
    if attempt.last_position != position:
        attempt.last_position = position
        db.session.commit()
    entry = attempt.paper[position]
    item = db.session.get(Item, entry["item_id"])
    autosave.warm(attempt)
    content = svc.version_content(item, entry["version"])
    answers = {a.position: a for a in attempt.answers}
    saved = answers.get(position)
    shown = saved.answer if saved else None
    if shown and item.type in ("single_choice", "multi_choice"):
        shown = svc.original_to_display(entry, shown)
    options = [(chr(ord("A") + i), (content.get("options") or {}).get(k, "")) for i, k in enumerate(entry["order"])]
    return render_template("practice/exam.html", attempt=attempt, position=position, entry=entry, item=item,
                           content=content, options=options, shown=shown, answers=answers,
                           remaining=svc.remaining_seconds(attempt),
                           rule=MULTI_CHOICE_RULES[attempt.multi_rule])


@bp.route("/exam/<int:attempt_id>/save", methods=["POST"])
def exam_save(attempt_id: int):
    """Autosave one answer. JSON from the page's script (one upsert), or a plain form post without JavaScript."""
    if request.is_json:
        data = request.get_json(silent=True)
        try:
            saved = autosave.save(attempt_id, data if isinstance(data, dict) else {})
        except autosave.BadRequest:
            abort(400)
        if saved is not None:
            return jsonify(ok=True, remaining=saved[1])
    return _exam_save(attempt_id)


@login_required
def _exam_save(attempt_id: int):
    """The ordinary route: explains a closed or late attempt, takes form posts and remember-cookie logins."""
    attempt = _my_attempt(attempt_id)
    is_json = request.is_json
    data = request.get_json(silent=True) if is_json else request.form
    if not isinstance(data, dict) and is_json:  # [1, 2], "x", 5: not an answer
        return jsonify(ok=False, error="数据格式不对：应为含 position 和 answer 的对象。"), 400
    if not svc.accepting_answers(attempt):
        if is_json:
            return jsonify(ok=False, error="考试已结束，答案未保存。"), 409
        if attempt.status == "open":
            svc.submit_exam(attempt, "timeup")
        flash("考试时间已到，这次的作答没有保存；试卷按截止时的作答评分。", "warning")
        return redirect(url_for("practice.exam_result", attempt_id=attempt_id))
    try:
        position = int(data.get("position"))
        assert 0 <= position < len(attempt.paper)
    except (TypeError, ValueError, OverflowError, AssertionError):
        if is_json:
            return jsonify(ok=False, error="题号不对,答案未保存。"), 400
        abort(400)
    if is_json:
        values = data.get("answer")
        values = None if values is None else [str(v) for v in (values if isinstance(values, list) else [values])]
        flagged = data.get("flagged")
        flagged = None if flagged is None else bool(flagged)
    else:
        values = data.getlist("answer") if "has_answer" in data else None
        flagged = data.get("flagged") == "1" if "has_flag" in data else None
    svc.save_answer(attempt, position, values, flagged)
    db.session.commit()
    if is_json:
        return jsonify(ok=True, remaining=svc.remaining_seconds(attempt))
    if data.get("action") == "submit":
        return redirect(url_for("practice.exam_confirm", attempt_id=attempt_id))
    target = data.get("goto")
    try:
        target = max(0, min(int(target), len(attempt.paper) - 1))
    except (TypeError, ValueError):
        target = position
    return redirect(url_for("practice.exam", attempt_id=attempt_id, q=target))


@bp.route("/exam/<int:attempt_id>/confirm")
@login_required
def exam_confirm(attempt_id: int):
    attempt = _my_attempt(attempt_id)
    if attempt.status != "open":
        return redirect(url_for("practice.exam_result", attempt_id=attempt_id))
    answered = {a.position for a in attempt.answers if not _blank(a)}
    return render_template("practice/exam_confirm.html", attempt=attempt, answered=answered,
                           remaining=svc.remaining_seconds(attempt))


def _blank(row: ExamAnswer) -> bool:
    return row.answer in (None, "", [])


@bp.route("/exam/<int:attempt_id>/submit", methods=["POST"])
def exam_submit(attempt_id: int):
    """Hand in: a mock exam on PostgreSQL in two round trips (app/practice/bell_submit.py), else the ordinary route."""
    asked_by_bell = request.form.get("reason") == "timeup"
    if bell_submit.eligible(attempt_id):
        late = bell_submit.submit(attempt_id, asked_by_bell)
        if late is not None:
            return _handed_in(attempt_id, late)
        from app.exam_integrity import guard_submit

        refused = guard_submit(attempt_id)  # nothing was written; the checks the guard left to this view
        if refused is not None:
            return refused
    return _exam_submit(attempt_id, asked_by_bell)


@login_required
def _exam_submit(attempt_id: int, asked_by_bell: bool):
    attempt = _my_attempt(attempt_id)
    if attempt.status == "open":
        late = not svc.accepting_answers(attempt)
        if svc.submit_exam(attempt, svc.close_reason(attempt, asked_by_bell)):
            return _handed_in(attempt_id, late)
    return redirect(url_for("practice.exam_result", attempt_id=attempt_id))


# The result page's notice after a hand-in, named in its address rather than flashed: a flash message is written to
# the session cookie by the submit and removed by the result page, two cookie signatures per hand-in at the bell.
HANDED_IN = {"1": ("success", "已交卷。"), "late": ("warning", "已交卷，超过截止时间后的作答不计分。")}


def _handed_in(attempt_id: int, late: bool):
    return redirect(url_for("practice.exam_result", attempt_id=attempt_id, handed_in="late" if late else "1"))


@bp.route("/exam/<int:attempt_id>/result")
@login_required
def exam_result(attempt_id: int):
    attempt = _my_attempt(attempt_id)
    if attempt.status == "open":
        return redirect(url_for("practice.exam", attempt_id=attempt_id))
    from app.practice.progress import exam_breakdown

    visible = svc.feedback_visible(attempt)
    return render_template("practice/exam_result.html", attempt=attempt, visible=visible,
                           notice=HANDED_IN.get(request.args.get("handed_in", "")),
                           **exam_breakdown(attempt, with_items=visible))
