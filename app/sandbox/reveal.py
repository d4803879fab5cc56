"""Which derived figures a student may see: nothing that answers an exercise while the student works on it.

The raw data (customers, orders, lines, tickets, surveys) is always visible. The figures the sandbox derives from
it — RFM scores and cells, value tiers, inferred lifecycle stages, the association-rule list, the Pareto shares —
answer exercises directly, so for a student they are hidden while an exercise that asks for them is running and
shown once it is done:

* an exercise **runs** for a student while an assignment of it on this sandbox is open (not yet closed, attempts
  left) or a case run containing it has not opened its discussion;
* a figure is **released** when every available exercise that asks for it is not running and has been submitted
  by the student (in practice or an assignment) or belongs to an assignment that has closed.

Instructors (who manage the sandbox) always see everything: it is their view.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import g

from app.extensions import db
from app.models.sandbox import Sandbox, SbCaseRun, SbExerciseAttempt

# figure -> Chinese name (what the page says is hidden)
FIGURES = {"rfm": "RFM 得分与单元格", "tier": "价值层级", "stage": "推断的生命周期阶段", "rules": "关联规则列表",
           "pareto": "头部客户的收入占比"}
# exercise key -> the figures that would answer it
EXERCISE_FIGURES: dict[str, frozenset[str]] = {
    "rfm_scores": frozenset({"rfm"}),
    "rfm_cell_count": frozenset({"rfm"}),
    "value_tiers": frozenset({"tier"}),
    "lifecycle_stage": frozenset({"stage"}),
    "decline_customers": frozenset({"stage"}),
    "segment_churn_rate": frozenset({"stage"}),
    "member_retention": frozenset({"stage"}),
    "complaint_handling": frozenset({"stage"}),
    "association_rule": frozenset({"rules"}),
    "pareto_share": frozenset({"pareto"}),
}
# customer-list filters that select by a derived figure
FILTER_FIGURES = {"rfm": "rfm", "tier": "tier", "stage": "stage"}


def _open_assignments(sandbox: Sandbox) -> list[Any]:
    """The sandbox's exercise assignments (all phases), or [] when the assignments feature is off."""
    from flask import current_app

    if "assignments" not in current_app.blueprints or sandbox.class_id is None:
        return []
    from app.models.assignments import Assignment
    from app.sandbox.work import KIND

    rows = db.session.scalars(sa.select(Assignment).where(Assignment.class_id == sandbox.class_id,
                                                          Assignment.kind == KIND)).all()
    return [a for a in rows if a.settings.get("sandbox_id") == sandbox.id]


def running_and_done(sandbox: Sandbox, user_id: int) -> tuple[set[str], set[str]]:
    """(exercise keys running for the student, keys the student has finished or whose assignment closed)."""
    from app.sandbox.cases import CASES
    from app.sandbox.work import attempt_blocker, discussion_open, phase

    running: set[str] = set()
    done = set(db.session.scalars(sa.select(SbExerciseAttempt.exercise_key).where(
        SbExerciseAttempt.sandbox_id == sandbox.id, SbExerciseAttempt.user_id == user_id).distinct()))
    for assignment in _open_assignments(sandbox):
        key = assignment.settings.get("exercise_key")
        state = phase(assignment)
        if state == "closed":
            done.add(key)
        elif state == "open" and attempt_blocker(assignment, user_id) is None:
            running.add(key)
    for run in db.session.scalars(sa.select(SbCaseRun).where(SbCaseRun.sandbox_id == sandbox.id)):
        case = CASES.get(run.case_key)
        if case is None:
            continue
        if discussion_open(run):
            done.update(case.exercises)
        else:
            running.update(case.exercises)
    return running, done


def hidden_figures(sandbox: Sandbox, user: Any) -> frozenset[str]:
    """The derived figures this user may not see on the sandbox's pages now (empty for its instructors)."""
    from app.sandbox import services as svc

    cache = g.setdefault("sb_hidden", {})
    key = (sandbox.id, getattr(user, "id", None))
    if key in cache:
        return cache[key]
    if svc.can_manage(sandbox, user):
        cache[key] = frozenset()
        return cache[key]
    from app.sandbox.analysis import View
    from app.sandbox.exercises import REGISTRY

    running, done = running_and_done(sandbox, user.id)
    data = View(sandbox)
    hidden: set[str] = set()
    for exercise_key, figures in EXERCISE_FIGURES.items():
        exercise = REGISTRY.get(exercise_key)
        if exercise is None or not exercise.available(data):
            continue
        if exercise_key in running or exercise_key not in done:
            hidden |= figures
    cache[key] = frozenset(hidden)
    return cache[key]


def visible_filters(filters: dict[str, str], hidden: frozenset[str]) -> dict[str, str]:
    """The customer-list filters without those that select by a hidden figure."""
    return {k: v for k, v in filters.items() if FILTER_FIGURES.get(k) not in hidden}


def hidden_note(hidden: frozenset[str]) -> str:
    """One Chinese sentence saying what is hidden and why."""
    if not hidden:
        return ""
    names = "、".join(FIGURES[f] for f in FIGURES if f in hidden)
    return (f"{names}要由你自己从原始数据算出来：在相关练习提交（或作业截止）之前，这些现成的结果不显示。"
            "客户、订单、明细、工单等原始数据都可以查看和下载。")

