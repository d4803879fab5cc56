"""Progress figures read with SQL aggregates: accuracy by topic, type and day; streaks; exam breakdowns."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from app.charts import bar_chart, line_chart
from app.extensions import db
from app.models import Item, Topic, item_topics
from app.models.practice import ExamAttempt, ResponseRecord
from app.timefmt import local_date, local_today
from question_bank.schema import ITEM_TYPES

SCORE = sa.func.coalesce(ResponseRecord.score, ResponseRecord.self_score)
# a topic is among the weakest only with enough answers to judge and an accuracy below the pass mark
WEAK_MIN_ANSWERS = 5
WEAK_BELOW = 0.6
COUNTED = sa.and_(ResponseRecord.mode != "study", SCORE.is_not(None))


def progress_data(user_id: int) -> dict[str, Any]:
    mine = sa.and_(ResponseRecord.user_id == user_id, COUNTED)
    by_type = db.session.execute(sa.select(Item.type, sa.func.count(), sa.func.avg(SCORE))
                                 .join(Item, ResponseRecord.item_id == Item.id).where(mine).group_by(Item.type)).all()
    by_topic = db.session.execute(
        sa.select(Topic.slug, Topic.name, sa.func.count(), sa.func.avg(SCORE))
        .select_from(ResponseRecord).join(item_topics, item_topics.c.item_id == ResponseRecord.item_id)
        .join(Topic, Topic.id == item_topics.c.topic_id).where(mine).group_by(Topic.slug, Topic.name)).all()
    rows = db.session.execute(sa.select(ResponseRecord.created_at, SCORE).where(mine)).all()
    per_day: dict[date, list[float]] = defaultdict(list)
    for created, score in rows:
        per_day[local_date(created)].append(score)
    today = local_today()
    days = [today - timedelta(days=i) for i in range(29, -1, -1)]
    series = [(d.strftime("%m-%d"), (sum(per_day[d]) / len(per_day[d])) if per_day.get(d) else None) for d in days]
    streak = 0
    day = today if per_day.get(today) else today - timedelta(days=1)
    while per_day.get(day):
        streak += 1
        day -= timedelta(days=1)
    total = len(rows)
    accuracy = (sum(s for _, s in rows) / total) if total else None
    distinct_items = db.session.scalar(sa.select(sa.func.count(sa.distinct(ResponseRecord.item_id))).where(mine)) or 0
    topic_rows = [{"slug": slug, "name": name, "count": n, "accuracy": float(avg)} for slug, name, n, avg in by_topic]
    weakest = sorted([t for t in topic_rows if t["count"] >= WEAK_MIN_ANSWERS and t["accuracy"] < WEAK_BELOW],
                     key=lambda t: t["accuracy"])[:3]
    type_rows = [{"type": t, "label": ITEM_TYPES[t], "count": n, "accuracy": float(avg)} for t, n, avg in by_type]
    exams = db.session.scalars(sa.select(ExamAttempt).where(ExamAttempt.user_id == user_id,
                                                            ExamAttempt.status == "graded",
                                                            ExamAttempt.assignment_id.is_(None))
                               .order_by(ExamAttempt.id)).all()
    return {
        "total": total, "accuracy": accuracy, "distinct_items": distinct_items, "streak": streak,
        "by_topic": sorted(topic_rows, key=lambda t: t["name"]), "by_type": type_rows, "weakest": weakest,
        "days_active": len(per_day),
        "chart": line_chart(series, "最近 30 天每日正确率"),
        "type_chart": bar_chart([(r["label"], r["accuracy"]) for r in type_rows], "各题型正确率", y_max=1.0),
        "exam_chart": line_chart([(f"第 {n} 次", (e.score or 0) / e.max_score if e.max_score else 0)
                                  for n, e in enumerate(exams, start=1)],
                                 "模拟考试得分率", color="#138a4a"),
        "exams": exams, "weak_min_answers": WEAK_MIN_ANSWERS, "weak_below": WEAK_BELOW,
    }


def exam_breakdown(attempt: ExamAttempt, with_items: bool) -> dict[str, Any]:
    """Score by type and by topic, time used, and (when feedback is visible) each item for review."""
    from app.practice.services import original_to_display, time_used, version_content

    answers = {a.position: a for a in attempt.answers}
    by_type: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    by_topic: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    records = {r.item_id: r for r in db.session.scalars(sa.select(ResponseRecord).where(
        ResponseRecord.exam_id == attempt.id))}
    items = []
    for position, entry in enumerate(attempt.paper):
        item = db.session.get(Item, entry["item_id"])
        if item is None:
            continue
        earned = (answers[position].score or 0.0) if position in answers else 0.0
        by_type[item.type][0] += earned
        by_type[item.type][1] += entry["points"]
        for topic in item.topics:
            by_topic[topic.name][0] += earned
            by_topic[topic.name][1] += entry["points"]
        if with_items:
            content = version_content(item, entry["version"])
            given = answers[position].answer if position in answers else None
            display = None
            if item.type in ("single_choice", "multi_choice"):
                display = {
                    "given": original_to_display(entry, given or []),
                    "key": original_to_display(entry, content.get("answer") or []),
                    "options": [(chr(ord("A") + i), (content.get("options") or {}).get(k, ""))
                                for i, k in enumerate(entry["order"])],
                }
            items.append({"position": position, "item": item, "content": content, "given": given, "display": display,
                          "earned": earned, "points": entry["points"], "record": records.get(item.id),
                          "review_status": answers[position].review_status if position in answers else None})
    used = time_used(attempt)
    return {
        "by_type": [(ITEM_TYPES[t], v[0], v[1]) for t, v in by_type.items()],
        "by_topic": sorted(((name, v[0], v[1]) for name, v in by_topic.items()), key=lambda r: r[0]),
        "items": items, "used_seconds": used,
    }
