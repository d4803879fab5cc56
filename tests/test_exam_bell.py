"""The exam path at the bell: autosave is one indexed upsert, concurrent first saves never fail, and submit leaves
the 错题本 and FSRS to the job queue."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app import rawsql
from app.extensions import db
from app.models import User
from app.models.jobs import Job
from app.models.practice import ExamAnswer, ExamAttempt, ResponseRecord, ReviewCard, WrongEntry
from tests.conftest import csrf_token, login, make_user
from tests.test_practice import SMALL, autosave, display_key, paper, start_exam


class StatementLog:
    """Every SQL statement the app's engine sends while the block runs: through SQLAlchemy, and the hot statements
    app/rawsql.py sends on the DB-API connection."""

    def __init__(self, app):
        self.app, self.statements = app, []

    def _record(self, _conn, _cursor, statement, _params, _context, _many):
        self._raw(statement)

    def _raw(self, statement):
        self.statements.append(" ".join(statement.split()))

    def __enter__(self):
        with self.app.app_context():
            self.engine = db.engine
        sa.event.listen(self.engine, "before_cursor_execute", self._record)
        rawsql.LISTENERS.append(self._raw)
        return self

    def __exit__(self, *exc):
        sa.event.remove(self.engine, "before_cursor_execute", self._record)
        rawsql.LISTENERS.remove(self._raw)


def test_autosave_is_one_upsert_and_nothing_else(app, student, clock):
    attempt_id = start_exam(student)
    rows = paper(app, attempt_id)
    student.get(f"/exam/{attempt_id}?q=0")  # the exam page: this process now knows the paper
    token = csrf_token(student, "/practice/")
    bodies = [{"position": 0, "answer": display_key(rows[0])},                   # first save of a question
              {"position": 0, "answer": ["A"]},                                     # the same question again
              {"position": 2, "flagged": True},                                  # a flag alone
              {"position": 3, "answer": ["true"], "flagged": False}]
    for body in bodies:
        with StatementLog(app) as log:
            response = student.post(f"/exam/{attempt_id}/save", json=body, headers={"X-CSRFToken": token})
        assert response.status_code == 200 and response.json["ok"] and response.json["remaining"] == 600
        assert len(log.statements) == 1, log.statements
        statement = log.statements[0]
        # (on PostgreSQL, a one-row CTE first makes this transaction's commit not wait for the disk)
        durability = "WITH durability AS (SELECT set_config('synchronous_commit', 'off', true)) "
        assert statement.removeprefix(durability).startswith("INSERT INTO exam_answer")
        assert "ON CONFLICT (attempt_id, position)" in statement
        # no query for the user: the session cookie says who it is; the user table appears only inside the upsert,
        # to check the cookie's session version (logout and password changes end sessions)
        assert '"user"' not in statement or "session_version" in statement
    with app.app_context():
        saved = {a.position: a for a in db.session.scalars(sa.select(ExamAnswer).where(
            ExamAnswer.attempt_id == attempt_id))}
        assert sorted(saved) == [0, 2, 3]
        key_of_a = rows[0]["order"][0]
        assert saved[0].answer == [key_of_a]  # displayed letter A mapped back to the item's own option key
        assert saved[2].flagged is True and saved[2].answer is None
        assert saved[3].answer is True and saved[3].flagged is False
        if db.engine.dialect.name == "sqlite":  # the checks in the statement are index look-ups, not scans
            plan = " ".join(str(r[-1]) for r in db.session.execute(sa.text(
                "EXPLAIN QUERY PLAN SELECT a.id FROM exam_attempt AS a WHERE a.id = 1 AND a.user_id = 1")))
            assert "PRIMARY KEY" in plan and "SCAN" not in plan
            indexes = db.session.execute(sa.text("PRAGMA index_list('exam_answer')")).all()
            assert any(ix[2] == 1 for ix in indexes)  # the unique (attempt_id, position) index ON CONFLICT uses


def test_autosave_refuses_what_it_must(app, student, client, clock):
    attempt_id = start_exam(student)
    token = csrf_token(student, "/practice/")
    bad = student.post(f"/exam/{attempt_id}/save", json={"position": 99, "answer": ["A"]}, headers={"X-CSRFToken": token})
    assert bad.status_code == 400
    no_token = student.post(f"/exam/{attempt_id}/save", json={"position": 0, "answer": ["A"]})
    assert no_token.status_code == 400
    other = app.test_client()
    make_user(app, "bob")
    login(other, "bob")
    theirs = other.post(f"/exam/{attempt_id}/save", json={"position": 0, "answer": ["A"]},
                        headers={"X-CSRFToken": csrf_token(other, "/practice/")})
    assert theirs.status_code == 404
    clock.advance(minutes=11)  # past the deadline and the grace
    late = student.post(f"/exam/{attempt_id}/save", json={"position": 0, "answer": ["A"]}, headers={"X-CSRFToken": token})
    assert late.status_code == 409 and late.json["error"] == "考试已结束，答案未保存。"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ExamAnswer)) == 0


def test_two_first_autosaves_of_one_question_at_once_never_fail(app, student):
    attempt_id = start_exam(student)
    rows = paper(app, attempt_id)
    token = csrf_token(student, "/practice/")
    twin = app.test_client()
    twin.set_cookie("session", student.get_cookie("session").value)  # the same student in a second tab
    statuses: list[int] = []
    for position in range(len(rows)):
        barrier = threading.Barrier(2)

        def save(client, answer, position=position, barrier=barrier):
            barrier.wait()
            response = client.post(f"/exam/{attempt_id}/save", json={"position": position, "answer": answer},
                                   headers={"X-CSRFToken": token})
            statuses.append(response.status_code)

        answer = ["true"] if rows[position]["type"] == "true_false" else (
            display_key(rows[position]) if rows[position]["type"].endswith("choice") else ["客户关系管理"])
        threads = [threading.Thread(target=save, args=(c, answer)) for c in (student, twin)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert statuses == [200] * (2 * len(rows))
    with app.app_context():
        counts = db.session.execute(sa.select(ExamAnswer.position, sa.func.count()).where(
            ExamAnswer.attempt_id == attempt_id).group_by(ExamAnswer.position)).all()
        assert sorted(counts) == [(p, 1) for p in range(len(rows))]


def _submit(client, attempt_id):
    token = csrf_token(client, f"/exam/{attempt_id}/confirm")
    return client.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token})


def test_submit_grades_now_and_feeds_the_wrong_book_through_the_job_queue(app, student):
    attempt_id = start_exam(student, {**SMALL, "count_term_definition": 0})
    rows = paper(app, attempt_id)
    autosave(student, attempt_id, 0, display_key(rows[0]))  # right; everything else left blank
    assert _submit(student, attempt_id).status_code == 302
    with app.app_context():
        attempt = db.session.get(ExamAttempt, attempt_id)
        assert attempt.status == "graded" and attempt.score == 5
        job = db.session.scalar(sa.select(Job).where(Job.key == f"exam-learning:{attempt_id}"))
        assert job is not None and job.name == "practice.exam_learning" and job.status == "done"
        assert job.result == {"answers": len(rows)}
        wrong = db.session.scalar(sa.select(sa.func.count()).select_from(WrongEntry))
        cards = db.session.scalar(sa.select(sa.func.count()).select_from(ReviewCard))
        assert wrong == len(rows) - 1  # blanks count as wrong; the right answer does not
        assert cards == 1  # one answered, auto-graded item has an FSRS card


def test_submit_returns_before_the_learning_job_runs(app, student):
    """With a real queue the request only grades; the worker feeds the 错题本 afterwards."""
    app.config.update(JOBS_INLINE=False, REDIS_URL=None)
    from app import jobs

    held = threading.Event()
    original = jobs.REGISTRY["practice.exam_learning"]

    def slow(report, **args):
        held.wait(10)
        return original(report, **args)

    jobs.REGISTRY["practice.exam_learning"] = slow
    try:
        attempt_id = start_exam(student, {**SMALL, "count_term_definition": 0})
        assert _submit(student, attempt_id).status_code == 302
        with app.app_context():
            assert db.session.get(ExamAttempt, attempt_id).status == "graded"
            assert db.session.scalar(sa.select(sa.func.count()).select_from(WrongEntry)) == 0
            job = db.session.scalar(sa.select(Job).where(Job.key == f"exam-learning:{attempt_id}"))
            held.set()
            finished = jobs.wait(job.id, timeout=30)
            assert finished.status == "done"
            assert db.session.scalar(sa.select(sa.func.count()).select_from(WrongEntry)) == len(paper(app, attempt_id))
    finally:
        held.set()
        jobs.REGISTRY["practice.exam_learning"] = original


@pytest.mark.parametrize("answers", [0, 3])
def test_result_page_after_submit(app, student, answers):
    attempt_id = start_exam(student)
    rows = paper(app, attempt_id)
    for position in range(answers):
        if rows[position]["type"].endswith("choice"):
            autosave(student, attempt_id, position, display_key(rows[position]))
    _submit(student, attempt_id)
    html = student.get(f"/exam/{attempt_id}/result").get_data(as_text=True)
    assert "逐题回顾" in html


def _lock_waits(app) -> int:
    """Statements of the test's PostgreSQL database waiting for a row lock now."""
    with app.app_context():
        engine = db.engine
    with engine.connect() as connection:
        return connection.scalar(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                         "AND wait_event_type = 'Lock'"))


def test_an_answer_saved_while_the_paper_is_graded_is_graded_or_refused(app, student, monkeypatch):
    """An answer another tab saves while the submit grades the paper is never lost silently.

    SQLite: submit grades before it claims the attempt; the claim re-reads the answers and grades the paper again.
    PostgreSQL: the claim comes first and locks the attempt's row; the other tab's autosave waits for the grades'
    commit, finds the attempt closed and is refused (409), so the grade stands for the answers it saw."""
    from app.practice import services

    attempt_id = start_exam(student, {**SMALL, "count_term_definition": 0})
    rows = paper(app, attempt_id)
    wrong = [chr(ord("A") + i) for i, key in enumerate(rows[0]["order"]) if key not in rows[0]["answer"]][:1]
    autosave(student, attempt_id, 0, wrong)
    token = csrf_token(student, "/practice/")
    twin = app.test_client()
    twin.set_cookie("session", student.get_cookie("session").value)  # the same student in a second tab
    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"
    grade_paper, calls, saved = services._grade_paper, [], []

    def other_tab_saves():
        saved.append(twin.post(f"/exam/{attempt_id}/save", json={"position": 0, "answer": display_key(rows[0])},
                               headers={"X-CSRFToken": token}))

    def grading_while_the_other_tab_saves(*args, **kwargs):
        if not calls:  # the other tab corrects question 1 while the paper is being graded
            if postgresql:  # its autosave must be waiting for the submit's transaction before grading goes on
                tab = threading.Thread(target=other_tab_saves)
                tab.start()
                for _ in range(500):
                    if saved or _lock_waits(app):
                        break
                    tab.join(0.01)
                calls.append(tab)
            else:
                other_tab_saves()
                calls.append(None)
        else:
            calls.append(None)
        return grade_paper(*args, **kwargs)

    monkeypatch.setattr(services, "_grade_paper", grading_while_the_other_tab_saves)
    assert _submit(student, attempt_id).status_code == 302
    if postgresql:
        calls[0].join(10)
        assert len(calls) == 1  # graded once, after the claim
        assert len(saved) == 1 and saved[0].status_code == 409, saved  # waited, then refused: the exam had ended
        assert "考试已结束" in saved[0].json["error"]
        expected_answer, expected_score = [rows[0]["order"][ord(wrong[0]) - ord("A")]], 0
    else:
        assert saved[0].status_code == 200
        assert len(calls) == 2  # graded again after the claim saw the new answer
        expected_answer, expected_score = rows[0]["answer"], 5
    with app.app_context():
        attempt = db.session.get(ExamAttempt, attempt_id)
        assert attempt.status == "graded" and attempt.score == expected_score
        first = db.session.scalar(sa.select(ExamAnswer).where(ExamAnswer.attempt_id == attempt_id,
                                                              ExamAnswer.position == 0))
        assert first.score == expected_score and first.answer == expected_answer


def test_a_submit_whose_writes_fail_commits_nothing_and_can_be_repeated(app, student, monkeypatch):
    """The grades, the score, the learning job and the commit go to PostgreSQL together: when one write fails, the
    error surfaces, nothing of the submit is kept (the attempt stays open), and the next submit works."""
    from app.practice import services

    attempt_id = start_exam(student, {**SMALL, "count_term_definition": 0})
    rows = paper(app, attempt_id)
    autosave(student, attempt_id, 0, display_key(rows[0]))
    grade_paper = services._grade_paper

    def one_response_for_a_missing_item(*args, **kwargs):
        graded = grade_paper(*args, **kwargs)
        position, version, _item_id, *rest = graded[-1]
        return [*graded[:-1], (position, version, 10**9, *rest)]  # its INSERT breaks the foreign key

    monkeypatch.setattr(services, "_grade_paper", one_response_for_a_missing_item)
    with pytest.raises(sa.exc.IntegrityError):
        _submit(student, attempt_id)
    with app.app_context():
        assert db.session.get(ExamAttempt, attempt_id).status == "open"
        assert db.session.get(ExamAttempt, attempt_id).score is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResponseRecord)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ExamAnswer).where(
            ExamAnswer.score.is_not(None))) == 0
    monkeypatch.setattr(services, "_grade_paper", grade_paper)
    assert _submit(student, attempt_id).status_code == 302
    with app.app_context():
        attempt = db.session.get(ExamAttempt, attempt_id)
        assert attempt.status == "graded" and attempt.score == 5
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResponseRecord)) == len(rows)


def test_statements_committed_together_that_fail_leave_the_session_usable(app, student):
    """rawsql.commit_together on PostgreSQL: the server skips the COMMIT after an error; the error is raised, nothing
    is kept, and the same session's next statement runs (the aborted transaction was ended)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: elsewhere commit_together sends each statement as it comes")
        users = db.session.scalar(sa.select(sa.func.count()).select_from(User))
        with pytest.raises(sa.exc.IntegrityError), rawsql.commit_together(db.session) as connection:
            connection.execute(sa.insert(Job.__table__), {"id": 10**6, "name": "x", "args": {}})
            connection.execute(sa.insert(ResponseRecord.__table__).inline(), {
                "user_id": 10**9, "item_id": 10**9, "mode": "exam", "answer": None, "score": 0, "correct": False,
                "detail": {}})  # no such user or item
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == users  # the session works
        assert db.session.get(Job, 10**6) is None  # the first INSERT was not kept


def test_a_submit_gives_its_connection_back_to_the_pool_out_of_pipeline_mode(app, student):
    """At the bell more threads ask for connections than the pool keeps, and the pool closes what comes back over its
    size: a connection given back while its statements were still being sent together broke that submit (a 500 in
    scripts/bench/bench_exam_bell.py). Every connection must come back idle, outside pipeline mode."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: pipeline mode is psycopg's")
        from psycopg.pq import PipelineStatus, TransactionStatus

        engine = db.engine
    attempt_id = start_exam(student, {**SMALL, "count_term_definition": 0})
    autosave(student, attempt_id, 0, display_key(paper(app, attempt_id)[0]))
    returned: list[tuple[object, object]] = []

    def checkin(dbapi_connection, _record):
        if dbapi_connection is not None:
            returned.append((dbapi_connection.pgconn.pipeline_status, dbapi_connection.info.transaction_status))

    sa.event.listen(engine, "checkin", checkin)
    try:
        assert _submit(student, attempt_id).status_code == 302
    finally:
        sa.event.remove(engine, "checkin", checkin)
    assert returned and all(status == (PipelineStatus.OFF, TransactionStatus.IDLE) for status in returned), returned
    with app.app_context():
        assert db.session.get(ExamAttempt, attempt_id).status == "graded"


def test_a_submit_that_loses_the_race_changes_nothing(app, student):
    attempt_id = start_exam(student, {**SMALL, "count_term_definition": 0})
    rows = paper(app, attempt_id)
    autosave(student, attempt_id, 0, display_key(rows[0]))
    with app.app_context():
        from app.practice.services import submit_exam

        attempt = db.session.get(ExamAttempt, attempt_id)
        db.session.execute(sa.update(ExamAttempt).where(ExamAttempt.id == attempt_id).values(status="grading"))
        db.session.commit()  # another process claimed it first
        assert submit_exam(attempt, "student") is False
        responses = db.session.scalar(sa.select(sa.func.count()).select_from(ResponseRecord))
        assert responses == 0


def test_autosave_stays_one_statement_with_the_rate_limits_on(database_url):
    """The answers limit is keyed by the session cookie's user: it must not load the user (a query per autosave)."""
    from app import create_app
    from tests.conftest import BASE_CONFIG

    limited = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": True,
                          "RATELIMIT_ANSWERS": "3 per minute"})
    make_user(limited, "alice")
    client = limited.test_client()
    login(client, "alice")
    attempt_id = start_exam(client)
    client.get(f"/exam/{attempt_id}?q=0")
    token = csrf_token(client, "/practice/")
    for position in (0, 1, 2, 3):
        with StatementLog(limited) as log:
            response = client.post(f"/exam/{attempt_id}/save", json={"position": position, "answer": ["A"]},
                                   headers={"X-CSRFToken": token})
        if position < 3:
            assert response.status_code == 200
            assert len(log.statements) == 1, log.statements
        else:  # the limit counted the three before: refused before any statement, with when to try again
            assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
            assert "太频繁" in response.get_json()["error"] and log.statements == []
    with limited.app_context():
        db.engine.dispose()


def test_submit_reads_the_attempt_once_and_never_reads_a_job(app, student):
    """What a submit at the bell sends: the user and the attempt read once (one statement), no job look-ups, no
    deferred-learning or expired-exam queries (its result page runs those). On PostgreSQL a mock exam's submit checks
    the session's user inside its claim (app/practice/bell_submit.py): no statement reads the user on its own."""
    attempt_id = start_exam(student, {**SMALL, "count_term_definition": 0})
    token = csrf_token(student, f"/exam/{attempt_id}/confirm")
    app.config["JOBS_INLINE"] = False  # the learning job goes to the worker thread, outside this request's count
    import threading

    request_thread, ours = threading.get_ident(), []

    def raw(statement):
        if threading.get_ident() == request_thread:  # the request's statements, not the job thread's
            ours.append(" ".join(statement.split()))

    def record(_conn, _cursor, statement, *_args):
        raw(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", record)
    rawsql.LISTENERS.append(raw)
    try:
        response = student.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token})
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
        rawsql.LISTENERS.remove(raw)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/exam/{attempt_id}/result?handed_in=1")
    postgresql = engine.dialect.name == "postgresql"
    reads_of_attempt = [s for s in ours if s.startswith("SELECT") and "exam_attempt.paper" in s.split(" FROM ")[0]
                        or s.startswith("WITH closed AS") and "RETURNING id, paper" in s]
    assert len(reads_of_attempt) == 1, reads_of_attempt
    assert sum(s.startswith("INSERT INTO job") for s in ours) == 1
    assert not [s for s in ours if s.startswith("SELECT job.") and "job.key" in s.split("WHERE")[-1]]
    reads_of_user = [s for s in ours if s.startswith("SELECT") and "FROM user" in s.replace('"', "")]
    if postgresql:
        # the paper's items (the process's first submit), the claim with the user's check, the attempt and its
        # answers, the score, the blank questions' rows, the responses, the job
        claims = [s for s in ours if s.startswith("WITH closed AS (UPDATE exam_attempt")]
        assert len(claims) == 1 and "session_version" in claims[0] and not reads_of_user
        assert len(ours) <= 6, "\n".join(s[:90] for s in ours)
    else:
        # the user with the attempt, the paper's items (the process's first submit), the answers before and after
        # the claim, the claim (the attempt's close), the blank questions' rows (one executemany: this paper was
        # handed in empty), the responses, the job
        assert len(reads_of_user) == 1
        assert len(ours) <= 8, "\n".join(s[:90] for s in ours)
    with app.app_context():
        from app import jobs as job_queue

        job = db.session.scalar(sa.select(Job).where(Job.key == f"exam-learning:{attempt_id}"))
        assert job_queue.wait(job.id, timeout=30).status == "done"
    job_queue._workers[id(app)].join()  # the worker thread has given its connection back before the app is disposed


def _one_connection_exam(database_url, **config):
    """An app whose engine has one connection (every request and check shares it), a signed-in student and an open
    mock exam whose page the student has opened."""
    from app import create_app
    from tests.conftest import BASE_CONFIG

    one = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **config,
                      "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0}})
    make_user(one, "alice")
    client = one.test_client()
    login(client, "alice")
    attempt_id = start_exam(client)
    client.get(f"/exam/{attempt_id}?q=0")
    return one, client, attempt_id


@pytest.mark.parametrize("quick", [True, False])
def test_a_quick_autosave_commit_stays_in_its_own_transaction(database_url, quick):
    """On PostgreSQL an autosave's commit need not wait for the disk (EXAM_AUTOSAVE_QUICK_COMMIT); the setting lasts
    for that one transaction: the next transaction on the same connection waits for the disk again."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: SQLite's commits in WAL mode never wait for the disk (synchronous=NORMAL)")
    one, client, attempt_id = _one_connection_exam(database_url, EXAM_AUTOSAVE_QUICK_COMMIT=quick)
    with StatementLog(one) as log:
        assert autosave(client, attempt_id, 0, ["A"]).json["ok"]
    assert ("set_config('synchronous_commit', 'off', true)" in log.statements[-1]) is quick
    with one.app_context():
        assert db.session.scalar(sa.text("SHOW synchronous_commit")) == "on"
        assert db.session.scalar(sa.select(ExamAnswer.answer).where(ExamAnswer.attempt_id == attempt_id)) is not None
        db.session.rollback()
        db.engine.dispose()


def test_after_an_autosave_its_connection_is_transactional_again(database_url):
    """An autosave runs as its own transaction (SQLite's autocommit mode, PostgreSQL's autocommit); the connection goes
    back to the pool as it was: the next transaction on it can still be rolled back."""
    one, client, attempt_id = _one_connection_exam(database_url)
    assert autosave(client, attempt_id, 0, ["A"]).json["ok"]
    with one.app_context():
        db.session.execute(sa.update(ExamAnswer).where(ExamAnswer.attempt_id == attempt_id).values(flagged=True))
        db.session.rollback()
        assert db.session.scalar(sa.select(ExamAnswer.flagged).where(ExamAnswer.attempt_id == attempt_id)) is False
        db.session.rollback()
        db.engine.dispose()


def test_a_submit_checks_the_session_and_the_owner(app, client, student):
    """The submit reads the session's user with the attempt in one statement: an ended session (password changed
    elsewhere) is sent to log in, and another student's attempt is a 404; neither attempt is graded."""
    from app.models import User

    attempt_id = start_exam(student, {**SMALL, "count_term_definition": 0})
    token = csrf_token(student, f"/exam/{attempt_id}/confirm")
    make_user(app, "bob")
    other = app.test_client()
    login(other, "bob")
    bobs = start_exam(other, {**SMALL, "count_term_definition": 0})
    assert student.post(f"/exam/{bobs}/submit", data={"csrf_token": token}).status_code == 404
    with app.app_context():
        db.session.scalar(sa.select(User).where(User.username == "alice")).end_sessions()
        db.session.commit()
    response = student.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    with app.app_context():
        statuses = db.session.scalars(sa.select(ExamAttempt.status).where(ExamAttempt.id.in_((attempt_id, bobs))))
        assert list(statuses) == ["open", "open"]


def test_a_submit_writes_one_response_per_question_as_the_orm_reads_it(app, student):
    """The responses and scores a submit writes (an executemany on SQLite, one statement of arrays on PostgreSQL)
    read back through the ORM with the paper's items, versions, saved answers, scores and details."""
    attempt_id = start_exam(student, {**SMALL, "count_term_definition": 0})
    rows = paper(app, attempt_id)
    autosave(student, attempt_id, 0, display_key(rows[0]))  # right
    wrong = [chr(ord("A") + i) for i, key in enumerate(rows[1]["order"]) if key not in rows[1]["answer"]][:1]
    autosave(student, attempt_id, 1, wrong)  # wrong; the others blank
    assert _submit(student, attempt_id).status_code == 302
    with app.app_context():
        attempt = db.session.get(ExamAttempt, attempt_id)
        saved = {a.position: a for a in db.session.scalars(sa.select(ExamAnswer).where(
            ExamAnswer.attempt_id == attempt_id))}
        responses = list(db.session.scalars(sa.select(ResponseRecord).where(ResponseRecord.exam_id == attempt_id)
                                            .order_by(ResponseRecord.id)))
        assert [r.item_id for r in responses] == [int(e["item_id"]) for e in attempt.paper]
        assert [r.item_version for r in responses] == [int(e["version"]) for e in attempt.paper]
        assert {r.user_id for r in responses} == {attempt.user_id} and {r.mode for r in responses} == {"exam"}
        assert responses[0].answer == rows[0]["answer"] and responses[0].correct is True and responses[0].score == 1
        assert responses[1].answer == saved[1].answer and responses[1].correct is False and responses[1].score == 0
        assert all(r.answer is None and r.correct is False for r in responses[2:])
        assert all(isinstance(r.detail, dict) for r in responses)
        assert {r.created_at.tzinfo is not None or app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")
                for r in responses} == {True}
        assert saved[0].score == rows[0]["points"] and saved[1].score == 0
        assert sorted(saved) == list(range(len(rows)))  # the blank questions got their rows too
        assert attempt.score == rows[0]["points"]


def test_the_submit_scores_its_answers_without_reading_everyone_elses(app, student):
    """PostgreSQL plans a set-returning function as 100 rows: joined to exam_answer by id alone, the submit's score
    UPDATE hashed them and scanned the whole table, every answer of every exam ever saved (1.8 ms of server CPU per
    submit with 12,000 rows, growing all semester). It must reach the attempt's rows through an index."""
    import json

    from app.practice import services

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL only: SQLite scores each answer by its primary key")
        user_id = db.session.scalar(sa.select(User.id).where(User.username == "alice"))
        attempts = [ExamAttempt(user_id=user_id, paper=[]) for _ in range(300)]
        db.session.add_all(attempts)
        db.session.flush()
        db.session.execute(sa.insert(ExamAnswer), [{"attempt_id": a.id, "position": p, "answer": ["A"]}
                                                   for a in attempts for p in range(10)])
        db.session.commit()
        mine = attempts[-1].id
        ids = list(db.session.scalars(sa.select(ExamAnswer.id).where(ExamAnswer.attempt_id == mine)))
        db.session.execute(sa.text("ANALYZE exam_answer"))
        compiled = services._PG_SCORE_ANSWERS._for(db.engine.dialect)
        rows = json.dumps([{"id": i, "score": 1.0, "review_status": None, "dropped": False} for i in ids])
        connection = db.session.connection().connection.dbapi_connection
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (FORMAT JSON) " + compiled.sql,
                           compiled.parameters({"attempt_id": mine, "rows": rows}))
            plan = cursor.fetchone()[0][0]["Plan"]
        db.session.rollback()

    def nodes(node):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    reads = [(n["Node Type"], n.get("Index Name")) for n in nodes(plan) if n.get("Relation Name") == "exam_answer"
             and n["Node Type"] != "ModifyTable"]
    assert reads and all(kind != "Seq Scan" for kind, _ in reads), reads
