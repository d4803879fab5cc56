"""Students' exercise work: scores, assignment rules, case runs and their findings, links to the bank."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app

from app.clock import aware, now
from app.extensions import db
from app.models.bank import Item, Topic
from app.models.classes import SchoolClass
from app.models.sandbox import Sandbox, SbCaseRun, SbExerciseAttempt
from app.sandbox import analysis
from app.sandbox import services as svc
from app.sandbox.cases import CASES, Case
from app.scores import round_score

KIND = "sandbox_exercise"


# ---------------------------------------------------------------------------------------------- attempts

def best_scores(sandbox_id: int, user_id: int, case_run_id: int | None = None) -> dict[str, float]:
    """The student's best score per exercise in a sandbox (within one case run when given)."""
    query = sa.select(SbExerciseAttempt.exercise_key, sa.func.max(SbExerciseAttempt.score)).where(
        SbExerciseAttempt.sandbox_id == sandbox_id, SbExerciseAttempt.user_id == user_id)
    if case_run_id is not None:
        query = query.where(SbExerciseAttempt.case_run_id == case_run_id)
    return dict(db.session.execute(query.group_by(SbExerciseAttempt.exercise_key)).all())


def exercise_context(sandbox: Sandbox, user_id: int) -> dict[str, Any]:
    """What some answer forms list: the sandbox's products and the student's own segments."""
    return {"products": analysis.product_names(sandbox), "segments": svc.segments_of(sandbox.id, user_id)}


def related_items(topic: str, limit: int = 5) -> list[Item]:
    """Bank items of the exercise's course topic (the theory behind the exercise)."""
    return list(db.session.scalars(
        sa.select(Item).join(Item.topics).where(Topic.name == topic, Item.retired.is_(False))
        .order_by(Item.type == "case_study", Item.position).limit(limit)))


def bank_items(uids: tuple[str, ...]) -> list[Item]:
    if not uids:
        return []
    return list(db.session.scalars(sa.select(Item).where(Item.uid.in_(uids), Item.retired.is_(False))))


def case_items_for_topic(topic: str) -> list[tuple[Case, list[Item]]]:
    return [(c, bank_items(c.bank_items)) for c in CASES.values() if topic in c.topics]


# ------------------------------------------------------------------------------------------- assignments

def assignments_available() -> bool:
    return "assignments" in current_app.blueprints


def assignment_for(assignment_id: int | None, sandbox: Sandbox, key: str, user: Any) -> Any:
    """The assignment an attempt is made for (404 unless it is this sandbox's exercise in the student's class)."""
    if not assignment_id:
        return None
    if not assignments_available():
        abort(404)
    from app.models.assignments import Assignment

    assignment = db.session.get(Assignment, assignment_id)
    if (assignment is None or assignment.kind != KIND or assignment.settings.get("sandbox_id") != sandbox.id
            or assignment.settings.get("exercise_key") != key or assignment.class_id != sandbox.class_id):
        abort(404)
    return assignment


def phase(assignment: Any) -> str:
    at = now()
    if assignment.opens_at is not None and at < aware(assignment.opens_at):
        return "upcoming"
    if assignment.closes_at is not None and at >= aware(assignment.closes_at):
        return "closed"
    return "open"


def attempt_blocker(assignment: Any, user_id: int) -> str | None:
    """Why the student may not submit now (not open yet, attempts used up), or None."""
    state = phase(assignment)
    if state == "upcoming":
        return "作业尚未开放。"
    if state == "closed":
        return "作业已截止，不再接受提交。"
    if assignment.attempts_allowed:
        used = db.session.scalar(sa.select(sa.func.count()).select_from(SbExerciseAttempt).where(
            SbExerciseAttempt.assignment_id == assignment.id, SbExerciseAttempt.user_id == user_id)) or 0
        if used >= assignment.attempts_allowed:
            return f"本作业最多提交 {assignment.attempts_allowed} 次，你已用完。"
    return None


def assignment_variant(assignment: Any) -> int:
    """The parameter variant of an assignment: its own numbers, never those of the practice variants 0, 1, 2 ..."""
    return ASSIGNMENT_VARIANT_BASE + int(assignment.id)


ASSIGNMENT_VARIANT_BASE = 100_000


def create_assignment(school_class: SchoolClass, sandbox: Sandbox, key: str, title: str, points: float,
                      closes_at: datetime | None, user_id: int, *, opens_at: datetime | None = None,
                      attempts_allowed: int = 1, grading_rule: str = "highest",
                      feedback_policy: str = "after_submit") -> Any:
    """An exercise assignment with a quiz's settings: window, attempts, counting rule and feedback policy."""
    from app.models.assignments import Assignment

    assignment = Assignment(class_id=school_class.id, kind=KIND, title=title, opens_at=opens_at, closes_at=closes_at,
                            attempts_allowed=attempts_allowed, grading_rule=grading_rule,
                            feedback_policy=feedback_policy, created_by_id=user_id,
                            settings={"sandbox_id": sandbox.id, "exercise_key": key, "points": float(points)})
    db.session.add(assignment)
    db.session.commit()
    return assignment


class SandboxExerciseKind:
    """沙盒实训 as an assignment kind of the gradebook (``app.extensions['crm_assignment_kinds']``)."""

    label = "沙盒实训"

    def student_url(self, assignment: Any) -> str:
        from flask import url_for

        s = assignment.settings
        return url_for("sandbox.exercise", sandbox_id=s.get("sandbox_id"), key=s.get("exercise_key"),
                       assignment=assignment.id)

    def create_url(self, school_class: SchoolClass) -> str:
        from flask import url_for

        return url_for("sandbox.assign", class_id=school_class.id)

    def edit_url(self, assignment: Any) -> None:
        return None

    def max_points(self, assignment: Any) -> float:
        return float(assignment.settings.get("points") or 10)

    def scores(self, assignment: Any, user_ids: list[int]) -> dict[int, tuple[float, float, datetime | None]]:
        rows = db.session.execute(
            sa.select(SbExerciseAttempt.user_id, SbExerciseAttempt.score, SbExerciseAttempt.created_at,
                      SbExerciseAttempt.id).where(SbExerciseAttempt.assignment_id == assignment.id,
                                                  SbExerciseAttempt.user_id.in_(user_ids))
            .order_by(SbExerciseAttempt.id)).all()
        by_user: dict[int, list] = {}
        for row in rows:
            by_user.setdefault(row.user_id, []).append(row)
        points = self.max_points(assignment)
        out = {}
        for user_id, attempts in by_user.items():
            if assignment.grading_rule == "first":
                pick = attempts[0]
            elif assignment.grading_rule == "last":
                pick = attempts[-1]
            else:
                pick = max(attempts, key=lambda r: (r.score, -r.id))
            out[user_id] = (round_score(pick.score * points), points, aware(pick.created_at))
        return out

    def score(self, assignment: Any, user_id: int) -> tuple[float, float, datetime | None] | None:
        return self.scores(assignment, [user_id]).get(user_id)

    def status(self, assignment: Any, user_id: int) -> str:
        return "submitted" if self.score(assignment, user_id) is not None else "not_started"


# ---------------------------------------------------------------------------------------------------- cases

def case_run_for(run_id: int | None, sandbox: Sandbox) -> SbCaseRun | None:
    if not run_id:
        return None
    run = db.session.get(SbCaseRun, run_id)
    if run is None or run.sandbox_id != sandbox.id:
        abort(404)
    return run


def start_case(case: Case, school_class: SchoolClass, user_id: int, customers: int,
               closes_at: datetime | None) -> tuple[SbCaseRun, bool]:
    """Start a case for a class: reuse the class's sandbox of the case's scenario, or record a new one to build."""
    sandbox = db.session.scalar(sa.select(Sandbox).where(
        Sandbox.class_id == school_class.id, Sandbox.scenario == case.scenario,
        Sandbox.status.in_(("ready", "building"))).order_by(Sandbox.id))
    created = sandbox is None
    if created:  # recorded now, built by a background job (the caller starts it)
        sandbox = svc.new_sandbox(class_id=school_class.id, customers=customers, months=24,
                                  seed=svc.stable_seed("case", case.key, school_class.id) % 1_000_000,
                                  scenario=case.scenario, name=f"{case.title}案例沙盒", created_by_id=user_id)
    run = db.session.scalar(sa.select(SbCaseRun).where(SbCaseRun.sandbox_id == sandbox.id,
                                                       SbCaseRun.case_key == case.key))
    if run is None:
        run = SbCaseRun(sandbox_id=sandbox.id, class_id=school_class.id, case_key=case.key, started_by_id=user_id)
        db.session.add(run)
    run.closes_at, run.closed = closes_at, False
    db.session.commit()
    return run, created


def discussion_open(run: SbCaseRun) -> bool:
    return run.closed or (run.closes_at is not None and now() >= aware(run.closes_at))


def case_progress(run: SbCaseRun, case: Case) -> list[dict[str, Any]]:
    """For the instructor: each student's best score per case exercise."""
    from app.models.classes import Membership
    from app.models.users import User

    if run.class_id is None:
        return []
    students = db.session.execute(sa.select(User.id, User.display_name, User.username).join(
        Membership, Membership.user_id == User.id).where(Membership.class_id == run.class_id)
        .order_by(User.username)).all()
    rows = db.session.execute(sa.select(SbExerciseAttempt.user_id, SbExerciseAttempt.exercise_key,
                                        sa.func.max(SbExerciseAttempt.score))
                              .where(SbExerciseAttempt.case_run_id == run.id)
                              .group_by(SbExerciseAttempt.user_id, SbExerciseAttempt.exercise_key)).all()
    best = {(u, k): s for u, k, s in rows}
    return [{"name": s.display_name or s.username, "scores": [best.get((s.id, k)) for k in case.exercises]}
            for s in students]


def case_findings(case: Case, sandbox: Sandbox) -> list[str]:
    """What this class's data shows, for the discussion (computed from the sandbox and its hidden truth)."""
    import numpy as np

    truth = svc.truth_of(sandbox)
    data = analysis.View(sandbox)
    c = data.customers
    lines = [f"本班沙盒：{c['id'].size} 位客户，前 20% 的客户贡献了 {data.pareto()['top20_share']:.1%} 的收入。"]
    if case.key == "walmart":
        rules = data.rules()["rules"]
        if rules:
            r = rules[0]
            lines.append(f"数据中最强的关联规则：{r['antecedent_name']} → {r['consequent_name']}，支持度 {r['support']:.2%}，"
                         f"置信度 {r['confidence']:.1%}，提升度 {r['lift']:.2f}。")
        for rule in truth.get("rules", [])[:1]:
            lines.append(f"模拟时“埋下”的规则：{rule['antecedent']} → {rule['consequent']}（买前者的订单有 "
                         f"{rule['planted_probability']:.0%} 的机会加购后者）。")
    elif case.key == "cosmetics":
        bought = c["stage"] != "潜在客户"  # churn counts customers who bought (prospects never did)
        member = (c["channel"] == "校园活动") & bought
        others = (c["channel"] != "校园活动") & bought
        lost = c["stage"] == "已流失"
        if member.any() and others.any():
            lines.append(f"“校园活动”入会且有过购买的会员 {int(member.sum())} 位，流失率 {lost[member].mean():.1%}；"
                         f"其他客户流失率 {lost[others].mean():.1%}。")
        for year, shares in sorted((truth.get("cohort_retention") or {}).items()):
            if shares:
                lines.append(f"{year} 届会员：一年后仍是客户的比例 {shares[0]:.0%}"
                             + (f"，两年后 {shares[1]:.0%}" if len(shares) > 1 else "") + "。")
    elif case.key == "coca_cola":
        facts = (truth.get("facts") or {}).get("complaints") or {}
        if facts:
            lines.append(f"工单 {facts.get('tickets')} 张，已关闭的工单中处理满意的占 "
                         f"{facts.get('satisfied_share_of_closed', 0):.0%}；满意者平均向 {facts.get('mean_told_satisfied', 0):.1f} 人"
                         f"转述，不满意者平均向 {facts.get('mean_told_unsatisfied', 0):.1f} 人转述。")
            effects = facts.get("effects") or {}
            lines.append("投诉处理之后：" + "，".join(f"{k} {v} 人" for k, v in effects.items()) + "。")
    elif case.key == "sto_express":
        declining = int((c["stage"] == "退化期").sum())
        vip_declining = int(((c["stage"] == "退化期") & np.isin(c["tier"], ["VIP", "主要"])).sum())
        lines.append(f"处于退化期的客户 {declining} 位，其中 VIP 与主要客户 {vip_declining} 位：这些是最值得主动联系的客户。")
    return lines

