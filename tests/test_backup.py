"""``flask backup`` / ``flask restore``: a backup taken while answers are being written holds every answer
committed before it began, and restoring it brings them back (SQLite online backup API, or pg_dump)."""

from __future__ import annotations

import stat
import threading
import time

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Item
from app.models.practice import ResponseRecord
from tests.conftest import make_user


def _writer(app, user_id: int, item_id: int, committed: list[int], stop: threading.Event) -> None:
    """Write practice answers one transaction at a time; record each once its commit returned."""
    with app.app_context():
        n = 0
        while not stop.is_set():
            n += 1
            record = ResponseRecord(user_id=user_id, item_id=item_id, mode="random", answer=[f"answer-{n}"],
                                    score=1.0, correct=True, detail={})
            db.session.add(record)
            db.session.commit()
            committed.append(n)
        db.session.remove()


def _answers(app) -> set[int]:
    with app.app_context():
        rows = db.session.scalars(sa.select(ResponseRecord.answer).where(ResponseRecord.mode == "random")).all()
        db.session.remove()
        return {int(a[0].split("-")[1]) for a in rows}


def test_backup_during_writes_then_restore_keeps_every_committed_answer(app, runner, tmp_path):
    user_id = make_user(app, "alice")
    with app.app_context():
        item_id = db.session.scalar(sa.select(Item.id).limit(1))
    committed: list[int] = []
    stop = threading.Event()
    thread = threading.Thread(target=_writer, args=(app, user_id, item_id, committed, stop))
    thread.start()
    try:
        while len(committed) < 30:
            time.sleep(0.01)
        before_backup = set(committed)
        target = tmp_path / "backup.dump"
        result = runner.invoke(args=["backup", "-o", str(target)])
        assert result.exit_code == 0, result.output
        while len(committed) < len(before_backup) + 30:  # writing goes on after the backup
            time.sleep(0.01)
    finally:
        stop.set()
        thread.join()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    everything = _answers(app)
    assert set(committed) <= everything
    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    restored = _answers(app)
    lost = before_backup - restored
    assert not lost, f"{len(lost)} answers committed before the backup were lost"
    assert len(restored) < len(everything)  # the answers written after the backup are not in it
    with app.app_context():  # the restored database is a working one
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Item)) > 0
        db.session.remove()


def test_restore_refuses_a_damaged_file(app, runner, tmp_path):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("pg_restore reports its own errors")
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    result = runner.invoke(args=["restore", str(bad), "--yes"])
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Item)) > 0
