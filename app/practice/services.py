"""Practice domain logic: building practice sets, recording answers, the 错题本, FSRS review, mock exams."""

from __future__ import annotations

import json
import random
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from fsrs import Card, Rating, Scheduler, State
from sqlalchemy import orm

from app import jobs
from app.bank.services import item_query
from app.clock import aware, now
from app.extensions import db
from app.grading import REGISTRY, GradeResult, grade, self_score
from app.models import Item, ItemVersion, Job, Topic
from app.models.bank import CONTENT_FIELDS
from app.models.practice import ExamAnswer, ExamAttempt, PracticeSet, ResponseRecord, ReviewCard, Star, WrongEntry
from app.rawsql import RawStatement, commit_together
from app.scores import round_score
from app.timefmt import day_start, local_date, local_today

MODES = {
    "sequential": "顺序练习",
    "random": "随机练习",
    "topic": "专题练习",
    "wrong": "错题练习",
    "starred": "收藏练习",
    "study": "背题模式",
    "review": "智能复习",
    "single": "单题练习",
}
WRONG_BOOK_RULE = "答错的题自动进入错题本；此后在不同的两天里各答对一次（不含答错当天），该题自动移出错题本。"
RIGHT_DAYS_TO_CLEAR = 2
EXAM_LEARNING_JOB = "practice.exam_learning"  # a graded exam feeds the 错题本 and FSRS in the background
_scheduler = Scheduler(enable_fuzzing=False)


@dataclass(frozen=True)
class Owner:
    """Who is practising: a user, or a visitor identified by a key kept in their session."""

    user_id: int | None
    guest_key: str | None

    def filter(self, model: Any) -> sa.ColumnElement[bool]:
        if self.user_id is not None:
            return model.user_id == self.user_id
        return sa.and_(model.user_id.is_(None), model.guest_key == self.guest_key)


def new_guest_key() -> str:
    return secrets.token_hex(16)


# ---------------------------------------------------------------- item content and versions

def version_content(item: Item, version: int | None = None) -> dict[str, Any]:
    """The content of the version a student saw (the current one by default)."""
    if version is None or version == item.version:
        return item.content()
    data = db.session.scalar(sa.select(ItemVersion.data).where(
        ItemVersion.item_id == item.id, ItemVersion.version == version))
    return data if data is not None else item.content()


# ---------------------------------------------------------------- practice sets

def scope_key(mode: str, scope: dict[str, Any]) -> str:
    return mode + "|" + "|".join(f"{k}={scope[k]}" for k in sorted(scope) if scope[k] not in (None, "", []))


def _gradable(stmt: sa.Select) -> sa.Select:
    return stmt.where(Item.key_source != "none")


def _filtered_ids(scope: dict[str, Any], gradable: bool = True) -> list[int]:
    topic = None
    if scope.get("topic"):
        topic = db.session.scalar(sa.select(Topic).where(Topic.slug == scope["topic"]))
    stmt = item_query(topic=topic, seed=scope.get("seed") or None, public=True)
    types = [t for t in scope.get("types") or [] if t in REGISTRY]
    if types:
        stmt = stmt.where(Item.type.in_(types))
    if gradable:
        stmt = _gradable(stmt)
    return list(db.session.scalars(stmt.with_only_columns(Item.id)))


def build_set(owner: Owner, mode: str, scope: dict[str, Any]) -> PracticeSet | None:
    """Create (or, for sequential modes, resume) a practice set; None when it would be empty."""
    key = scope_key(mode, scope)
    if mode in ("sequential", "topic"):
        existing = db.session.scalar(sa.select(PracticeSet).where(
            owner.filter(PracticeSet), PracticeSet.scope_key == key).order_by(PracticeSet.id.desc()))
        if existing is not None and existing.cursor < len(existing.item_ids):
            return existing
    count = max(1, min(int(scope.get("count") or 20), 200))
    if mode in ("sequential", "topic"):
        ids = _filtered_ids(scope)
    elif mode == "random":
        ids = _filtered_ids(scope)
        ids = random.sample(ids, min(count, len(ids)))
    elif mode == "study":
        ids = _filtered_ids(scope)
    elif mode == "wrong":
        ids = list(db.session.scalars(_gradable(sa.select(WrongEntry.item_id).join(Item, WrongEntry.item_id == Item.id)
                                                .where(owner.filter(WrongEntry), WrongEntry.cleared_at.is_(None),
                                                       Item.retired.is_(False)).order_by(WrongEntry.last_wrong_on))))
    elif mode == "starred":
        ids = list(db.session.scalars(_gradable(sa.select(Star.item_id).join(Item, Star.item_id == Item.id)
                                                .where(owner.filter(Star), Item.retired.is_(False)).order_by(Star.id))))
    elif mode == "review":
        ids = [card.item_id for card in due_cards(owner, limit=count)]
    else:
        ids = list(scope.get("item_ids") or [])
    if not ids:
        return None
    practice_set = PracticeSet(user_id=owner.user_id, guest_key=None if owner.user_id else owner.guest_key,
                               mode=mode, scope=scope, scope_key=key, item_ids=ids, cursor=0)
    db.session.add(practice_set)
    db.session.flush()
    return practice_set


def get_set(owner: Owner, set_id: int) -> PracticeSet | None:
    return db.session.scalar(sa.select(PracticeSet).where(PracticeSet.id == set_id, owner.filter(PracticeSet)))


def set_marks(practice_set: PracticeSet) -> dict[int, str]:
    """How the student's latest answer to each item of a set went: right | part | wrong | done (self-assessed)."""
    rows = db.session.execute(sa.select(ResponseRecord.item_id, ResponseRecord.score, ResponseRecord.correct,
                                        ResponseRecord.self_score)
                              .where(ResponseRecord.set_id == practice_set.id).order_by(ResponseRecord.id)).all()
    marks = {}
    for item_id, score, correct, own in rows:
        value = score if score is not None else own
        if value is None:
            marks[item_id] = "done"
        elif correct or value >= 1:
            marks[item_id] = "right"
        else:
            marks[item_id] = "part" if value > 0 else "wrong"
    return marks


def skip(practice_set: PracticeSet, item_id: int) -> None:
    """Move past an item without recording anything (跳过)."""
    if practice_set.cursor < len(practice_set.item_ids) and practice_set.item_ids[practice_set.cursor] == item_id:
        practice_set.cursor += 1


def is_blank_answer(item: Item, values: list[str]) -> bool:
    """Whether a submitted practice answer is empty (every input left blank)."""
    if not any(v.strip() for v in values):
        return True
    kind = REGISTRY[item.type]
    return bool(kind.is_blank(kind.parse(values, version_content(item))))


def is_starred(user_id: int, item_id: int) -> bool:
    return db.session.scalar(sa.select(Star.id).where(Star.user_id == user_id, Star.item_id == item_id)) is not None


# ---------------------------------------------------------------- answering

def record_answer(owner: Owner, item: Item, values: list[str], mode: str, practice_set: PracticeSet | None = None,
                  ) -> tuple[ResponseRecord, GradeResult]:
    """Grade and store one practice answer; update the 错题本 and the FSRS card of a signed-in student."""
    content = version_content(item)
    kind = REGISTRY[item.type]
    response_value = kind.parse(values, content)
    result = grade(content, response_value, multi_rule=current_app.config["MULTI_CHOICE_RULE"])
    record = ResponseRecord(user_id=owner.user_id, guest_key=None if owner.user_id else owner.guest_key,
                            item_id=item.id, item_version=item.version, mode=mode,
                            set_id=practice_set.id if practice_set else None, answer=response_value,
                            score=result.score, correct=result.correct, detail=result.detail, created_at=now())
    db.session.add(record)
    if practice_set is not None and practice_set.cursor < len(practice_set.item_ids) \
            and practice_set.item_ids[practice_set.cursor] == item.id:
        practice_set.cursor += 1
    # 待复核: the scorer is unsure, so the student's self-assessment (assess) decides what the 错题本 and review learn
    if owner.user_id is not None and result.score is not None and result.detail.get("verdict") != "review":
        learn(owner.user_id, item.id, result.score, result.correct, record.created_at)
    db.session.flush()
    return record, result


def assess(record: ResponseRecord, ratings: list[str]) -> None:
    """Store the student's self-assessment; for self-assessed types and 待复核 grades it drives the 错题本 and review."""
    record.self_ratings = ratings
    record.self_score = self_score(ratings)
    decides = record.score is None or (record.detail or {}).get("verdict") == "review"
    if record.user_id is not None and decides and record.self_score is not None:
        learn(record.user_id, record.item_id, record.self_score, record.self_score >= 0.6, now())


class LearningState:
    """The 错题本 entries and FSRS cards of one student for a set of items, loaded in two queries."""

    def __init__(self, user_id: int, item_ids: list[int]):
        self.user_id = user_id
        self.entries = {e.item_id: e for e in db.session.scalars(sa.select(WrongEntry).where(
            WrongEntry.user_id == user_id, WrongEntry.item_id.in_(item_ids)))}
        self.cards = {c.item_id: c for c in db.session.scalars(sa.select(ReviewCard).where(
            ReviewCard.user_id == user_id, ReviewCard.item_id.in_(item_ids)))}


def learn(user_id: int, item_id: int, score: float, correct: bool | None, when: datetime,
          state: LearningState | None = None) -> None:
    """Update the wrong-answer book and the FSRS schedule after an answer."""
    state = state or LearningState(user_id, [item_id])
    update_wrong_book(user_id, item_id, bool(correct), when, state)
    review(user_id, item_id, score, when, state)


def update_wrong_book(user_id: int, item_id: int, correct: bool, when: datetime,
                      state: LearningState | None = None) -> None:
    today = local_date(when)
    state = state or LearningState(user_id, [item_id])
    entry = state.entries.get(item_id)
    if not correct:
        if entry is None:
            state.entries[item_id] = entry = WrongEntry(user_id=user_id, item_id=item_id, last_wrong_on=today,
                                                        created_at=when)
            db.session.add(entry)
        else:
            entry.wrong_count += 1
            entry.last_wrong_on, entry.right_days, entry.last_right_on, entry.cleared_at = today, 0, None, None
        return
    if entry is None or entry.cleared_at is not None:
        return
    if today > entry.last_wrong_on and entry.last_right_on != today:
        entry.right_days += 1
        entry.last_right_on = today
        if entry.right_days >= RIGHT_DAYS_TO_CLEAR:
            entry.cleared_at = when


def rating_for(score: float) -> Rating:
    if score >= 0.9:
        return Rating.Good
    if score >= 0.5:
        return Rating.Hard
    return Rating.Again


def review(user_id: int, item_id: int, score: float, when: datetime, state: LearningState | None = None) -> ReviewCard:
    state = state or LearningState(user_id, [item_id])
    row = state.cards.get(item_id)
    card = Card.from_dict(row.card) if row else Card(due=aware(when))
    card, _log = _scheduler.review_card(card, rating_for(score), review_datetime=aware(when))
    if row is None:
        state.cards[item_id] = row = ReviewCard(user_id=user_id, item_id=item_id, card={}, due=card.due)
        db.session.add(row)
    row.card, row.due, row.reviews = card.to_dict(), card.due, (row.reviews or 0) + 1
    return row


@dataclass(frozen=True)
class DueToday:
    """What 今日待复习 counts: cards due by the end of the local day, of which ``new`` are still being learnt."""

    cards: list[ReviewCard]
    new: int

    @property
    def total(self) -> int:
        return len(self.cards)


def due_today(user_id: int) -> DueToday:
    """Cards due for review today, not counting FSRS's short-term steps of today's own answers.

    A card answered today and due again in ten minutes belongs to that session, not to the day's reviews;
    so only cards last reviewed before today's local midnight count.
    """
    today = local_today()
    start, end = day_start(today), day_start(today + timedelta(days=1))
    rows = db.session.scalars(sa.select(ReviewCard).join(Item, ReviewCard.item_id == Item.id).where(
        ReviewCard.user_id == user_id, ReviewCard.due < end, Item.retired.is_(False),
        Item.key_source != "none").order_by(ReviewCard.due))
    cards = []
    for row in rows:
        last = row.card.get("last_review")
        if last and aware(datetime.fromisoformat(last)) >= start:
            continue
        cards.append(row)
    return DueToday(cards, sum(1 for c in cards if c.card.get("state") == State.Learning.value))


def due_cards(owner: Owner, limit: int = 200) -> list[ReviewCard]:
    if owner.user_id is None:
        return []
    return due_today(owner.user_id).cards[:limit]


def toggle_star(user_id: int, item_id: int) -> bool:
    star = db.session.scalar(sa.select(Star).where(Star.user_id == user_id, Star.item_id == item_id))
    if star:
        db.session.delete(star)
        return False
    db.session.add(Star(user_id=user_id, item_id=item_id))
    return True


def adopt_guest(guest_key: str, user_id: int) -> int:
    """Give a visitor's answers to their new account and replay them into the 错题本 and review schedule."""
    records = list(db.session.scalars(sa.select(ResponseRecord).where(
        ResponseRecord.guest_key == guest_key, ResponseRecord.user_id.is_(None)).order_by(ResponseRecord.id)))
    state = LearningState(user_id, [r.item_id for r in records])
    for record in records:
        record.user_id, record.guest_key = user_id, None
        score = record.effective_score
        if score is not None:
            correct = record.correct if record.correct is not None else score >= 0.6
            learn(user_id, record.item_id, score, correct, aware(record.created_at), state)
    db.session.execute(sa.update(PracticeSet).where(PracticeSet.guest_key == guest_key, PracticeSet.user_id.is_(None))
                       .values(user_id=user_id, guest_key=None))
    return len(records)


# ---------------------------------------------------------------- mock exams

BELL_TOLERANCE_SECONDS = 5  # the page's own countdown may run a little ahead of the server's


DEFAULT_BLUEPRINT: dict[str, Any] = {
    "title": "模拟考试",
    "minutes": 60,
    "topics": [],
    "sections": [
        {"type": "single_choice", "count": 15, "points": 2},
        {"type": "multi_choice", "count": 5, "points": 4},
        {"type": "true_false", "count": 10, "points": 1},
        {"type": "term_definition", "count": 4, "points": 5},
        {"type": "short_answer", "count": 2, "points": 10},
    ],
}


def draw_paper(blueprint: dict[str, Any], rng: random.Random) -> list[dict[str, Any]]:
    """Draw items for each section of a blueprint (gradable items only), shuffling options per attempt."""
    paper = []
    topic_ids = []
    if blueprint.get("topics"):
        topic_ids = list(db.session.scalars(sa.select(Topic.id).where(Topic.slug.in_(blueprint["topics"]))))
    for section in blueprint["sections"]:
        stmt = sa.select(Item).where(Item.type == section["type"], Item.retired.is_(False), Item.key_source != "none",
                                     Item.exam_only.is_(False))
        if topic_ids:
            stmt = stmt.where(Item.topics.any(Topic.id.in_(topic_ids)))
        pool = list(db.session.scalars(stmt.order_by(Item.id)))
        for item in rng.sample(pool, min(int(section["count"]), len(pool))):
            order = list((item.options or {}).keys())
            rng.shuffle(order)
            paper.append({"item_id": item.id, "version": item.version, "points": float(section["points"]),
                          "order": order})
    return paper


def start_exam(user_id: int, blueprint: dict[str, Any], *, paper: list[dict[str, Any]] | None = None,
               assignment_id: int | None = None, feedback_policy: str = "after_submit",
               review_after: datetime | None = None, seed: int | None = None) -> ExamAttempt:
    """Start an attempt: draw (or take) the paper and store the deadline on the server."""
    rng = random.Random(seed)
    paper = paper if paper is not None else draw_paper(blueprint, rng)
    started = now()
    minutes = blueprint.get("minutes")
    attempt = ExamAttempt(user_id=user_id, title=blueprint.get("title") or "模拟考试", blueprint=blueprint,
                          paper=paper, started_at=started, status="open",
                          deadline=started + timedelta(minutes=float(minutes)) if minutes else None,
                          multi_rule=current_app.config["MULTI_CHOICE_RULE"],
                          max_score=sum(p["points"] for p in paper), assignment_id=assignment_id,
                          feedback_policy=feedback_policy, review_after=review_after)
    db.session.add(attempt)
    db.session.flush()
    return attempt


def time_used(attempt: ExamAttempt) -> int | None:
    """Seconds from start to hand-in, never more than the time limit (the grace period is not the student's)."""
    if not (attempt.submitted_at and attempt.started_at):
        return None
    used = int((aware(attempt.submitted_at) - aware(attempt.started_at)).total_seconds())
    if attempt.deadline is not None:
        used = min(used, int((aware(attempt.deadline) - aware(attempt.started_at)).total_seconds()))
    return max(0, used)


def close_reason(attempt: ExamAttempt, asked_by_bell: bool) -> str:
    """Who is closing an open attempt now: the bell (time is up) or the student."""
    if not accepting_answers(attempt):
        return "timeup"
    left = remaining_seconds(attempt)
    if asked_by_bell and left is not None and left <= BELL_TOLERANCE_SECONDS:
        return "timeup"
    return "student"


def grace() -> timedelta:
    return timedelta(seconds=current_app.config["EXAM_GRACE_SECONDS"])


def remaining_seconds(attempt: ExamAttempt) -> int | None:
    if attempt.deadline is None:
        return None
    return max(0, int((aware(attempt.deadline) - now()).total_seconds()))


def accepting_answers(attempt: ExamAttempt) -> bool:
    if attempt.status != "open":
        return False
    return attempt.deadline is None or now() <= aware(attempt.deadline) + grace()


def display_to_original(entry: dict[str, Any], values: list[str]) -> list[str]:
    """Map the letters a student saw (A, B, ... in shuffled order) back to the item's own option keys."""
    order = entry.get("order") or []
    out = []
    for value in values:
        index = ord(value) - ord("A") if len(value) == 1 else -1
        if 0 <= index < len(order):
            out.append(order[index])
    return out


def original_to_display(entry: dict[str, Any], keys: list[str]) -> list[str]:
    order = entry.get("order") or []
    return sorted(chr(ord("A") + order.index(k)) for k in keys if k in order)


def save_answer(attempt: ExamAttempt, position: int, values: list[str] | None, flagged: bool | None) -> ExamAnswer:
    """Autosave one answer (one small row); the caller checks accepting_answers first."""
    entry = attempt.paper[position]
    item_type = db.session.scalar(sa.select(Item.type).where(Item.id == entry["item_id"]))
    row = db.session.scalar(sa.select(ExamAnswer).where(ExamAnswer.attempt_id == attempt.id,
                                                        ExamAnswer.position == position))
    if row is None:
        row = ExamAnswer(attempt_id=attempt.id, position=position, answer=None, flagged=False)
        db.session.add(row)
    if values is not None and item_type is not None:
        if item_type in ("single_choice", "multi_choice"):
            values = display_to_original(entry, values)
        # choice answers are checked against the paper's options; no other type needs the item's content to parse
        row.answer = REGISTRY[item_type].parse(values, {"options": dict.fromkeys(entry.get("order") or [])})
    if flagged is not None:
        row.flagged = flagged
    row.saved_at = now()
    attempt.last_position = position
    return row


# the submit's statements, built once: Core on the session's connection, no ORM bulk or synchronisation machinery
# (the attempt object is not kept in step with them: the caller's commit expires it)
_ANSWER, _ATTEMPT, _RESPONSE = ExamAnswer.__table__, ExamAttempt.__table__, ResponseRecord.__table__
# SET: the parameters' other keys
_CLOSE_OPEN = sa.update(_ATTEMPT).where(_ATTEMPT.c.id == sa.bindparam("attempt_id"), _ATTEMPT.c.status == "open")
_RESCORE = sa.update(_ATTEMPT).where(_ATTEMPT.c.id == sa.bindparam("attempt_id"))
_SAVED_ANSWERS = sa.select(_ANSWER.c.id, _ANSWER.c.position, _ANSWER.c.answer, _ANSWER.c.saved_at,
                           _ANSWER.c.review_status).where(_ANSWER.c.attempt_id == sa.bindparam("attempt_id"))
_SCORE_ANSWERS = sa.update(_ANSWER).where(_ANSWER.c.id == sa.bindparam("answer_id"))  # SET: the rows' other keys


def _close_and_read(reserve_job: bool) -> sa.Select[Any]:
    """PostgreSQL: the claim and the read of the answers in one statement (one round trip): the close as a
    data-modifying CTE, the answers joined to it (no row at all: not claimed; one row without an answer: claimed, no
    answers). In READ COMMITTED the answers are read as committed when the statement starts. With ``reserve_job``,
    each row also carries an id drawn from the job table's sequence for the learning job, so that job's INSERT can
    go with the commit without waiting for an answer (app/rawsql.commit_together)."""
    closed = (sa.update(_ATTEMPT).where(_ATTEMPT.c.id == sa.bindparam("close_id"), _ATTEMPT.c.status == "open")
              .values(status="graded", submitted_at=sa.bindparam("close_at"), closed_by=sa.bindparam("close_by"),
                      learning_applied=False)
              .returning(_ATTEMPT.c.id).cte("closed"))
    columns: list[Any] = [closed.c.id.label("claimed"), *_SAVED_ANSWERS.selected_columns]
    source: Any = closed.outerjoin(_ANSWER, _ANSWER.c.attempt_id == closed.c.id)
    if reserve_job:
        reserved = sa.select(sa.func.nextval(sa.func.pg_get_serial_sequence(Job.__tablename__, "id"))
                             .label("job_id")).cte("reserved")
        columns.append(reserved.c.job_id)
        source = source.join(reserved, sa.true())
    return sa.select(*columns).select_from(source)


_CLOSE_AND_READ = {reserve: _close_and_read(reserve) for reserve in (False, True)}
# inline: a single row's INSERT does not return its key either (they run in commit_together)
_INSERT_ANSWERS = sa.insert(_ANSWER).inline()
_INSERT_RESPONSES = sa.insert(_RESPONSE).inline()
# PostgreSQL: a paper's grades as one statement each, its rows passed as one JSON document (one Bind/Execute on the
# server and one text parameter in the driver, not one per question: psycopg dumps a Python list as an array element
# by element, which cost more than the statement itself). RawStatements: the session's path runs their clauses,
# app/practice/bell_submit.py sends them on the DB-API connection.
_WHEN = sa.DateTime(timezone=True)
_PG_CLOSE_SCORED = RawStatement(sa.text(  # the close's time and reason with the score
    "UPDATE exam_attempt SET score = :score, submitted_at = :submitted_at, closed_by = :closed_by "
    "WHERE id = :attempt_id").bindparams(sa.bindparam("submitted_at", type_=_WHEN)))
_PG_INSERT_BLANKS = RawStatement(sa.text(
    "INSERT INTO exam_answer (attempt_id, position, answer, flagged, saved_at, score, review_status) "
    "SELECT :attempt_id, r.position, CAST('null' AS json), false, :saved_at, r.score, r.review_status "
    "FROM json_to_recordset(CAST(:rows AS json)) AS r(position integer, score double precision, review_status varchar)"
).bindparams(sa.bindparam("saved_at", type_=_WHEN)))
_PG_SCORE_ANSWERS = RawStatement(sa.text(
    "UPDATE exam_answer AS e SET score = r.score, review_status = r.review_status, "
    "answer = CASE WHEN r.dropped THEN CAST('null' AS json) ELSE e.answer END "
    "FROM json_to_recordset(CAST(:rows AS json)) "
    "AS r(id integer, score double precision, review_status varchar, dropped boolean) "
    # the attempt's rows through the unique (attempt_id, position) index: without it the planner, which expects 100
    # rows from any set-returning function, hashed them and scanned the whole table (every answer ever saved)
    "WHERE e.attempt_id = :attempt_id AND e.id = r.id"))
# the answer and the detail are JSON values inside the document (JSON null for None, as the JSON type writes it)
_PG_INSERT_RESPONSES = RawStatement(sa.text(
    "INSERT INTO response (user_id, item_id, item_version, mode, exam_id, answer, score, correct, detail, created_at) "
    "SELECT :user_id, r.item_id, r.item_version, 'exam', :exam_id, COALESCE(r.answer, CAST('null' AS json)), r.score, "
    "r.correct, r.detail, :created_at "
    "FROM json_to_recordset(CAST(:rows AS json)) "
    "AS r(item_id integer, item_version integer, answer json, score double precision, correct boolean, detail json)",
).bindparams(sa.bindparam("created_at", type_=_WHEN)))


def _graded_rows(attempt: ExamAttempt, answers: dict[int, Any], graded: list[tuple[Any, ...]]
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[bool, list[dict[str, Any]]]]:
    """What a graded paper writes: (response records, rows for the questions never saved, score updates of the
    saved answers by whether the saved answer is dropped)."""
    when = now()
    records, blanks = [], []
    scored: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for position, version, item_id, value, blank, result, points in graded:
        row = answers.get(position)
        pending = attempt.assignment_id is not None and not blank and result.detail.get("verdict") == "review"
        if row is None:
            blanks.append({"attempt_id": attempt.id, "position": position, "answer": None, "flagged": False,
                           "saved_at": when, "score": points, "review_status": "pending" if pending else None})
        else:
            # an answer saved after the deadline is dropped: the paper is graded as it stood at the deadline;
            # the instructor's grading queue decides answers the grader sent to review (app/assignments/review.py)
            update = {"answer_id": row.id, "score": points,
                      "review_status": "pending" if pending else row.review_status}
            dropped = value is None and row.answer is not None
            if dropped:
                update["answer"] = None
            scored[dropped].append(update)
        records.append({"user_id": attempt.user_id, "item_id": item_id, "item_version": version,
                        "mode": "exam", "exam_id": attempt.id, "answer": value, "score": result.score,
                        "correct": result.correct, "detail": result.detail,
                        "created_at": when})
    return records, blanks, scored


def pg_grade_writes(attempt: Any, answers: dict[int, Any], graded: list[tuple[Any, ...]], job_id: int | None,
                    submitted_at: datetime, closed_by: str) -> list[tuple[RawStatement, dict[str, Any]]]:
    """PostgreSQL: a claimed paper's writes, in order: its score with the close's time and reason, its blank
    questions' rows, the saved answers' scores, the response records, and (``job_id`` reserved from the job table's
    sequence) the learning job."""
    records, blanks, scored = _graded_rows(attempt, answers, graded)
    writes = [(_PG_CLOSE_SCORED, {"attempt_id": attempt.id, "score": _total(graded), "submitted_at": submitted_at,
                                  "closed_by": closed_by})]
    if blanks:
        writes.append((_PG_INSERT_BLANKS, {"attempt_id": attempt.id, "saved_at": blanks[0]["saved_at"], "rows": json.dumps(
            [{"position": b["position"], "score": b["score"], "review_status": b["review_status"]} for b in blanks])}))
    updates = [{"id": row["answer_id"], "score": row["score"], "review_status": row["review_status"],
                "dropped": dropped} for dropped, group in scored.items() for row in group]
    if updates:
        writes.append((_PG_SCORE_ANSWERS, {"attempt_id": attempt.id, "rows": json.dumps(updates)}))
    if records:
        first = records[0]
        writes.append((_PG_INSERT_RESPONSES, {
            "user_id": first["user_id"], "exam_id": first["exam_id"], "created_at": first["created_at"],
            "rows": json.dumps([{"item_id": r["item_id"], "item_version": r["item_version"], "answer": r["answer"],
                                 "score": r["score"], "correct": r["correct"], "detail": r["detail"]}
                                for r in records])}))
    if job_id is not None:
        # the 错题本, FSRS cards and statistics follow on the job queue, so a class submitting at the bell waits
        # only for its grades. The claim is this attempt's only one: no other job can have its key.
        writes.append(jobs.claimed_insert(EXAM_LEARNING_JOB, job_id=job_id, attempt_id=attempt.id,
                                          user_id=attempt.user_id, **_learning_job(attempt)))
    return writes


def _learning_job(attempt: Any) -> dict[str, str]:
    return {"key": f"exam-learning:{attempt.id}", "title": "根据模拟考试更新错题本与复习计划"}


def submit_exam(attempt: ExamAttempt, closed_by: str) -> bool:
    """Grade an attempt once and commit: a conditional update makes a second submit (or a race) a no-op.

    The claim is the attempt's close itself (status, time, in one conditional UPDATE): nobody sees the attempt between
    the close and the grades, since both are in one transaction.

    On SQLite the paper is graded before the attempt is claimed, so the write transaction (the database's single
    write lock that a class submitting at the bell queues for) holds only the claim, a re-read of the answers and the
    inserts. An answer saved between the grading and the claim (another tab) is noticed in the re-read and graded
    again inside the transaction, and the score written again.

    On PostgreSQL the claim locks only the attempt's row, so the claim comes first and reads the answers in the same
    statement; the paper is graded from them, and the grades, the score, the learning job and the commit are sent
    together: a submit is three round trips after the request's first statement (claim, writes with the commit).
    """
    deadline = aware(attempt.deadline)
    cutoff = deadline + grace() if deadline else None
    items = graded_versions(attempt.paper)
    connection = db.session.connection()
    ended = now()
    submitted_at = min(ended, cutoff) if cutoff else ended
    # the 错题本 and FSRS show keys: fed now only when the feedback policy already lets the student see them
    # (otherwise app/exam_integrity.py feeds them once it does; a ``never`` policy never feeds them)
    feed = policy_allows_feedback(attempt)
    job_id: int | None = None
    if connection.dialect.name == "postgresql":
        rows = connection.execute(_CLOSE_AND_READ[feed], {
            "close_id": attempt.id, "close_at": submitted_at, "close_by": closed_by}).all()
        if not rows:
            db.session.rollback()
            return False
        job_id = rows[0].job_id if feed else None
        answers = {row.position: row for row in rows if row.id is not None}
        graded = _grade_paper(attempt, items, answers, cutoff, closed_by)
    else:
        answers = _answers_now(attempt)
        graded = _grade_paper(attempt, items, answers, cutoff, closed_by)
        claim = {"attempt_id": attempt.id, "status": "graded", "submitted_at": submitted_at,
                 "score": _total(graded), "closed_by": closed_by,
                 "learning_applied": False}  # learning_applied: set by apply_exam_learning
        if connection.execute(_CLOSE_OPEN, claim).rowcount != 1:
            db.session.rollback()
            return False
        # from here to the commit the database's write lock is held: plain statements, no unit of work
        again = _answers_now(attempt)
        rescore = _snapshot(again) != _snapshot(answers)
        if rescore:
            answers, graded = again, _grade_paper(attempt, items, again, cutoff, closed_by)
    if connection.dialect.name == "postgresql":
        with commit_together(db.session) as connection:  # every write and the commit in one round trip
            for statement, values in pg_grade_writes(attempt, answers, graded, job_id, submitted_at, closed_by):
                connection.execute(statement.clause, values)
    else:
        records, blanks, scored = _graded_rows(attempt, answers, graded)
        with commit_together(db.session) as connection:
            if rescore:
                connection.execute(_RESCORE, {"attempt_id": attempt.id, "score": _total(graded)})
            if blanks:
                connection.execute(_INSERT_ANSWERS, blanks)
            for rows in scored.values():
                if rows:
                    connection.execute(_SCORE_ANSWERS, rows)  # UPDATE by primary key: one executemany
            if records:
                connection.execute(_INSERT_RESPONSES, records)  # one executemany, no ORM objects
            if feed:
                # withheld feedback feeds nothing until the policy allows (app/exam_integrity.apply_deferred_learning)
                job_id = jobs.insert_claimed(EXAM_LEARNING_JOB, attempt_id=attempt.id, user_id=attempt.user_id,
                                             **_learning_job(attempt))
    if job_id is not None:
        jobs.hand_over(job_id)
    return True


def _total(graded: list[tuple[Any, ...]]) -> float:
    return round_score(sum(points for *_, points in graded))


def _answers_now(attempt: ExamAttempt) -> dict[int, Any]:
    """The attempt's saved answers as the database has them now: rows of (id, position, answer, saved_at,
    review_status), not ORM objects."""
    rows = db.session.connection().execute(_SAVED_ANSWERS, {"attempt_id": attempt.id})
    return {row.position: row for row in rows}


def _snapshot(answers: dict[int, Any]) -> dict[int, tuple[Any, Any]]:
    return {position: (row.answer, row.saved_at) for position, row in answers.items()}


GRADED_VERSIONS_CACHED = 4096  # (item, version) contents per app and process: a class's papers share their items
_graded_versions_lock = threading.Lock()


def graded_versions(paper: list[dict[str, Any]]) -> dict[tuple[int, int], tuple[str, dict[str, Any]]]:
    """(item id, version) -> (type, content) for a paper's questions, as a student saw them.

    An item's version never changes once written (any change of content is a new version, kept in item_version), so
    they are cached per app and process: at the bell, 200 papers drawn from the same bank read each version once.
    Items deleted since the paper was drawn are left out. The contents are shared: read them, never change them.
    """
    cache = current_app.extensions.setdefault("crm_graded_versions", OrderedDict())
    wanted = {(int(entry["item_id"]), int(entry["version"])) for entry in paper}
    with _graded_versions_lock:
        found = {key: cache[key] for key in wanted if key in cache}
    missing = {item_id for item_id, version in wanted if (item_id, version) not in found}
    if missing:
        # only what grading reads: no topics, sources or search text
        items = db.session.scalars(sa.select(Item).where(Item.id.in_(missing)).options(
            orm.load_only(Item.id, Item.type, Item.version, *(getattr(Item, f) for f in CONTENT_FIELDS)),
            orm.lazyload(Item.topics), orm.lazyload(Item.sources)))
        for item in items:
            for item_id, version in wanted:
                if item_id == item.id:
                    found[(item_id, version)] = (item.type, version_content(item, version))
        with _graded_versions_lock:
            cache.update(found)
            while len(cache) > GRADED_VERSIONS_CACHED:
                cache.popitem(last=False)
    return found


def _grade_paper(attempt: ExamAttempt, items: dict[tuple[int, int], tuple[str, dict[str, Any]]],
                 answers: dict[int, Any], cutoff: datetime | None, closed_by: str) -> list[tuple[Any, ...]]:
    """(position, version, item id, graded value, blank, result, points) for each question of the paper (reads
    only)."""
    out = []
    for position, entry in enumerate(attempt.paper):
        graded = items.get((int(entry["item_id"]), int(entry["version"])))
        if graded is None:
            continue
        item_type, content = graded
        row = answers.get(position)
        value = row.answer if row is not None else None
        if row is not None and cutoff is not None and aware(row.saved_at) > cutoff:
            value = None  # saved after the deadline: the paper is graded as it stood at the deadline
        kind = REGISTRY[item_type]
        blank = kind.is_blank(value)
        result = GradeResult(0.0, False, {}) if blank and kind.auto_graded \
            else grade(content, value, multi_rule=attempt.multi_rule)
        points = (result.score or 0.0) * entry["points"]
        if blank and closed_by != "student":
            # a question never reached before the time ran out is not a wrong answer: it scores 0 on this
            # paper but stays out of the 错题本 and the accuracy figures
            result = GradeResult(None, None, {"unanswered": True})
        out.append((position, entry["version"], int(entry["item_id"]), value, blank, result, points))
    return out


@jobs.register(EXAM_LEARNING_JOB)
def learn_from_exam(report: jobs.Report, attempt_id: int) -> dict[str, int]:
    """Feed a graded attempt's answers into its student's 错题本 and FSRS schedule (a background job)."""
    attempt = db.session.get(ExamAttempt, attempt_id)
    if attempt is None or attempt.status != "graded" or attempt.learning_applied:
        return {"answers": 0}
    report(0, 1, "正在更新错题本与复习计划……")
    return {"answers": apply_exam_learning(attempt)}  # committed by jobs.run with the job's outcome


def apply_exam_learning(attempt: ExamAttempt) -> int:
    """Feed a graded attempt into its student's 错题本 and FSRS cards, once; return how many answers it read.

    Questions left unanswered when the time ran out (or the student never came back) are not wrong answers: they
    stay out of the 错题本; a blank the student handed in is one.
    """
    records = list(db.session.scalars(sa.select(ResponseRecord).where(ResponseRecord.exam_id == attempt.id)
                                      .order_by(ResponseRecord.id)))
    kinds = dict(db.session.execute(sa.select(Item.id, Item.type).where(
        Item.id.in_([r.item_id for r in records]))).all())
    state = LearningState(attempt.user_id, [r.item_id for r in records])
    for record in records:
        kind = REGISTRY.get(kinds.get(record.item_id, ""))
        blank = kind.is_blank(record.answer) if kind else record.answer in (None, "", [])
        when = aware(record.created_at)
        if record.score is not None and not blank:
            learn(attempt.user_id, record.item_id, record.score, record.correct, when, state)
        elif blank and attempt.closed_by == "student":
            update_wrong_book(attempt.user_id, record.item_id, False, when, state)
    attempt.learning_applied = True
    return len(records)


def close_expired(user_id: int) -> int:
    """Grade the user's attempts whose time ran out while they were away."""
    cutoff = now() - grace()
    expired = list(db.session.scalars(sa.select(ExamAttempt).where(
        ExamAttempt.user_id == user_id, ExamAttempt.status == "open", ExamAttempt.deadline.is_not(None),
        ExamAttempt.deadline < cutoff)))
    n = 0
    for attempt in expired:
        if submit_exam(attempt, "abandoned"):  # commits
            n += 1
    return n


def feedback_visible(attempt: ExamAttempt) -> bool:
    return attempt.status == "graded" and policy_allows_feedback(attempt)


def policy_allows_feedback(attempt: ExamAttempt) -> bool:
    """Whether the attempt's feedback policy lets its student see keys now."""
    if attempt.feedback_policy == "never":
        return False
    if attempt.feedback_policy == "after_close" and attempt.review_after is not None:
        return now() >= aware(attempt.review_after)
    return True


def today() -> date:
    return local_today()
