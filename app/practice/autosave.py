"""Autosave at the bell: one indexed upsert per answer and nothing else in the request.

The request reads who is asking from the signed session cookie (no user query), maps the displayed letters to the
item's option keys with the attempt's paper (immutable once drawn, cached per process), and writes the answer with
one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` whose ``SELECT`` checks, in the same statement, that the
attempt is the student's, still open and before its deadline (the primary key of ``exam_attempt`` and the unique
index on ``exam_answer(attempt_id, position)``), sent on the DB-API connection (app/rawsql.py). Two first saves of
one question at once cannot collide: the second becomes an update. Anything unusual (no row written: another user's
attempt, a closed or late one, a remember-cookie login) falls back to the ordinary route, which explains itself.
"""

from __future__ import annotations

import itertools
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, session

from app.clock import aware, now
from app.extensions import db
from app.grading import REGISTRY
from app.models import Item, User
from app.models.practice import ExamAttempt
from app.rawsql import RawStatement

PAPER_CACHE_SIZE = 4096  # attempts per process; a paper is a few hundred bytes


@dataclass(frozen=True)
class Paper:
    """What autosave needs of an attempt that never changes: owner, start, each question's type and option order."""

    user_id: int
    started_at: datetime
    kinds: tuple[str | None, ...]
    orders: tuple[tuple[str, ...], ...]
    assignment_id: int | None = None  # a class assignment's attempt: its student must still be in the class
    deadline: datetime | None = None  # a mock exam's, fixed when it starts (an assignment's can move: not kept)


class _PaperCache:
    def __init__(self, size: int):
        self.size, self.lock, self.papers = size, threading.Lock(), OrderedDict[int, Paper]()

    def get(self, attempt_id: int) -> Paper | None:
        with self.lock:
            paper = self.papers.get(attempt_id)
            if paper is not None:
                self.papers.move_to_end(attempt_id)
            return paper

    def put(self, attempt_id: int, paper: Paper) -> None:
        with self.lock:
            self.papers[attempt_id] = paper
            self.papers.move_to_end(attempt_id)
            while len(self.papers) > self.size:
                self.papers.popitem(last=False)


def _cache() -> _PaperCache:
    cache = current_app.extensions.get("crm_paper_cache")
    if cache is None:
        cache = current_app.extensions["crm_paper_cache"] = _PaperCache(PAPER_CACHE_SIZE)
    return cache  # type: ignore[no-any-return]


def remember_paper(attempt: ExamAttempt, kinds: dict[int, str] | None = None) -> Paper:
    """Cache an attempt's paper (the exam page calls this, so its autosaves need no read)."""
    if kinds is None:
        ids = [int(e["item_id"]) for e in attempt.paper]
        kinds = dict(db.session.execute(sa.select(Item.id, Item.type).where(Item.id.in_(ids))).all())
    paper = Paper(user_id=attempt.user_id, started_at=aware(attempt.started_at),  # type: ignore[arg-type]
                  kinds=tuple(kinds.get(int(e["item_id"])) for e in attempt.paper),
                  orders=tuple(tuple(e.get("order") or ()) for e in attempt.paper),
                  assignment_id=attempt.assignment_id,
                  deadline=aware(attempt.deadline) if attempt.assignment_id is None else None)
    _cache().put(attempt.id, paper)
    return paper


def warm(attempt: ExamAttempt) -> None:
    """Make sure this process knows the attempt's paper before its autosaves arrive."""
    if _cache().get(attempt.id) is None:
        remember_paper(attempt)


def _paper(attempt_id: int, user_id: int) -> Paper | None:
    paper = _cache().get(attempt_id)
    if paper is None:
        attempt = db.session.get(ExamAttempt, attempt_id)
        if attempt is None or attempt.user_id != user_id:
            return None
        paper = remember_paper(attempt)
    return paper if paper.user_id == user_id else None


def is_plain_mock_exam(attempt_id: Any) -> bool:
    """Whether an autosave is to a known mock exam of the signed-in user (no class membership to check).

    Answered from the session cookie and this process's paper cache alone, so the request stays one statement.
    """
    who = session_user()
    paper = _cache().get(attempt_id) if isinstance(attempt_id, int) else None
    return who is not None and paper is not None and paper.user_id == who[0] and paper.assignment_id is None


def session_user() -> tuple[int, int | None] | None:
    """The signed-in user's id (and session version, where sessions carry one) from the session cookie alone."""
    token = session.get("_user_id")
    if not isinstance(token, str):
        return None
    user_id, _, version = token.partition(".")
    if not user_id.isdigit() or (version and not version.isdigit()):
        return None
    return int(user_id), int(version) if version else None


def parse_answer(paper: Paper, position: int, values: list[str]) -> Any:
    """The stored form of the values a student gave (displayed letters mapped back to the item's option keys)."""
    kind = paper.kinds[position]
    if kind is None:
        return None
    order = paper.orders[position]
    if kind in ("single_choice", "multi_choice"):
        values = [order[ord(v) - ord("A")] for v in values if len(v) == 1 and 0 <= ord(v) - ord("A") < len(order)]
    return REGISTRY[kind].parse(values, {"options": dict.fromkeys(order)})


def _statement(set_answer: bool, set_flag: bool, check_version: bool, returning: bool,
               quick_commit: bool) -> RawStatement:
    updates = [f"{column} = excluded.{column}" for column, wanted in (("answer", set_answer), ("flagged", set_flag))
               if wanted] + ["saved_at = excluded.saved_at"]
    version = ' AND EXISTS (SELECT 1 FROM "user" AS u WHERE u.id = :user_id AND u.session_version = :version)' \
        if check_version else ""

    def sql(durability: str, joined: str, lock: str) -> str:
        return (
            f"{durability}INSERT INTO exam_answer (attempt_id, position, answer, flagged, saved_at) "
            f"SELECT a.id, :position, :answer, :flagged, :saved_at FROM exam_attempt AS a{joined} "
            "WHERE a.id = :attempt_id AND a.user_id = :user_id AND a.started_at = :started_at AND a.status = 'open' "
            f"AND (a.deadline IS NULL OR a.deadline >= :cutoff){version}{lock} "
            f"ON CONFLICT (attempt_id, position) DO UPDATE SET {', '.join(updates)}"
            + (" RETURNING (SELECT d.deadline FROM exam_attempt AS d WHERE d.id = :attempt_id) AS deadline"
               if returning else ""))

    when = sa.DateTime(timezone=True)

    def typed(text: str) -> Any:
        clause = sa.text(text).bindparams(
            sa.bindparam("answer", type_=sa.JSON), sa.bindparam("flagged", type_=sa.Boolean),
            sa.bindparam("saved_at", type_=when), sa.bindparam("started_at", type_=when),
            sa.bindparam("cutoff", type_=when))
        return clause.columns(deadline=when) if returning else clause

    # PostgreSQL: the attempt's row is read FOR SHARE, so an autosave cannot slip in while a submit (which has
    # closed the attempt and not yet committed its grades) grades the answers: it waits for that commit, finds the
    # attempt closed and writes nothing (SQLite: the database's write lock already serialises the two).
    # With quick_commit, this transaction's commit does not wait for its WAL record to reach the disk
    # (set_config(..., true) lasts until the statement's own commit; the one-row CTE is joined so that it runs). See
    # EXAM_AUTOSAVE_QUICK_COMMIT in app/config.py for what that trades.
    lock = " FOR SHARE OF a"
    postgresql = typed(sql("WITH durability AS (SELECT set_config('synchronous_commit', 'off', true)) ",
                           ", durability", lock) if quick_commit else sql("", "", lock))
    return RawStatement(typed(sql("", "", "")), postgresql=postgresql)


# (answer given, flag given, session version checked, deadline returned: an assignment's attempt, whose deadline
# an instructor can move; a mock exam's is in its cached paper; quick commit on PostgreSQL)
_STATEMENTS = {key: _statement(*key) for key in itertools.product((False, True), repeat=5)}


class BadRequest(ValueError):
    """The posted position or answer cannot be part of this paper."""


def save(attempt_id: int, data: dict[str, Any]) -> tuple[bool, int | None] | None:
    """Write one autosave in one statement: (saved, remaining seconds), or None to take the ordinary route."""
    who = session_user()
    if who is None:
        return None
    user_id, version = who
    paper = _paper(attempt_id, user_id)
    if paper is None:
        return None
    try:
        position = int(data.get("position"))  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):  # 1e309 is infinity
        raise BadRequest("position") from None
    if not 0 <= position < len(paper.kinds):
        raise BadRequest("position")
    values = data.get("answer")
    if values is not None:
        values = [str(v) for v in (values if isinstance(values, list) else [values])][:50]
    flagged = data.get("flagged")
    check_version = version is not None and hasattr(User, "session_version")
    stamp = now()
    params = {"attempt_id": attempt_id, "user_id": user_id, "position": position,
              "answer": parse_answer(paper, position, values) if values is not None else None,
              "flagged": bool(flagged) if flagged is not None else False, "saved_at": stamp,
              "started_at": paper.started_at, "cutoff": stamp - _grace()}
    if check_version:
        params["version"] = version
    returning = paper.assignment_id is not None
    statement = _STATEMENTS[(values is not None, flagged is not None, check_version, returning,
                             bool(current_app.config["EXAM_AUTOSAVE_QUICK_COMMIT"]))]
    if returning:
        row = statement.first(db.engine, params)
        if row is None:
            return None
        deadline = aware(row[0])
    else:
        if statement.write(db.engine, params) != 1:
            return None
        deadline = paper.deadline
    remaining = None if deadline is None else max(0, int((deadline - stamp).total_seconds()))
    return True, remaining


def _grace() -> timedelta:
    return timedelta(seconds=current_app.config["EXAM_GRACE_SECONDS"])
