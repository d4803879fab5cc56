"""The gradebook of a class: students × assignments, asked of each assignment's kind; overrides; CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from app.assignments import services as svc
from app.clock import aware, now
from app.extensions import db
from app.models.assignments import Assignment, ScoreOverride
from app.models.classes import Membership, SchoolClass
from app.scores import format_score
from app.timefmt import format_local


@dataclass
class Cell:
    earned: float | None = None  # the score shown: the override when there is one
    max: float | None = None
    submitted_at: datetime | None = None
    computed: float | None = None  # the kind's own score, before any override
    late: bool = False
    missing: bool = False
    override: ScoreOverride | None = None
    history: list[ScoreOverride] = field(default_factory=list)

    @property
    def marks(self) -> list[str]:
        out = []
        if self.late:
            out.append("迟交")
        if self.missing:
            out.append("缺交")
        if self.override is not None:
            out.append("改分")
        return out

    @property
    def override_note(self) -> str:
        """The hover text of an overridden cell: who changed what, when and why."""
        o = self.override
        if o is None:
            return ""
        who = o.created_by.name if o.created_by else "已删除的用户"
        before = format_score(self.computed, "无")
        return f"原分 {before} → {format_score(o.score)}；{who} 于 {format_local(o.created_at)} 修改；理由：{o.reason}"


@dataclass
class Gradebook:
    school_class: SchoolClass
    assignments: list[Assignment]
    students: list[Membership]
    cells: dict[tuple[int, int], Cell]  # (user id, assignment id)
    maxima: dict[int, float | None]
    history: list[ScoreOverride]

    def title(self, assignment_id: int) -> str:
        return next((a.title for a in self.assignments if a.id == assignment_id), "")

    def total(self, user_id: int) -> tuple[float, float]:
        """Earned and possible points over assignments that are scored or missing (缺交 counts 0)."""
        earned = possible = 0.0
        for a in self.assignments:
            cell = self.cells[(user_id, a.id)]
            full = cell.max if cell.max is not None else self.maxima.get(a.id)
            if cell.earned is not None:
                earned += cell.earned
                possible += full or 0.0
            elif cell.missing and full:
                possible += full
        return earned, possible


def latest_overrides(assignment_ids: list[int]) -> tuple[dict[tuple[int, int], list[ScoreOverride]], list[ScoreOverride]]:
    """Overrides grouped by (user, assignment) in time order, and all of them newest first."""
    if not assignment_ids:
        return {}, []
    rows = list(db.session.scalars(sa.select(ScoreOverride).where(ScoreOverride.assignment_id.in_(assignment_ids))
                                   .order_by(ScoreOverride.created_at, ScoreOverride.id)))
    grouped: dict[tuple[int, int], list[ScoreOverride]] = {}
    for row in rows:
        grouped.setdefault((row.user_id, row.assignment_id), []).append(row)
    return grouped, rows[::-1]


def cell_for(assignment: Assignment, score: tuple | None, history: list[ScoreOverride], at: datetime) -> Cell:
    cell = Cell(history=history)
    if score is not None:
        cell.computed, cell.max, cell.submitted_at = score[0], score[1], aware(score[2])
        cell.earned = cell.computed
        cell.late = svc.is_late(assignment, cell.submitted_at)
    current = history[-1] if history else None
    if current is not None and current.score is not None:
        cell.override, cell.earned = current, current.score
    elif score is None and svc.phase(assignment, at) == "closed":
        cell.missing = True
    return cell


def build_gradebook(school_class: SchoolClass) -> Gradebook:
    assignments = svc.class_assignments(school_class.id)
    students = svc.students_of(school_class)
    user_ids = [m.user_id for m in students]
    grouped, history = latest_overrides([a.id for a in assignments])
    at = now()
    cells: dict[tuple[int, int], Cell] = {}
    maxima: dict[int, float | None] = {}
    for assignment in assignments:
        kind = svc.kind_of(assignment)
        scores: dict[int, tuple] = {}
        if kind is not None:
            if hasattr(kind, "prepare"):
                kind.prepare(assignment)
            if hasattr(kind, "scores"):
                scores = kind.scores(assignment, user_ids)
            else:
                scores = {u: s for u in user_ids if (s := kind.score(assignment, u)) is not None}
            maxima[assignment.id] = kind.max_points(assignment) if hasattr(kind, "max_points") else None
        for user_id in user_ids:
            cells[(user_id, assignment.id)] = cell_for(assignment, scores.get(user_id),
                                                       grouped.get((user_id, assignment.id), []), at)
    return Gradebook(school_class, assignments, students, cells, maxima, history)


def cell_of(assignment: Assignment, user_id: int, prepare: bool = True) -> Cell:
    """One student's cell (the override page, the student's own page)."""
    kind = svc.kind_of(assignment)
    score = None
    if kind is not None:
        if prepare and hasattr(kind, "prepare"):
            kind.prepare(assignment)
        score = kind.score(assignment, user_id)
    grouped, _ = latest_overrides([assignment.id])
    cell = cell_for(assignment, score, grouped.get((user_id, assignment.id), []), now())
    if cell.max is None and kind is not None and hasattr(kind, "max_points"):
        cell.max = kind.max_points(assignment)
    return cell


def override_score(assignment: Assignment, user_id: int, score: float | None, reason: str, by_user_id: int
                   ) -> ScoreOverride:
    """Record a new score (None withdraws the override) with its reason; earlier rows stay as history."""
    shown = cell_of(assignment, user_id).earned
    row = ScoreOverride(assignment_id=assignment.id, user_id=user_id, score=score, previous=shown, reason=reason,
                        created_by_id=by_user_id, created_at=now())
    db.session.add(row)
    db.session.flush()
    return row


# ---------------------------------------------------------------- CSV

def _text(value: str) -> str:
    """Keep spreadsheet programs from reading a name as a formula (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def gradebook_csv(book: Gradebook) -> str:
    """UTF-8 with a BOM and CRLF line ends, so Excel opens the Chinese headers correctly."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    header = ["学号", "姓名", "用户名"]
    for a in book.assignments:
        full = book.maxima.get(a.id)
        header += [f"{a.title}（满分 {format_score(full)}）" if full else a.title, f"{a.title} 标记"]
    header += ["合计得分", "合计满分", "得分率"]
    writer.writerow([_text(h) for h in header])
    for member in book.students:
        user = member.user
        row: list[str] = [_text(member.student_number), _text(user.display_name or user.username), _text(user.username)]
        for a in book.assignments:
            cell = book.cells[(user.id, a.id)]
            row += [format_score(cell.earned, ""), "、".join(cell.marks)]
        earned, possible = book.total(user.id)
        row += [format_score(earned), format_score(possible), f"{earned / possible:.1%}" if possible else ""]
        writer.writerow(row)
    return "\ufeff" + out.getvalue()
