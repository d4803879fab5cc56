"""Hardening (issue 12): sessions end, usernames fold case, passwords have a policy, logins are throttled,
exams cannot be looked up, 错题本 follows the feedback policy, hostile input gets a 400, headers are sent."""

from __future__ import annotations

import os
import re
import stat
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db
from app.models import Item, User
from app.models.classes import Membership
from app.models.practice import ResponseRecord, WrongEntry
from tests.conftest import BASE_CONFIG, csrf_token, login, make_user, post_form
from tests.test_assignments import create_quiz, paper_uids, quiz_data, start, take, user_client

# ---------------------------------------------------------------- sessions


def _remember_login(client, username="alice", password="secret123"):
    response = post_form(client, "/auth/login", {"username": username, "password": password, "remember": "y"})
    assert response.status_code == 302
    return response


def _cookies(client) -> dict[str, str]:
    return {c.key: c.value for c in client._cookies.values()}


def _client_with(app, cookies: dict[str, str]):
    fresh = app.test_client()
    for name, value in cookies.items():
        fresh.set_cookie(name, value)
    return fresh


def test_logout_ends_the_session_and_the_remember_cookie(app):
    make_user(app, "alice")
    client = app.test_client()
    _remember_login(client)
    stolen = _cookies(client)
    assert "remember_token" in stolen and "session" in stolen
    assert _client_with(app, stolen).get("/exam/").status_code == 200  # the copy works while signed in
    post_form(client, "/auth/logout", page="/")
    for only in ({"session": stolen["session"]}, {"remember_token": stolen["remember_token"]}, stolen):
        response = _client_with(app, only).get("/exam/")
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], only.keys()


def test_password_reset_ends_every_session(app, runner):
    make_user(app, "alice")
    client = app.test_client()
    _remember_login(client)
    stolen = _cookies(client)
    result = runner.invoke(args=["users", "reset-password", "ALICE", "--password", "Kh7#mq2v9x"])
    assert result.exit_code == 0, result.output
    for only in ({"session": stolen["session"]}, {"remember_token": stolen["remember_token"]}):
        assert _client_with(app, only).get("/exam/").status_code == 302
    login(app.test_client(), "alice", "Kh7#mq2v9x")


def test_cookies_are_lax_and_remember_me_lasts_14_days(app):
    make_user(app, "alice")
    client = app.test_client()
    response = _remember_login(client)
    cookies = response.headers.getlist("Set-Cookie")
    remember = next(c for c in cookies if c.startswith("remember_token="))
    session = next(c for c in cookies if c.startswith("session="))
    assert "SameSite=Lax" in remember and "SameSite=Lax" in session and "HttpOnly" in remember
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=14)
    assert "Secure" not in remember  # plain HTTP in tests


def test_cookies_are_secure_over_https(database_url, tmp_path):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "PREFERRED_URL_SCHEME": "https"})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    response = app.test_client().get("/auth/login", base_url="https://localhost")
    assert "max-age=" in response.headers["Strict-Transport-Security"]
    with app.app_context():
        db.engine.dispose()


# ---------------------------------------------------------------- usernames and passwords


def test_usernames_are_case_insensitive(app, client):
    make_user(app, "demo_teacher", "instructor")
    response = post_form(client, "/auth/register", {"username": "DEMO_TEACHER", "password": "Kh7#mq2v9x",
                                                    "confirm": "Kh7#mq2v9x"})
    assert response.status_code == 200 and "已被使用" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
        db.session.add(User(username="Demo_Teacher", password_hash="x"))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()  # the database refuses it too
    login(client, "DEMO_teacher")  # signing in ignores case


@pytest.mark.parametrize(("password", "message"), [
    ("short1", "至少 8 个字符"), ("password123", "太常见"), ("12345678", "太常见"), ("aaaaaaaaaa", "太常见"),
    ("newstudent", "用户名"), ("newstudent1", "用户名")])
def test_password_policy_refuses_weak_passwords(app, client, password, message):
    response = post_form(client, "/auth/register", {"username": "newstudent", "password": password,
                                                    "confirm": password})
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    with app.app_context():
        assert User.by_username("newstudent") is None


def test_password_policy_accepts_a_good_password(app, client):
    response = post_form(client, "/auth/register", {"username": "newstudent", "password": "lanmei-7-hua",
                                                    "confirm": "lanmei-7-hua"})
    assert response.status_code == 302


def test_cli_refuses_weak_passwords(runner):
    result = runner.invoke(args=["users", "create", "bob", "--password", "12345678"])
    assert result.exit_code != 0 and "太常见" in result.output


def test_short_secret_key_stops_production(database_url, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "too-short-key")
    monkeypatch.setenv("DATABASE_URL", database_url)
    with pytest.raises(RuntimeError, match="SECRET_KEY 太短"):
        create_app()
    monkeypatch.setenv("SECRET_KEY", "k" * 32)
    app = create_app()
    assert app.config["SECRET_KEY"] == "k" * 32
    with app.app_context():
        db.engine.dispose()


def test_unknown_user_takes_as_long_as_a_wrong_password(database_url):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "PASSWORD_HASH_METHOD": "scrypt"})
    make_user(app, "alice")
    client = app.test_client()

    def timed(username):
        token = csrf_token(client, "/auth/login")
        start_time = time.perf_counter()
        client.post("/auth/login", data={"username": username, "password": "wrong-password", "csrf_token": token})
        return time.perf_counter() - start_time

    known = min(timed("alice") for _ in range(3))
    unknown = min(timed("nobody-here") for _ in range(3))
    assert unknown > 0.5 * known, (known, unknown)
    with app.app_context():
        db.engine.dispose()


# ---------------------------------------------------------------- rate limits


@pytest.fixture
def limited_app(database_url):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": True})
    yield app
    with app.app_context():
        db.engine.dispose()


def test_login_is_throttled_per_account(limited_app):
    make_user(limited_app, "alice")
    statuses = []
    for n in range(12):
        client = limited_app.test_client()  # fresh clients: per-account, not per-cookie
        token = csrf_token(client, "/auth/login")
        response = client.post("/auth/login", data={"username": "ALICE", "password": f"wrong{n}", "csrf_token": token},
                               environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
        statuses.append(response.status_code)
    assert statuses[:10] == [200] * 10 and statuses[10:] == [429, 429]
    assert "锁定" in response.get_data(as_text=True) and int(response.headers["Retry-After"]) > 0
    # even the right password waits: the lock is on the account
    client = limited_app.test_client()
    token = csrf_token(client, "/auth/login")
    assert client.post("/auth/login", data={"username": "alice", "password": "secret123",
                                            "csrf_token": token}).status_code == 429


def test_login_is_throttled_per_address_but_successes_do_not_count(limited_app):
    for n in range(5):
        make_user(limited_app, f"user{n}")
    client = limited_app.test_client()
    for _ in range(3):  # signing in and out again and again is normal use
        for n in range(5):
            login(client, f"user{n}")
            post_form(client, "/auth/logout", page="/")
    statuses = []
    for n in range(62):
        token = csrf_token(client, "/auth/login")
        statuses.append(client.post("/auth/login", data={"username": f"guess{n}", "password": "x" * 8,
                                                         "csrf_token": token}).status_code)
    assert statuses.count(200) == 60 and statuses[-1] == 429


def test_answer_floods_are_refused_politely(database_url, monkeypatch):
    from limits import parse_many

    from app.security import ANSWERS_PER_STUDENT

    # the site's limit: hundreds a second refused, a person answering (a few a minute) never
    assert [(item.amount, item.GRANULARITY.seconds) for item in parse_many(ANSWERS_PER_STUDENT)] == [(20, 1), (300, 60)]
    # the mechanism, with a per-minute limit so the test does not depend on how fast the database answers
    limited_app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": True,
                              "RATELIMIT_ANSWERS": "20 per minute"})
    make_user(limited_app, "alice")
    client = limited_app.test_client()
    login(client, "alice")
    with limited_app.app_context():
        uid = db.session.scalar(sa.select(Item.uid).where(Item.type == "true_false", Item.key_source != "none"))
    response = client.get(f"/practice/items/{uid}")
    set_url = response.headers["Location"]
    token = csrf_token(client, set_url)
    with limited_app.app_context():
        item_id = db.session.scalar(sa.select(Item.id).where(Item.uid == uid))
    responses = [client.post(f"{set_url}/answer", data={"item_id": item_id, "answer": "true", "csrf_token": token})
                 for _ in range(25)]
    statuses = [r.status_code for r in responses]
    assert 429 not in statuses[:20] and statuses[20:] == [429] * 5
    refused = responses[-1]
    assert "太频繁" in refused.get_data(as_text=True) and int(refused.headers["Retry-After"]) > 0
    # the in-process counters start no thread per answer (the library's memory:// did: 4 ms an autosave)
    import threading

    started, start = [], threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: started.append(self.name) or start(self))
    for _ in range(10):
        client.post(f"{set_url}/answer", data={"item_id": item_id, "answer": "true", "csrf_token": token})
        time.sleep(0.02)  # the library's timer (10 ms) has ended: its storage would start another
    assert started == []
    other = limited_app.test_client()  # the limit is the student's, not everybody's
    make_user(limited_app, "bob")
    login(other, "bob")
    assert other.get(f"/practice/items/{uid}").status_code == 302
    with limited_app.app_context():
        db.engine.dispose()



def test_answers_go_through_when_the_limit_storage_is_down(database_url, monkeypatch, caplog):
    """An unreachable rate-limit store (Redis down) must not stop a class's exam: the answer is saved, the failure
    logged."""
    limited = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": True})
    make_user(limited, "alice")
    client = limited.test_client()
    login(client, "alice")
    with limited.app_context():
        uid = db.session.scalar(sa.select(Item.uid).where(Item.type == "true_false", Item.key_source != "none"))
        item_id = db.session.scalar(sa.select(Item.id).where(Item.uid == uid))
    set_url = client.get(f"/practice/items/{uid}").headers["Location"]
    token = csrf_token(client, set_url)

    def down(*_args, **_kwargs):
        raise ConnectionError("redis unreachable")

    monkeypatch.setattr(limited.extensions["crm_limiter"].limiter, "hit", down)
    response = client.post(f"{set_url}/answer", data={"item_id": item_id, "answer": "true", "csrf_token": token})
    assert response.status_code in (200, 302)
    with limited.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResponseRecord)) == 1
        db.session.rollback()  # (its connection back to the pool before the pool is closed)
        db.engine.dispose()
    assert "答题频率限制的存储不可用" in caplog.text

def test_visitors_cannot_flood_practice_sets(limited_app):
    client = limited_app.test_client()
    statuses = [client.get("/practice/start?mode=random&count=200").status_code for _ in range(35)]
    assert statuses.count(302) == 30 and statuses[-1] == 429


def test_rate_limits_can_be_turned_off(database_url):
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, "RATELIMIT_ENABLED": False})
    client = app.test_client()
    assert all(client.get("/practice/start?mode=random").status_code == 302 for _ in range(35))
    with app.app_context():
        db.engine.dispose()


# ---------------------------------------------------------------- headers, files, Markdown


def test_security_headers(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # only behind HTTPS


def test_no_page_has_inline_script():
    from pathlib import Path

    templates = Path(__file__).resolve().parent.parent / "app" / "templates"
    offenders = []
    for path in templates.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        offenders += [f"{path.name}: <script> without src" for m in re.finditer(r"<script(?![^>]*\bsrc=)[^>]*>", text)]
        offenders += [f"{path.name}: {m.group(0)}" for m in re.finditer(r"\son[a-z]+=\"", text)]
    assert not offenders, offenders


def test_instance_and_database_are_private(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    database = instance / "crm.sqlite3"
    database.write_bytes(b"")
    database.chmod(0o644)
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"})
    app.instance_path = str(instance)
    from app.security import _secure_instance

    _secure_instance(app)
    assert stat.S_IMODE(os.stat(instance).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(database).st_mode) == 0o600
    with app.app_context():
        db.session.execute(sa.text("CREATE TABLE t (x)"))
        db.session.commit()
        for suffix in ("-wal", "-shm"):
            companion = instance / f"crm.sqlite3{suffix}"
            if companion.exists():
                db.engine.dispose()
                db.session.execute(sa.text("SELECT 1"))
                assert stat.S_IMODE(os.stat(companion).st_mode) == 0o600
        db.engine.dispose()


@pytest.mark.parametrize("source", ["![p](//evil.example/px.png)", "![q](/\\evil.example/px.png)",
                                    "![r](/\\/evil.example/px.png)", "![s](https://evil.example/px.png)",
                                    '<img src="//evil.example/x">'])
def test_images_from_other_sites_lose_their_source(source):
    from app.markdown import render_markdown

    html = str(render_markdown(source))
    assert "src=" not in html and "evil" not in html


def test_images_from_this_site_are_kept():
    from app.markdown import render_markdown

    assert 'src="/static/favicon.svg"' in str(render_markdown("![ok](/static/favicon.svg)"))


# ---------------------------------------------------------------- exams that cannot be looked up


@pytest.fixture
def quiz(app, clock):
    from tests.test_assignments import make_class, make_items

    teacher = user_client(app, "teacher", "instructor")
    alice = user_client(app, "alice")
    class_id = make_class(app, "teacher", ("alice",))
    uids, points = make_items(app)
    items = "\n".join(f"{u} {points[u]}" for u in uids)
    return {"teacher": teacher, "alice": alice, "class_id": class_id, "uids": uids, "items": items}


def test_an_open_quiz_cannot_be_looked_up(app, quiz, clock):
    teacher, alice = quiz["teacher"], quiz["alice"]
    assignment_id = create_quiz(teacher, quiz["class_id"], quiz_data(quiz["items"], clock.now + timedelta(days=3),
                                                                     attempts_allowed="3"))
    # before the quiz the student practised one of its items: that feedback page exists
    alice.get(f"/practice/items/{quiz['uids'][0]}")
    with app.app_context():
        item_id = db.session.scalar(sa.select(Item.id).where(Item.uid == quiz["uids"][0]))
    set_url = alice.get(f"/practice/items/{quiz['uids'][0]}").headers["Location"]
    feedback_url = post_form(alice, f"{set_url}/answer", {"item_id": item_id, "answer": "false"},
                             page=set_url).headers["Location"]
    assert alice.get(feedback_url).status_code == 200
    response = start(alice, assignment_id)
    attempt_id = int(response.headers["Location"].rsplit("/", 1)[1])
    looked_up = 0
    for uid in paper_uids(app, attempt_id):
        stem = alice.get("/search?q=" + uid).get_data(as_text=True)
        assert uid in stem  # the item can still be found by its stem (anyone can)...
        for url in (f"/bank/items/{uid}", f"/practice/items/{uid}"):
            page = alice.get(url)
            if page.status_code != 403 or "考试进行中" not in page.get_data(as_text=True):
                looked_up += 1
    assert looked_up == 0
    page = alice.get(feedback_url)  # ...and earlier feedback on it is closed too
    assert page.status_code == 403 and "考试进行中" in page.get_data(as_text=True)
    # anonymous visitors and other students still see the public bank
    assert app.test_client().get(f"/bank/items/{quiz['uids'][0]}").status_code == 200
    token = csrf_token(alice, f"/exam/{attempt_id}")
    alice.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token})
    assert alice.get(f"/bank/items/{quiz['uids'][0]}").status_code == 200  # after submitting: open again


def test_exam_only_items_stay_out_of_the_public_bank(app, quiz, clock):
    teacher, alice = quiz["teacher"], quiz["alice"]
    uid = quiz["uids"][0]
    response = post_form(teacher, f"/manage/items/{uid}/exam-only", {"exam_only": "1"}, page=f"/bank/items/{uid}")
    assert response.status_code == 302
    visitor = app.test_client()
    assert uid not in visitor.get("/search?q=测试判断题").get_data(as_text=True)
    assert visitor.get(f"/bank/items/{uid}").status_code == 404
    assert visitor.get(f"/practice/items/{uid}").status_code == 404
    assert alice.get(f"/bank/items/{uid}").status_code == 404
    assert teacher.get(f"/bank/items/{uid}").status_code == 200
    with app.app_context():
        from app.practice.services import Owner, build_set, draw_paper

        practice_set = build_set(Owner(None, "guest"), "sequential", {"types": ["true_false"]})
        assert db.session.scalar(sa.select(Item.id).where(Item.uid == uid)) not in practice_set.item_ids
        import random

        paper = draw_paper({"sections": [{"type": "true_false", "count": 1000, "points": 1}]}, random.Random(1))
        assert db.session.scalar(sa.select(Item.id).where(Item.uid == uid)) not in [e["item_id"] for e in paper]
        db.session.rollback()
    # the instructor's quiz can still use it
    assignment_id = create_quiz(teacher, quiz["class_id"], quiz_data(quiz["items"], clock.now + timedelta(days=3)))
    response = start(alice, assignment_id)
    assert uid in paper_uids(app, int(response.headers["Location"].rsplit("/", 1)[1]))


def _wrong_uids(app, username="alice"):
    with app.app_context():
        user_id = User.by_username(username).id
        return set(db.session.scalars(sa.select(Item.uid).join(WrongEntry, WrongEntry.item_id == Item.id).where(
            WrongEntry.user_id == user_id, WrongEntry.cleared_at.is_(None))))


def test_withheld_feedback_keeps_the_wrong_book_empty(app, quiz, clock):
    teacher, alice = quiz["teacher"], quiz["alice"]
    assignment_id = create_quiz(teacher, quiz["class_id"], quiz_data(
        quiz["items"], clock.now + timedelta(days=3), attempts_allowed="3", feedback_policy="never"))
    take(app, alice, assignment_id, right=())
    assert _wrong_uids(app) == set()
    page = alice.get("/practice/wrong").get_data(as_text=True)
    assert not any(uid in page for uid in quiz["uids"])
    with app.app_context():
        from app.models.practice import ReviewCard

        assert db.session.scalar(sa.select(sa.func.count()).select_from(ReviewCard)) == 0


def test_after_close_feedback_feeds_the_wrong_book_after_the_close(app, quiz, clock):
    teacher, alice = quiz["teacher"], quiz["alice"]
    assignment_id = create_quiz(teacher, quiz["class_id"], quiz_data(
        quiz["items"], clock.now + timedelta(days=1), feedback_policy="after_close"))
    take(app, alice, assignment_id, right=quiz["uids"][:1])
    assert _wrong_uids(app) == set()
    clock.advance(days=2)
    alice.get("/")
    assert _wrong_uids(app) == set(quiz["uids"][1:])


def test_after_submit_feedback_feeds_the_wrong_book_at_once(app, quiz, clock):
    teacher, alice = quiz["teacher"], quiz["alice"]
    assignment_id = create_quiz(teacher, quiz["class_id"], quiz_data(quiz["items"], clock.now + timedelta(days=1)))
    take(app, alice, assignment_id, right=())
    assert _wrong_uids(app) == set(quiz["uids"])


def test_a_removed_student_cannot_finish_an_open_attempt(app, quiz, clock):
    teacher, alice = quiz["teacher"], quiz["alice"]
    assignment_id = create_quiz(teacher, quiz["class_id"], quiz_data(quiz["items"], clock.now + timedelta(days=1)))
    attempt_id = take(app, alice, assignment_id, submit=False)
    token = csrf_token(alice, f"/exam/{attempt_id}")
    with app.app_context():
        db.session.execute(sa.delete(Membership))
        db.session.commit()
    saved = alice.post(f"/exam/{attempt_id}/save", headers={"X-CSRFToken": token}, json={"position": 0,
                                                                                         "answer": ["true"]})
    assert saved.status_code == 403 and "不在" in saved.json["error"]
    response = alice.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token})
    assert response.status_code == 403
    with app.app_context():
        from app.models.practice import ExamAttempt

        assert db.session.get(ExamAttempt, attempt_id).status == "open"


# ---------------------------------------------------------------- roster import cannot hand a place to an attacker


def test_roster_invites_an_existing_account_instead_of_attaching_it(app, instructor):
    from tests.test_classes import create_class, import_roster, member_ids

    client_attacker = app.test_client()
    response = post_form(client_attacker, "/auth/register", {"username": "ZHANGSAN01", "password": "Kh7#mq2v9x",
                                                             "confirm": "Kh7#mq2v9x"})
    assert response.status_code == 302
    class_id, _ = create_class(instructor)
    html = import_roster(instructor, class_id, "2024100,张三,zhangsan01\n".encode()).get_data(as_text=True)
    assert "发出邀请 1 人" in html
    assert member_ids(app, class_id) == set()  # nobody joined silently
    page = client_attacker.get("/classes/").get_data(as_text=True)
    invitation = re.search(r"/classes/invitations/(\d+)", page).group(1)
    post_form(client_attacker, f"/classes/invitations/{invitation}", {"accept": "0"}, page="/classes/")
    assert member_ids(app, class_id) == set()  # declined: still nobody
    # another user cannot answer someone else's invitation
    import_roster(instructor, class_id, "2024100,张三,zhangsan01\n".encode())
    with app.app_context():
        from app.models.classes import ClassInvitation

        invitation_id = db.session.scalar(sa.select(ClassInvitation.id))
    make_user(app, "mallory")
    mallory = app.test_client()
    login(mallory, "mallory")
    response = post_form(mallory, f"/classes/invitations/{invitation_id}", {"accept": "1"}, page="/classes/")
    assert response.status_code == 404 and member_ids(app, class_id) == set()


def test_a_huge_broken_roster_shows_a_short_error_page(app, instructor):
    from tests.test_classes import create_class, import_roster

    class_id, _ = create_class(instructor)
    content = "".join(f"{n},,bad name {n}\n" for n in range(1500)).encode()
    response = import_roster(instructor, class_id, content)
    html = response.get_data(as_text=True)
    assert "未列出" in html and len(html) < 60_000


# ---------------------------------------------------------------- hostile imports

ALIAS_BOMB = """- &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
- &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
- &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
- &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
- id: s900-bomb-1
  type: short_answer
  stem: 炸弹
  answer: 答案
  key_source: instructor
  key_points: [*d, *d, *d, *d, *d, *d, *d, *d, *d]
  topics: [客户满意与忠诚]
  sources: [{seed: x, section: y, number: 1}]
"""


def _item(**changes):
    data = {"id": "s900-hostile-1", "type": "short_answer", "stem": "什么是客户关系管理?", "answer": "以客户为中心。",
            "key_source": "instructor", "topics": ["客户满意与忠诚"],
            "sources": [{"seed": "x.txt", "section": "导入", "number": 1}]}
    data.update(changes)
    return data


HOSTILE_FILES = {
    "alias-bomb.yaml": ALIAS_BOMB,
    "key-points-number.json": {"items": [_item(key_points=5)]},
    "key-points-nested.json": {"items": [_item(key_points=[["a"] * 3])]},
    "stem-number.json": {"items": [_item(stem=123)]},
    "answer-dict.json": {"items": [_item(answer={"x": 1})]},
    "options-huge.json": {"items": [_item(type="single_choice", answer=["A"],
                                          options=[{"key": "A", "text": "x" * 30_000}, {"key": "B", "text": "y"}])]},
    "deep.json": '{"items": ' + "[" * 100_000 + "]" * 100_000 + "}",
    "nul.json": '{"items": [{"id": "s900-a\\u0000b"}]}'.replace("\\u0000", "\x00"),
    "fraction.xml": ('<?xml version="1.0"?><quiz><question type="multichoice"><name><text>q</text></name>'
                     '<questiontext><text>题干</text></questiontext><answer fraction="abc"><text>A</text></answer>'
                     '<answer fraction="0"><text>B</text></answer></question></quiz>'),
    "fraction-inf.xml": ('<?xml version="1.0"?><quiz><question type="multichoice"><name><text>q</text></name>'
                         '<questiontext><text>题干</text></questiontext><answer fraction="1e999"><text>A</text>'
                         '</answer></question></quiz>'),
    "billion-laughs.xml": ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
                           '<quiz>&lol2;</quiz>'),
    "python-tag.yaml": "- !!python/object/apply:os.system ['echo hi']\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_hostile_imports_are_refused_and_change_nothing(app, instructor, name):
    import json

    from tests.test_import import counts, upload

    content = HOSTILE_FILES[name]
    text = json.dumps(content, ensure_ascii=False) if isinstance(content, dict) else content
    before = counts(app)
    url, html = upload(instructor, text, name)
    assert url is None or "确认导入" not in html, html[:2000]
    if url:
        response = instructor.post(url + "/confirm", data={"csrf_token": csrf_token(instructor, url)})
        assert response.status_code in (200, 302, 400)
    assert counts(app) == before


def test_bank_validator_checks_types_and_sizes():
    from question_bank.load import _item_problems

    topics = {"客户满意与忠诚"}
    assert _item_problems(_item(), topics, None) == []
    assert any("key_points" in p for p in _item_problems(_item(key_points=5), topics, None))
    assert any("stem" in p for p in _item_problems(_item(stem=123), topics, None))
    assert any("explanation" in p for p in _item_problems(_item(explanation="x" * 30_000), topics, None))


def test_yaml_aliases_are_refused():
    import yaml

    from question_bank.safeyaml import load_untrusted

    with pytest.raises(yaml.YAMLError):
        load_untrusted(ALIAS_BOMB)
    assert load_untrusted("a: [1, 2]") == {"a": [1, 2]}


# ---------------------------------------------------------------- requests that used to give 500

NUL_URLS = ["/search?q=a%00b", "/bank/?q=%00", "/bank/?topic=%00", "/topics/a%00b", "/bank/items/s000%00x",
            "/auth/login?next=%00", "/auth/register?next=/%00", "/practice/start?mode=random&topic=%00",
            "/practice/start?mode=sequential&seed=%00"]


@pytest.mark.parametrize("url", NUL_URLS)
def test_nul_bytes_in_parameters_get_a_400(client, url):
    response = client.get(url)
    assert response.status_code == 400 and "空字符" in response.get_data(as_text=True)


def test_nul_bytes_in_forms_get_a_400(app, client):
    response = post_form(client, "/auth/login", {"username": "a\x00b", "password": "x"})
    assert response.status_code == 400
    response = post_form(client, "/auth/register", {"username": "bob", "display_name": "\x00",
                                                    "password": "Kh7#mq2v9x", "confirm": "Kh7#mq2v9x"})
    assert response.status_code == 400
    with app.app_context():
        assert User.by_username("bob") is None


@pytest.mark.parametrize("body", ["[1,2]", '"x"', "5", '{"position":1e309}', '{"position": "1"' + "}",
                                  '{"position": [1]}', '{"position": null}', '{"position": -1}', "{}",
                                  "[" * 5000 + "]" * 5000, '{"position": NaN}', "not json", ""])
def test_malformed_autosave_bodies_get_a_400(app, client, body):

    make_user(app, "alice")
    login(client, "alice")
    response = post_form(client, "/exam/new", {"title": "t", "minutes": "30", "count_true_false": "2",
                                               "points_true_false": "1"})
    attempt_url = response.headers["Location"]
    token = csrf_token(client, attempt_url)
    response = client.post(attempt_url + "/save", data=body, content_type="application/json",
                           headers={"X-CSRFToken": token})
    expected = 200 if body == '{"position": "1"}' else 400
    assert response.status_code == expected, (body[:40], response.status_code)
    if expected == 400:
        assert response.is_json and response.json["ok"] is False


# ---------------------------------------------------------------- the demo sandbox


def test_only_admins_manage_the_class_less_demo_sandbox(app):
    from app.sandbox import services as sandbox_services

    with app.app_context():
        sandbox = sandbox_services.create_sandbox(class_id=None, customers=100, months=6, seed=1, created_by_id=None)
        sandbox_id = sandbox.id
    make_user(app, "teacher", "instructor")
    make_user(app, "root", "admin")
    teacher, admin = app.test_client(), app.test_client()
    login(teacher, "teacher")
    login(admin, "root")
    for action in ("reset", "delete"):
        response = post_form(teacher, f"/sandbox/{sandbox_id}/{action}", page="/sandbox/")
        assert response.status_code == 403, action
    assert post_form(admin, f"/sandbox/{sandbox_id}/delete", page="/sandbox/").status_code == 302


def test_old_visitor_sets_are_cleaned_up(app, runner):
    visitor = app.test_client()
    assert visitor.get("/practice/start?mode=random&count=5").status_code == 302
    make_user(app, "alice")
    alice = app.test_client()
    login(alice, "alice")
    alice.get("/practice/start?mode=random&count=5")
    from app.models.practice import PracticeSet

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PracticeSet)) == 2
    result = runner.invoke(args=["cleanup-guests"])
    assert "已删除 0 个访客练习集" in result.output
    from app.clock import now

    with app.app_context():
        db.session.execute(sa.update(PracticeSet).values(updated_at=now() - timedelta(days=8)))
        db.session.commit()
    result = runner.invoke(args=["cleanup-guests"])
    assert result.exit_code == 0 and "已删除 1 个访客练习集" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(PracticeSet.user_id)) is not None  # the student's set stays


def test_old_visitor_answers_are_cleaned_up_through_an_index(app, runner):
    """A response's time is not indexed (a submit writes ten responses: each index on them is ten entries more at
    the bell); the clean-up must still find visitors' answers through an index (the user's: NULL for a visitor), not
    by reading every student's responses, and must leave a student's answers alone, however old."""
    from app.clock import now

    make_user(app, "alice")
    old = now() - timedelta(days=30)
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.username == "alice"))
        item_id = db.session.scalar(sa.select(Item.id).limit(1))
        for who, key, when in ((None, "g-old", old), (None, "g-new", now()), (user_id, None, old)):
            db.session.add(ResponseRecord(user_id=who, guest_key=key, item_id=item_id, mode="random", answer="A",
                                          created_at=when))
        db.session.commit()
        engine = db.engine
    statements = []

    def record(_conn, _cursor, statement, parameters, *_args):
        if statement.startswith("DELETE FROM response"):
            statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        result = runner.invoke(args=["cleanup-guests"])
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert result.exit_code == 0 and "1 条访客作答" in result.output, result.output
    with app.app_context():
        left = set(db.session.execute(sa.select(ResponseRecord.user_id, ResponseRecord.guest_key)).all())
        assert left == {(None, "g-new"), (user_id, None)}
        assert len(statements) == 1
        statement, parameters = statements[0]
        if engine.dialect.name == "sqlite":
            plan = " ".join(row[-1] for row in db.session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters))
        else:
            db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))  # a few rows: the plan it would use
            plan = " ".join(row[0] for row in db.session.connection().exec_driver_sql(
                "EXPLAIN " + statement, parameters))
        db.session.rollback()
    assert "USING INDEX" in plan if engine.dialect.name == "sqlite" else "Seq Scan" not in plan, plan


# ---------------------------------------------------------------- dependency audit


def test_dependency_audit_flags_old_build_tools(monkeypatch):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scripts" / "audit_deps.py"
    spec = importlib.util.spec_from_file_location("audit_deps", path)
    audit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(audit)
    assert audit.offline_check() == []  # the venv the scripts create is current
    monkeypatch.setattr(audit, "version", lambda name: {"setuptools": "65.5.0"}.get(name, "999"))
    problems = audit.offline_check()
    assert len(problems) == 1 and problems[0].startswith("setuptools 65.5.0 < 78.1.1")
