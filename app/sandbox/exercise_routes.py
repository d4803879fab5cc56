"""Exercises (parameterised per student, graded by the registry), case studies, and sandbox assignments."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app import jobs
from app.clock import now
from app.extensions import db
from app.formutil import choices
from app.models.classes import SchoolClass
from app.models.sandbox import SbCaseRun, SbExerciseAttempt
from app.sandbox import bp, work
from app.sandbox import services as svc
from app.sandbox.analysis import View
from app.sandbox.cases import CASES
from app.sandbox.exercises import REGISTRY
from app.sandbox.forms import AssignExerciseForm, CaseCloseForm, CaseStartForm


@bp.route("/<int:sandbox_id>/exercises")
@login_required
def exercises(sandbox_id: int):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    data = View(sandbox)
    best = work.best_scores(sandbox.id, current_user.id)
    rows = [(ex, best.get(ex.key)) for ex in REGISTRY.values() if ex.available(data)]
    runs = db.session.scalars(sa.select(SbCaseRun).where(SbCaseRun.sandbox_id == sandbox.id)).all()
    return render_template("sandbox/exercises.html", sandbox=sandbox, rows=rows, runs=runs, cases=CASES,
                           manage=svc.can_manage(sandbox, current_user))


@bp.route("/<int:sandbox_id>/exercises/<key>", methods=["GET", "POST"])
@login_required
def exercise(sandbox_id: int, key: str):
    sandbox = svc.sandbox_or_404(sandbox_id, current_user)
    ex = REGISTRY.get(key)
    data = View(sandbox)
    if ex is None or not ex.available(data):
        abort(404)
    assignment = work.assignment_for(request.args.get("assignment", type=int), sandbox, key, current_user)
    run = work.case_run_for(request.args.get("case", type=int), sandbox)
    variant = 0 if assignment else max(0, request.args.get("v", 0, type=int))
    params = ex.make_params(sandbox, current_user.id, variant)
    ctx = work.exercise_context(sandbox, current_user.id)
    blocked = work.attempt_blocker(assignment, current_user.id) if assignment else None
    if request.method == "POST":
        if blocked:
            flash(blocked, "warning")
        else:
            answer = ex.parse(params, request.form, ctx)
            result = ex.check(params, answer, svc.truth_of(sandbox), data)
            db.session.add(SbExerciseAttempt(
                user_id=current_user.id, sandbox_id=sandbox.id, exercise_key=key, sandbox_version=sandbox.version,
                case_run_id=run.id if run else None, assignment_id=assignment.id if assignment else None,
                params={**params, "variant": variant}, answer=answer, score=result.score, feedback=result.feedback))
            db.session.commit()
        args = {k: v for k, v in (("v", variant or None), ("case", run.id if run else None),
                                  ("assignment", assignment.id if assignment else None)) if v}
        return redirect(url_for("sandbox.exercise", sandbox_id=sandbox.id, key=key, **args) + "#result")
    attempts = db.session.scalars(sa.select(SbExerciseAttempt).where(
        SbExerciseAttempt.sandbox_id == sandbox.id, SbExerciseAttempt.user_id == current_user.id,
        SbExerciseAttempt.exercise_key == key).order_by(SbExerciseAttempt.id.desc()).limit(20)).all()
    mine = [a for a in attempts if a.params.get("variant", 0) == variant]
    return render_template("sandbox/exercise.html", sandbox=sandbox, ex=ex, params=params, prompt=ex.prompt(params),
                           fields=ex.fields(params, ctx), attempts=attempts, latest=mine[0] if mine else None,
                           variant=variant, run=run, assignment=assignment, blocked=blocked,
                           show_feedback=work.feedback_visible(assignment), items=work.related_items(ex.topic),
                           case_items=work.case_items_for_topic(ex.topic))


# ---------------------------------------------------------------------------------------------------- cases

@bp.route("/cases", methods=["GET", "POST"])
@login_required
def cases():
    if not current_user.is_instructor:
        abort(403)
    form = CaseStartForm()
    classes = svc.managed_classes(current_user)
    form.class_id.choices = choices([(str(c.id), c.name) for c in classes])
    form.case_key.choices = choices([(k, c.title) for k, c in CASES.items()])
    if request.method == "GET" and request.args.get("case"):
        form.case_key.data = request.args["case"]
    if form.validate_on_submit():
        school_class = next((c for c in classes if str(c.id) == form.class_id.data), None)
        if school_class is None:
            abort(404)
        closes_at = work.local_to_utc(form.closes_at.data)
        run, created = work.start_case(CASES[form.case_key.data], school_class, current_user.id,
                                       form.customers.data, closes_at)
        flash(("已为本班新建“" if created else "已在本班现有的“") + f"{run.sandbox.scenario_label}”沙盒中开始案例。", "success")
        if run.sandbox.status == "building":
            job = jobs.enqueue("sandbox.build", sandbox_id=run.sandbox.id, user_id=current_user.id,
                               title=f"生成沙盒:{run.sandbox.title}",
                               key=f"sandbox.build:{run.sandbox.id}:{run.sandbox.version}",
                               next_url=url_for("sandbox.case", run_id=run.id))
            return redirect(url_for("jobs.show", job_id=job.id))
        return redirect(url_for("sandbox.case", run_id=run.id))
    runs = db.session.scalars(sa.select(SbCaseRun).where(SbCaseRun.class_id.in_([c.id for c in classes]))
                              .order_by(SbCaseRun.id.desc())).all() if classes else []
    return render_template("sandbox/cases.html", form=form, cases=CASES, runs=runs, has_classes=bool(classes))


@bp.route("/case/<int:run_id>")
@login_required
def case(run_id: int):
    run = db.session.get(SbCaseRun, run_id)
    if run is None:
        abort(404)
    sandbox = svc.sandbox_or_404(run.sandbox_id, current_user)
    case_def = CASES.get(run.case_key)
    if case_def is None:
        abort(404)
    manage = svc.can_manage(sandbox, current_user)
    data = View(sandbox)
    best = work.best_scores(sandbox.id, current_user.id, case_run_id=run.id)
    steps = [(REGISTRY[k], best.get(k)) for k in case_def.exercises if k in REGISTRY and REGISTRY[k].available(data)]
    open_discussion = work.discussion_open(run)
    return render_template("sandbox/case.html", run=run, case=case_def, sandbox=sandbox, steps=steps, manage=manage,
                           discussion=open_discussion or manage, open_discussion=open_discussion,
                           findings=work.case_findings(case_def, sandbox) if (open_discussion or manage) else [],
                           close_form=CaseCloseForm() if manage else None, items=work.bank_items(case_def.bank_items),
                           progress=work.case_progress(run, case_def) if manage else None)


@bp.route("/case/<int:run_id>/close", methods=["POST"])
@login_required
def close_case(run_id: int):
    run = db.session.get(SbCaseRun, run_id)
    if run is None:
        abort(404)
    svc.sandbox_or_404(run.sandbox_id, current_user, manage=True, ready=False)
    form = CaseCloseForm()
    if form.validate_on_submit():
        if request.form.get("action") == "now":
            run.closed, run.closes_at = True, now()
            flash("讨论已开放。", "success")
        else:
            run.closes_at = work.local_to_utc(form.closes_at.data)
            run.closed = False
            flash("讨论开放时间已更新。", "success")
        db.session.commit()
    return redirect(url_for("sandbox.case", run_id=run.id))


# ------------------------------------------------------------------------------------------- assignments

@bp.route("/assign/<int:class_id>", methods=["GET", "POST"])
@login_required
def assign(class_id: int):
    school_class = db.session.get(SchoolClass, class_id)
    if school_class is None or not school_class.can_view(current_user):
        abort(404)
    if not school_class.can_manage(current_user):
        abort(403)
    if not work.assignments_available():
        abort(404)
    sandboxes = [s for s in svc.visible_sandboxes(current_user) if s.class_id == class_id and s.status == "ready"]
    form = AssignExerciseForm()
    form.sandbox_id.choices = choices([(str(s.id), s.title) for s in sandboxes])
    form.exercise_key.choices = choices([(k, f"{e.title}({e.topic})") for k, e in REGISTRY.items()])
    if form.validate_on_submit():
        sandbox = next(s for s in sandboxes if str(s.id) == form.sandbox_id.data)
        assignment = work.create_assignment(school_class, sandbox, form.exercise_key.data, form.title.data,
                                            form.points.data, work.local_to_utc(form.closes_at.data), current_user.id)
        flash(f"已布置沙盒实训“{assignment.title}”。", "success")
        return redirect(url_for("sandbox.exercises", sandbox_id=sandbox.id))
    return render_template("sandbox/assign.html", form=form, school_class=school_class, has_sandboxes=bool(sandboxes))

