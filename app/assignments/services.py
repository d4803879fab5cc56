"""Assignment domain logic on the session (no request objects): windows, attempts, papers, counting attempts."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from app.clock import aware, now
from app.extensions import db
from app.grading import REGISTRY
from app.models import Item, Topic, User
from app.models.assignments import Assignment, AssignmentAttempt
from app.models.classes import Membership, SchoolClass
from app.models.practice import ExamAttempt
from app.practice.services import DEFAULT_BLUEPRINT, accepting_answers, draw_paper, grace, start_exam, submit_exam
from app.timefmt import format_local
from question_bank.schema import ITEM_TYPES

# Types a quiz can use: graded automatically (论述/案例 are self-assessed and would always score 0).
QUIZ_TYPES = [name for name, kind in REGISTRY.items() if kind.auto_graded]
DEFAULT_POINTS = {s["type"]: float(s["points"]) for s in DEFAULT_BLUEPRINT["sections"]} | {"fill_blank": 2.0}
MAX_ITEMS = 200
STATUS_LABELS = {"not_started": "未开始", "in_progress": "进行中", "submitted": "已提交", "overdue": "已逾期"}


class AssignmentError(Exception):
    """A rule stops the action; the message is shown to the user as it is."""


# ---------------------------------------------------------------- the registry of kinds

def kinds() -> dict[str, Any]:
    return current_app.extensions.get("crm_assignment_kinds", {})


def kind_of(assignment: Assignment) -> Any | None:
    return kinds().get(assignment.kind)


# ---------------------------------------------------------------- windows

def phase(assignment: Assignment, at: datetime | None = None) -> str:
    """upcoming | open | closed."""
    at = at or now()
    if assignment.opens_at is not None and at < aware(assignment.opens_at):
        return "upcoming"
    if assignment.closes_at is not None and at >= aware(assignment.closes_at):
        return "closed"
    return "open"


def is_late(assignment: Assignment, submitted_at: datetime | None) -> bool:
    """迟交: submitted after the close time (an attempt's grace period can run past it)."""
    return (submitted_at is not None and assignment.closes_at is not None
            and aware(submitted_at) > aware(assignment.closes_at))


def handed_in_at(submitted_at: datetime | None, closed_by: str, deadline: datetime | None) -> datetime | None:
    """When the student handed the paper in: the moment they pressed 交卷, or the deadline when time ran out.

    An attempt whose time ran out is graded as it stood at its deadline (never after the close time), even when
    the grading happens later; only a student who presses 交卷 in the grace period after the close is 迟交.
    """
    submitted_at, deadline = aware(submitted_at), aware(deadline)
    if closed_by != "student" and submitted_at is not None and deadline is not None:
        return min(submitted_at, deadline)
    return submitted_at


def class_assignments(class_id: int) -> list[Assignment]:
    return list(db.session.scalars(sa.select(Assignment).where(Assignment.class_id == class_id).order_by(
        Assignment.closes_at.is_(None), Assignment.closes_at, Assignment.id)))


def students_of(school_class: SchoolClass) -> list[Membership]:
    """The class's members in roster order (student number, then name)."""
    return list(db.session.scalars(sa.select(Membership).join(User, Membership.user_id == User.id)
                                   .options(selectinload(Membership.user))
                                   .where(Membership.class_id == school_class.id)
                                   .order_by(Membership.student_number, User.display_name, User.username)))


# ---------------------------------------------------------------- quiz configuration

def parse_item_list(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Read chosen items: uids separated by spaces, commas or new lines, each optionally followed by its points.

    ``s002-mc60-07 2`` gives the item 2 points; an item without points gets its type's default.
    """
    tokens = [t for t in re.split(r"[\s,,;;、]+", text or "") if t]
    wanted: list[list[Any]] = []
    errors: list[str] = []
    for token in tokens:
        if re.fullmatch(r"\d+(\.\d+)?", token) and wanted and wanted[-1][1] is None:
            wanted[-1][1] = float(token)
        elif re.fullmatch(r"\d+(\.\d+)?", token):
            errors.append(f"分值 {token} 前面缺少题目编号")
        else:
            wanted.append([token, None])
    if not wanted:
        return [], errors or ["请至少填写一道题目的编号"]
    if len(wanted) > MAX_ITEMS:
        return [], [f"一份测验最多 {MAX_ITEMS} 道题"]
    items = {i.uid: i for i in db.session.scalars(sa.select(Item).where(Item.uid.in_([u for u, _ in wanted])))}
    entries, seen = [], set()
    for uid, points in wanted:
        item = items.get(uid)
        if uid in seen:
            errors.append(f"题目 {uid} 重复")
            continue
        seen.add(uid)
        if item is None:
            errors.append(f"找不到题目 {uid}")
        elif item.retired:
            errors.append(f"题目 {uid} 已停用")
        elif item.key_source == "none":
            errors.append(f"题目 {uid} 没有答案，不能自动评分")
        elif item.type not in QUIZ_TYPES:
            errors.append(f"题目 {uid} 是需要自评的题型，不能用于测验")
        elif points is not None and not 0 < points <= 100:
            errors.append(f"题目 {uid} 的分值应在 0–100 之间")
        else:
            entries.append({"item_id": item.id, "uid": uid,
                            "points": points if points is not None else DEFAULT_POINTS.get(item.type, 1.0)})
    return entries, errors


def item_list_text(settings: dict[str, Any]) -> str:
    return "\n".join(f"{e['uid']} {e['points']:g}" for e in settings.get("items") or [])


def pool_sizes(topic_slugs: list[str]) -> dict[str, int]:
    """How many items of each type a blueprint can draw from (the same filter as practice's draw_paper)."""
    stmt = sa.select(Item.type, sa.func.count()).where(Item.retired.is_(False), Item.key_source != "none")
    if topic_slugs:
        topic_ids = list(db.session.scalars(sa.select(Topic.id).where(Topic.slug.in_(topic_slugs))))
        stmt = stmt.where(Item.topics.any(Topic.id.in_(topic_ids)))
    return dict(db.session.execute(stmt.group_by(Item.type)).all())


def check_blueprint(topic_slugs: list[str], sections: list[dict[str, Any]]) -> list[str]:
    if not sections:
        return ["至少选择一种题型并填写题数"]
    sizes = pool_sizes(topic_slugs)
    errors = []
    for section in sections:
        have = sizes.get(section["type"], 0)
        if have < section["count"]:
            errors.append(f"所选专题中可用的{ITEM_TYPES.get(section['type'], section['type'])}只有 {have} 道，"
                          f"少于要抽的 {section['count']} 道")
    return errors


def quiz_max_points(assignment: Assignment) -> float:
    settings = assignment.settings or {}
    if settings.get("source") == "blueprint":
        return float(sum(s["count"] * s["points"] for s in settings.get("blueprint", {}).get("sections", [])))
    return float(sum(e["points"] for e in settings.get("items") or []))


def quiz_item_count(assignment: Assignment) -> int:
    settings = assignment.settings or {}
    if settings.get("source") == "blueprint":
        return sum(int(s["count"]) for s in settings.get("blueprint", {}).get("sections", []))
    return len(settings.get("items") or [])


# ---------------------------------------------------------------- attempts

def build_paper(assignment: Assignment, rng: random.Random) -> list[dict[str, Any]]:
    """The paper of one attempt: options shuffled per attempt; a chosen list shuffled too when asked."""
    settings = assignment.settings or {}
    if settings.get("source") == "blueprint":
        return draw_paper(settings["blueprint"], rng)
    entries = settings.get("items") or []
    items = {i.id: i for i in db.session.scalars(sa.select(Item).where(Item.id.in_([e["item_id"] for e in entries])))}
    paper = []
    for entry in entries:
        item = items.get(entry["item_id"])
        if item is None or item.retired or item.key_source == "none":
            continue  # removed from the bank (or its key withdrawn) since the quiz was set
        order = list((item.options or {}).keys())
        rng.shuffle(order)
        paper.append({"item_id": item.id, "version": item.version, "points": float(entry["points"]), "order": order})
    if assignment.shuffle:
        rng.shuffle(paper)
    return paper


def attempt_deadline(assignment: Assignment, started: datetime) -> datetime | None:
    """min(start + time limit, close time)."""
    candidates = [aware(assignment.closes_at)] if assignment.closes_at is not None else []
    if assignment.time_limit:
        candidates.append(aware(started) + timedelta(minutes=assignment.time_limit))
    return min(candidates) if candidates else None


def my_attempts(assignment: Assignment, user_id: int) -> list[ExamAttempt]:
    return list(db.session.scalars(sa.select(ExamAttempt).where(
        ExamAttempt.assignment_id == assignment.id, ExamAttempt.user_id == user_id).order_by(ExamAttempt.id)))


def attempts_used(assignment: Assignment, user_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AssignmentAttempt).where(
        AssignmentAttempt.assignment_id == assignment.id, AssignmentAttempt.user_id == user_id)) or 0


def open_attempt(assignment: Assignment, user_id: int) -> ExamAttempt | None:
    """The student's attempt still taking answers; one whose time ran out is graded on the way."""
    attempt = db.session.scalar(sa.select(ExamAttempt).where(
        ExamAttempt.assignment_id == assignment.id, ExamAttempt.user_id == user_id,
        ExamAttempt.status == "open").order_by(ExamAttempt.id.desc()))
    if attempt is None:
        return None
    if accepting_answers(attempt):
        return attempt
    db.session.commit()  # submit_exam rolls back when it loses a race: keep nothing pending
    submit_exam(attempt, "abandoned")  # the time ran out while the student was away (commits)
    return None


def start_blockers(assignment: Assignment, user_id: int) -> str | None:
    """Why the student cannot start a new attempt now (None: they can)."""
    if assignment.school_class.archived:
        return "班级已归档，不能再开始作答。"
    where = phase(assignment)
    if where == "upcoming":
        return "测验尚未开放。"
    if where == "closed":
        return "测验已截止，不能再开始作答。"
    if assignment.attempts_allowed and attempts_used(assignment, user_id) >= assignment.attempts_allowed:
        return f"你已用完全部 {assignment.attempts_allowed} 次作答机会。"
    return None


def start_attempt(assignment: Assignment, user_id: int, seed: int | None = None) -> ExamAttempt:
    """Resume the open attempt or start a new one within the window and the attempts allowed."""
    current = open_attempt(assignment, user_id)
    if current is not None:
        return current
    blocker = start_blockers(assignment, user_id)
    if blocker:
        raise AssignmentError(blocker)
    paper = build_paper(assignment, random.Random(seed))
    if not paper:
        raise AssignmentError("这份测验暂时没有可用的题目，请联系教师。")
    settings = assignment.settings or {}
    blueprint = dict(settings.get("blueprint") or {"topics": [], "sections": []})
    blueprint.update(title=assignment.title, minutes=assignment.time_limit, assignment_id=assignment.id)
    number = attempts_used(assignment, user_id) + 1
    try:
        attempt = start_exam(user_id, blueprint, paper=paper, assignment_id=assignment.id,
                             feedback_policy=assignment.feedback_policy,
                             review_after=assignment.closes_at if assignment.feedback_policy == "after_close" else None)
        attempt.deadline = attempt_deadline(assignment, attempt.started_at)
        db.session.add(AssignmentAttempt(assignment_id=assignment.id, user_id=user_id, number=number,
                                         exam_attempt_id=attempt.id, created_at=attempt.started_at))
        db.session.flush()
    except sa.exc.IntegrityError as exc:  # the same attempt number started twice at once: the other one won
        db.session.rollback()
        raise AssignmentError("已有一次作答正在开始，请刷新页面。") from exc
    return attempt


def reapply_settings(assignment: Assignment) -> None:
    """After an edit: attempts follow the new feedback policy, and open ones the new close time."""
    review_after = assignment.closes_at if assignment.feedback_policy == "after_close" else None
    db.session.execute(sa.update(ExamAttempt).where(ExamAttempt.assignment_id == assignment.id).values(
        feedback_policy=assignment.feedback_policy, review_after=review_after))
    for attempt in db.session.scalars(sa.select(ExamAttempt).where(
            ExamAttempt.assignment_id == assignment.id, ExamAttempt.status == "open")):
        attempt.deadline = attempt_deadline(assignment, attempt.started_at)


def close_expired_attempts(assignment: Assignment) -> int:
    """Grade the assignment's attempts whose time ran out while their students were away."""
    db.session.commit()
    cutoff = now() - grace()
    expired = list(db.session.scalars(sa.select(ExamAttempt).where(
        ExamAttempt.assignment_id == assignment.id, ExamAttempt.status == "open",
        ExamAttempt.deadline.is_not(None), ExamAttempt.deadline < cutoff)))
    graded = 0
    for attempt in expired:
        if submit_exam(attempt, "abandoned"):  # commits
            graded += 1
    return graded


# ---------------------------------------------------------------- counting attempts

@dataclass(frozen=True)
class AttemptRow:
    """A graded attempt read as columns; ``submitted_at`` is when it was handed in (see handed_in_at)."""

    id: int
    assignment_id: int
    user_id: int
    score: float
    max_score: float
    submitted_at: datetime | None


def pick_counting(rows: list[AttemptRow], rule: str) -> AttemptRow | None:
    """The attempt that counts: 最高分 (the earlier of equal scores), 最后一次 or 第一次 (rows in start order)."""
    if not rows:
        return None
    if rule == "last":
        return rows[-1]
    if rule == "first":
        return rows[0]
    return max(rows, key=lambda r: (r.score, -r.id))


def counting_attempts(assignments: list[Assignment], user_ids: list[int] | None = None
                      ) -> dict[tuple[int, int], AttemptRow]:
    """(assignment id, user id) → the counting graded attempt, read as columns in one query."""
    if not assignments:
        return {}
    rules = {a.id: a.grading_rule for a in assignments}
    stmt = sa.select(ExamAttempt.id, ExamAttempt.assignment_id, ExamAttempt.user_id, ExamAttempt.score,
                     ExamAttempt.max_score, ExamAttempt.submitted_at, ExamAttempt.closed_by,
                     ExamAttempt.deadline).where(
        ExamAttempt.assignment_id.in_(list(rules)), ExamAttempt.status == "graded")
    if user_ids is not None:
        stmt = stmt.where(ExamAttempt.user_id.in_(user_ids))
    grouped: dict[tuple[int, int], list[AttemptRow]] = {}
    for row in db.session.execute(stmt.order_by(ExamAttempt.id)):
        grouped.setdefault((row.assignment_id, row.user_id), []).append(
            AttemptRow(row.id, row.assignment_id, row.user_id, float(row.score or 0), float(row.max_score or 0),
                       handed_in_at(row.submitted_at, row.closed_by, row.deadline)))
    return {key: pick_counting(rows, rules[key[0]]) for key, rows in grouped.items()}


# ---------------------------------------------------------------- a student's list

def student_assignments(user_id: int, recent_days: int = 7, limit: int = 10) -> list[dict[str, Any]]:
    """Open and upcoming assignments of the student's classes, and those overdue in the last days."""
    at = now()
    classes = sa.select(Membership.class_id).where(Membership.user_id == user_id)
    rows = db.session.execute(sa.select(Assignment, SchoolClass.name).join(
        SchoolClass, Assignment.class_id == SchoolClass.id).where(
        Assignment.class_id.in_(classes), SchoolClass.archived.is_(False),
        sa.or_(Assignment.closes_at.is_(None), Assignment.closes_at >= at - timedelta(days=recent_days)))
        .order_by(Assignment.closes_at.is_(None), Assignment.closes_at, Assignment.id)).all()
    out = []
    for assignment, class_name in rows:
        kind = kind_of(assignment)
        if kind is None:
            continue
        state = status_of(assignment, user_id, kind)
        where = phase(assignment, at)
        if where == "closed":
            if state == "submitted":
                continue
            state = "overdue"
        due = format_local(assignment.closes_at, "%m-%d %H:%M", "不限")
        if where == "upcoming":
            due += f"（{format_local(assignment.opens_at, '%m-%d %H:%M')} 开放）"
        out.append({"url": kind.student_url(assignment), "title": assignment.title, "klass": class_name, "due": due,
                    "status": STATUS_LABELS[state], "state": state, "kind": kind.label})
        if len(out) >= limit:
            break
    return out


def status_of(assignment: Assignment, user_id: int, kind: Any | None = None) -> str:
    kind = kind or kind_of(assignment)
    if kind is None:
        return "not_started"
    if hasattr(kind, "status"):
        return kind.status(assignment, user_id)
    return "submitted" if kind.score(assignment, user_id) is not None else "not_started"
