"""Item statistics of quiz attempts as Moodle's quiz statistics report defines them, and per-topic performance.

For each item, over the counting attempt of each student (one row per answer):

* x = the item's score in points, y = the score on the rest of the test (attempt total − x), s = number of rows.
* facility index F = mean(x / item max): the mean score fraction.
* SD = the sample standard deviation of x / item max.
* V(x) = Σ(x − x̄)² / (s − 1), V(y) likewise, C(x, y) = Σ(x − x̄)(y − ȳ) / (s − 1).
* discrimination index D = C(x, y) / √(V(x)·V(y)): the Pearson correlation of the item with the rest of the test
  (Moodle shows it ×100; here it stays in −1…1). None when either variance is 0.
* discriminative efficiency E = 100 · C(x, y) / Cmax, where Cmax = Σ(x₍ᵢ₎ − x̄)(y₍ᵢ₎ − ȳ) / (s − 1) pairs the
  i-th smallest x with the i-th smallest y: the largest covariance the two observed score distributions allow
  (Moodle's ``covariancemax``). None when Cmax is 0.

Per assignment x and y are in points, exactly as Moodle computes them. Across the bank an item meets different
tests, so rows are pooled after scaling: x / item max and y / (rest-of-test max); the correlations within one
test are unchanged by that scaling. Items with D < 0.1 (negative included) on at least 5 answers are candidates
for Item.flagged, the authoring keying queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from app.assignments import services as svc
from app.clock import aware
from app.extensions import db
from app.models import Item, Topic, item_topics
from app.models.assignments import Assignment
from app.models.practice import ExamAnswer, ExamAttempt

if TYPE_CHECKING:  # numpy is imported inside the functions: the app starts without it (0.2 s)
    import numpy as np

LOW_DISCRIMINATION = 0.1
MIN_ATTEMPTS = 5
FLAG_PREFIX = "统计标记"


@dataclass
class ItemStats:
    item_id: int
    n: int
    max_points: float  # the item's full marks (the mean when it was worth different points in different tests)
    mean_points: float
    facility: float
    sd: float | None
    discrimination: float | None
    efficiency: float | None
    last_at: datetime | None = None  # the newest submission among the rows

    @property
    def flag_candidate(self) -> bool:
        return self.n >= MIN_ATTEMPTS and self.discrimination is not None and self.discrimination < LOW_DISCRIMINATION


def moments(x: np.ndarray, y: np.ndarray) -> tuple[float | None, float | None, float | None]:
    """SD of x, discrimination index and discriminative efficiency of one item (see the module docstring)."""
    import numpy as np
    s = len(x)
    if s < 2:
        return None, None, None
    dx, dy = x - x.mean(), y - y.mean()
    var_x, var_y = float(dx @ dx) / (s - 1), float(dy @ dy) / (s - 1)
    cov = float(dx @ dy) / (s - 1)
    cov_max = float((np.sort(x) - x.mean()) @ (np.sort(y) - y.mean())) / (s - 1)
    discrimination = cov / np.sqrt(var_x * var_y) if var_x * var_y > 1e-12 else None
    efficiency = 100 * cov / cov_max if abs(cov_max) > 1e-12 else None
    return float(np.sqrt(var_x)), None if discrimination is None else float(discrimination), efficiency


def item_statistics(item_ids: np.ndarray, x: np.ndarray, y: np.ndarray, full: np.ndarray,
                    when: np.ndarray | None = None) -> dict[int, ItemStats]:
    """Statistics per item from parallel arrays: item id, item score, rest-of-test score, item max (per answer)."""
    import numpy as np
    out: dict[int, ItemStats] = {}
    if len(item_ids) == 0:
        return out
    order = np.argsort(item_ids, kind="stable")
    ids, starts = np.unique(item_ids[order], return_index=True)
    for item_id, rows in zip(ids, np.split(order, starts[1:]), strict=True):
        xi, yi, fi = x[rows], y[rows], full[rows]
        fraction = np.divide(xi, fi, out=np.zeros_like(xi), where=fi > 0)
        sd, discrimination, efficiency = moments(xi, yi)
        frac_sd = float(fraction.std(ddof=1)) if len(rows) > 1 else None
        last = None
        if when is not None:
            stamps = [w for w in when[rows] if w is not None]
            last = max(stamps) if stamps else None
        out[int(item_id)] = ItemStats(int(item_id), len(rows), float(fi.mean()), float(xi.mean()),
                                      float(fraction.mean()), frac_sd if sd is not None else None,
                                      discrimination, efficiency, last)
    return out


# ---------------------------------------------------------------- reading the answers

@dataclass
class Answers:
    """One row per graded answer of a counting attempt, as parallel numpy arrays."""

    attempt: np.ndarray  # attempt id
    user: np.ndarray
    assignment: np.ndarray
    item: np.ndarray
    score: np.ndarray  # points earned
    points: np.ndarray  # the item's points on that paper
    total: np.ndarray  # the attempt's total
    possible: np.ndarray  # the attempt's full marks
    when: np.ndarray  # submitted_at (object array)

    def __len__(self) -> int:
        return len(self.attempt)


def load_answers(assignments: list[Assignment]) -> Answers:
    """The answers of the counting attempts: column queries, never one ORM object per answer."""
    import numpy as np
    quiz = [a for a in assignments if a.kind == "quiz"]
    counted = svc.counting_attempts(quiz)
    by_id = {row.id: row for row in counted.values()}
    empty = np.array([], dtype=float)
    if not by_id:
        return Answers(*(empty,) * 8, np.array([], dtype=object))
    scope = sa.and_(ExamAttempt.assignment_id.in_([a.id for a in quiz]), ExamAttempt.status == "graded")
    papers = {aid: paper for aid, paper in db.session.execute(
        sa.select(ExamAttempt.id, ExamAttempt.paper).where(scope)) if aid in by_id}
    rows = np.array(db.session.execute(sa.select(ExamAnswer.attempt_id, ExamAnswer.position,
                                                 sa.func.coalesce(ExamAnswer.score, 0.0))
                                       .join(ExamAttempt, ExamAnswer.attempt_id == ExamAttempt.id).where(scope)).all(),
                    dtype=float).reshape(-1, 3)
    attempt_ids = np.array(sorted(papers), dtype=float)
    rows = rows[np.isin(rows[:, 0], attempt_ids)]
    lengths = np.array([len(papers[int(a)]) for a in attempt_ids], dtype=int)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int)
    flat_items = np.array([e["item_id"] for a in attempt_ids for e in papers[int(a)]], dtype=int)
    flat_points = np.array([float(e["points"]) for a in attempt_ids for e in papers[int(a)]], dtype=float)
    index = np.searchsorted(attempt_ids, rows[:, 0])
    position = rows[:, 1].astype(int)
    valid = position < lengths[index]
    rows, index, position = rows[valid], index[valid], position[valid]
    flat = offsets[index] + position
    score = rows[:, 2]
    totals = np.bincount(index, weights=score, minlength=len(attempt_ids))
    possible = np.array([sum(float(e["points"]) for e in papers[int(a)]) for a in attempt_ids])
    meta = [by_id[int(a)] for a in attempt_ids]
    users = np.array([m.user_id for m in meta], dtype=int)
    owners = np.array([m.assignment_id for m in meta], dtype=int)
    submitted = np.empty(len(meta), dtype=object)
    submitted[:] = [m.submitted_at for m in meta]
    return Answers(attempt=rows[:, 0].astype(int), user=users[index], assignment=owners[index],
                   item=flat_items[flat], score=score, points=flat_points[flat], total=totals[index],
                   possible=possible[index], when=submitted[index])


def assignment_statistics(assignment: Assignment) -> dict[str, Any]:
    """Item rows (Moodle's formulas on points) and the test's own figures for one assignment."""
    import numpy as np
    data = load_answers([assignment])
    stats = item_statistics(data.item, data.score, data.total - data.score, data.points, data.when)
    _ids, first = np.unique(data.attempt, return_index=True)
    totals, possible = data.total[first], data.possible[first]
    fractions = np.divide(totals, possible, out=np.zeros_like(totals), where=possible > 0)
    test = {"n": len(fractions)}
    if len(fractions):
        test.update(mean=float(fractions.mean()), median=float(np.median(fractions)),
                    sd=float(fractions.std(ddof=1)) if len(fractions) > 1 else None)
    return {"items": _with_items(stats), "test": test}


def bank_statistics(assignments: list[Assignment] | None = None) -> list[dict[str, Any]]:
    """Item rows pooled over every quiz assignment, scores scaled to fractions (see the module docstring)."""
    import numpy as np
    if assignments is None:
        assignments = list(db.session.scalars(sa.select(Assignment).where(Assignment.kind == "quiz")))
    data = load_answers(assignments)
    rest_max = data.possible - data.points
    keep = rest_max > 0  # a one-question test has no rest to correlate with
    x = np.divide(data.score, data.points, out=np.zeros_like(data.score), where=data.points > 0)[keep]
    y = (data.total - data.score)[keep] / rest_max[keep]
    items, points = data.item[keep], data.points[keep]
    stats = item_statistics(items, x, y, np.ones_like(x), data.when[keep])
    for item_id, row in stats.items():  # show full marks and mean points in points, not as fractions
        mask = items == item_id
        row.max_points = float(points[mask].mean())
        row.mean_points = float(data.score[keep][mask].mean())
    return _with_items(stats)


def _with_items(stats: dict[int, ItemStats]) -> list[dict[str, Any]]:
    if not stats:
        return []
    items = {i.id: i for i in db.session.scalars(sa.select(Item).where(Item.id.in_(list(stats))))}
    return [{"stats": s, "item": items[s.item_id]} for s in stats.values() if s.item_id in items]


# ---------------------------------------------------------------- flags for the keying queue

def flag_reason(stats: ItemStats) -> str:
    d = stats.discrimination or 0.0
    kind = "为负值" if d < 0 else f"低于 {LOW_DISCRIMINATION}"
    return (f"{FLAG_PREFIX}：区分度 {d:.2f}（{kind}，{stats.n} 次作答，难度系数 {stats.facility:.0%}）。"
            "答得好的学生反而容易错，答案可能有误或题干有歧义，请核对答案。")[:200]


def apply_flags(rows: list[dict[str, Any]]) -> list[Item]:
    """Flag candidate items for the keying queue.

    An item already flagged keeps its reason, and an item whose key an instructor confirmed (``keyed_at``) after
    the newest answer in the data is left alone: the same answers would only flag it again.
    """
    flagged = []
    for row in rows:
        stats, item = row["stats"], row["item"]
        if not stats.flag_candidate or item.flagged:
            continue
        if item.keyed_at is not None and stats.last_at is not None and aware(item.keyed_at) >= aware(stats.last_at):
            continue
        item.flagged = flag_reason(stats)
        flagged.append(item)
    return flagged


# ---------------------------------------------------------------- topics

def topic_performance(assignments: list[Assignment]) -> list[dict[str, Any]]:
    """Mean score fraction per topic over the class's counting attempts (an answer counts for each of its topics)."""
    import numpy as np
    data = load_answers(assignments)
    if not len(data):
        return []
    fraction = np.divide(data.score, data.points, out=np.zeros_like(data.score), where=data.points > 0)
    pairs = db.session.execute(sa.select(item_topics.c.topic_id, item_topics.c.item_id).where(
        item_topics.c.item_id.in_(np.unique(data.item).tolist()))).all()
    by_topic: dict[int, list[int]] = {}
    for topic_id, item_id in pairs:
        by_topic.setdefault(topic_id, []).append(item_id)
    topics = {t.id: t for t in db.session.scalars(sa.select(Topic).where(Topic.id.in_(list(by_topic))))}
    out = []
    for topic_id, item_ids in by_topic.items():
        mask = np.isin(data.item, item_ids)
        topic = topics[topic_id]
        out.append({"topic": topic, "answers": int(mask.sum()), "students": len(np.unique(data.user[mask])),
                    "item_count": len(item_ids), "mean": float(fraction[mask].mean())})
    return sorted(out, key=lambda r: (r["topic"].position, r["topic"].name))
