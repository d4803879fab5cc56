"""Assignments through the test client: permissions, taking a quiz in its window, attempts, counting rules,
deadlines, feedback after the close, the home page list, the gradebook (late/missing, overrides, CSV), kinds."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Item, Topic, User
from app.models.assignments import Assignment, AssignmentAttempt, ScoreOverride
from app.models.classes import Membership, SchoolClass
from app.models.practice import ExamAttempt
from tests.conftest import csrf_token, login, make_user, post_form

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # 17:00 in Beijing



# ---------------------------------------------------------------- helpers (test_statistics.py uses them too)

def user_client(app, username, role="student"):
    """A test client of its own, signed in as a new user."""
    make_user(app, username, role)
    c = app.test_client()
    login(c, username)
    return c


def make_class(app, teacher="teacher", students=("alice",)):
    """A class and its memberships, created directly with the models."""
    with app.app_context():
        ids = dict(db.session.execute(sa.select(User.username, User.id)).all())
        school_class = SchoolClass(name="客户关系管理 1 班", instructor_id=ids[teacher])
        db.session.add(school_class)
        db.session.flush()
        for n, name in enumerate(students, start=1):
            db.session.add(Membership(class_id=school_class.id, user_id=ids[name], student_number=f"2026{n:03d}"))
        db.session.commit()
        return school_class.id


def make_items(app, spec=(("t-tf-a", 2, ["测试专题甲"]), ("t-tf-b", 1, ["测试专题甲", "测试专题乙"]),
                          ("t-tf-c", 1, ["测试专题乙"]))):
    """True/false items of our own (key: 正确), so the tests do not depend on the bank's content."""
    with app.app_context():
        topics = {}
        for n, name in enumerate(["测试专题甲", "测试专题乙"]):
            topics[name] = Topic(slug=f"test-topic-{n}", name=name, position=900 + n)
            db.session.add(topics[name])
        for n, (uid, _points, names) in enumerate(spec):
            item = Item(uid=uid, type="true_false", stem=f"测试判断题 {uid}:客户终身价值是客户在整个关系期内带来的价值。",
                        answer=True, key_source="source", position=90000 + n, version=1,
                        topics=[topics[t] for t in names])
            db.session.add(item)
        db.session.commit()
    return [uid for uid, _p, _t in spec], {uid: points for uid, points, _t in spec}


def local(moment):
    return moment.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%dT%H:%M")


def quiz_data(item_list, closes, opens=None, **changes):
    data = {"title": "第一次测验", "description": "第 1–3 章", "opens_at": local(opens) if opens else "",
            "closes_at": local(closes), "time_limit": "", "attempts_allowed": "1", "grading_rule": "highest",
            "feedback_policy": "after_submit", "source": "items", "item_list": item_list, "shuffle": "y"}
    data.update(changes)
    return data


def create_quiz(teacher, class_id, data):
    response = post_form(teacher, f"/assignments/class/{class_id}/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def start(client, assignment_id):
    return post_form(client, f"/assignments/{assignment_id}/start", page=f"/assignments/{assignment_id}")


def paper_uids(app, attempt_id):
    with app.app_context():
        attempt = db.session.get(ExamAttempt, attempt_id)
        return [db.session.get(Item, e["item_id"]).uid for e in attempt.paper]


def take(app, client, assignment_id, right=(), submit=True):
    """Start the quiz, answer the items in ``right`` correctly and the others wrongly, and submit."""
    response = start(client, assignment_id)
    assert response.status_code == 302 and "/exam/" in response.headers["Location"], response.headers.get("Location")
    attempt_id = int(response.headers["Location"].rsplit("/", 1)[1])
    token = csrf_token(client, f"/exam/{attempt_id}")
    for position, uid in enumerate(paper_uids(app, attempt_id)):
        saved = client.post(f"/exam/{attempt_id}/save", headers={"X-CSRFToken": token},
                            json={"position": position, "answer": ["true" if uid in right else "false"]})
        assert saved.json["ok"], saved.json
    if submit:
        client.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token})
    return attempt_id


def attempt_row(app, attempt_id):
    with app.app_context():
        return db.session.get(ExamAttempt, attempt_id)


@pytest.fixture
def setup(app, clock):
    """A teacher, a class with two students, three items; the clients of each."""
    teacher = user_client(app, "teacher", "instructor")
    alice = user_client(app, "alice")
    bob = user_client(app, "bob")
    class_id = make_class(app, "teacher", ("alice", "bob"))
    uids, points = make_items(app)
    return {"teacher": teacher, "alice": alice, "bob": bob, "class_id": class_id, "uids": uids, "points": points,
            "items": "\n".join(f"{u} {points[u]}" for u in uids)}


# ---------------------------------------------------------------- permissions

def test_only_the_class_instructor_creates_and_edits(app, setup, clock):
    teacher, alice, class_id = setup["teacher"], setup["alice"], setup["class_id"]
    other_teacher = user_client(app, "other", "instructor")
    outsider = user_client(app, "mallory")
    new_url = f"/assignments/class/{class_id}/new"
    assert teacher.get(new_url).status_code == 200
    assert alice.get(new_url).status_code == 403  # a student of the class
    assert other_teacher.get(new_url).status_code == 404  # not their class
    assert outsider.get(new_url).status_code == 404
    data = quiz_data(setup["items"], closes=START + timedelta(days=2))
    assert post_form(alice, new_url, data, page="/").status_code == 403
    assignment_id = create_quiz(teacher, class_id, data)

    assert alice.get(f"/assignments/{assignment_id}").status_code == 200
    assert outsider.get(f"/assignments/{assignment_id}").status_code == 404
    assert other_teacher.get(f"/assignments/{assignment_id}").status_code == 404
    assert outsider.get(f"/assignments/class/{class_id}/").status_code == 404
    edit_url = f"/assignments/{assignment_id}/edit"
    assert alice.get(edit_url).status_code == 403
    assert other_teacher.get(edit_url).status_code == 404
    assert post_form(alice, edit_url, {**data, "title": "被改了"}, page="/").status_code == 403

    response = post_form(teacher, edit_url, {**data, "title": "第一次测验(修订)", "attempts_allowed": "3"})
    assert response.status_code == 302
    admin = user_client(app, "root", "admin")
    assert admin.get(edit_url).status_code == 200
    with app.app_context():
        assignment = db.session.get(Assignment, assignment_id)
        assert assignment.title == "第一次测验(修订)" and assignment.attempts_allowed == 3
        assert assignment.kind == "quiz" and [e["uid"] for e in assignment.settings["items"]] == setup["uids"]
        assert [e["points"] for e in assignment.settings["items"]] == [2.0, 1.0, 1.0]
        # the form takes Beijing time and stores UTC
        assert assignment.closes_at.replace(tzinfo=UTC) == START + timedelta(days=2)
    assert "第一次测验(修订)" in alice.get(f"/assignments/class/{class_id}/").get_data(as_text=True)


def test_the_class_page_shows_the_assignments_block(app, setup, clock):
    if "classes" not in app.blueprints:
        pytest.skip("the classes feature is not installed")
    class_id = setup["class_id"]
    create_quiz(setup["teacher"], class_id, quiz_data(setup["items"], closes=START + timedelta(days=1)))
    teacher_page = setup["teacher"].get(f"/classes/{class_id}").get_data(as_text=True)
    assert "作业与测验" in teacher_page and "第一次测验" in teacher_page and "成绩册" in teacher_page
    student_page = setup["alice"].get(f"/classes/{class_id}").get_data(as_text=True)
    assert "第一次测验" in student_page and "未开始" in student_page and "成绩册" not in student_page
    crumbs = setup["teacher"].get(f"/assignments/class/{class_id}/").get_data(as_text=True)
    assert f'href="/classes/{class_id}"' in crumbs


def test_item_picker_finds_items_by_id_for_instructors(app, setup, clock):
    found = setup["teacher"].get("/assignments/items", query_string={"q": "t-tf", "format": "json"}).json["items"]
    assert [i["uid"] for i in found] == setup["uids"] and found[0]["type"] == "判断题" and found[0]["points"] == 1.0
    page = setup["teacher"].get("/assignments/items", query_string={"q": "t-tf-b"}).get_data(as_text=True)
    assert "t-tf-b" in page and "t-tf-a" not in page
    assert setup["alice"].get("/assignments/items?q=t-tf").status_code == 403


def test_quiz_form_reports_problems(app, setup, clock):
    teacher, class_id = setup["teacher"], setup["class_id"]
    with app.app_context():
        essay = db.session.scalar(sa.select(Item.uid).where(Item.type == "essay", Item.retired.is_(False)))
    bad = quiz_data(f"t-tf-a\nno-such-item\nt-tf-a\n{essay or ''}", closes=START + timedelta(days=1),
                    opens=START + timedelta(days=2))
    response = post_form(teacher, f"/assignments/class/{class_id}/new", bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "找不到题目 no-such-item" in html and "重复" in html and "截止时间必须晚于开放时间" in html
    if essay:
        assert "需要自评的题型" in html
    too_many = quiz_data("", closes=START + timedelta(days=1), source="blueprint", topics=["test-topic-0"],
                         count_true_false="5", points_true_false="1")
    html = post_form(teacher, f"/assignments/class/{class_id}/new", too_many).get_data(as_text=True)
    assert "只有 2 道" in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 0


def test_blueprint_quiz_draws_from_the_topics(app, setup, clock):
    data = quiz_data("", closes=START + timedelta(days=1), source="blueprint", topics=["test-topic-1"],
                     count_true_false="2", points_true_false="3")
    assignment_id = create_quiz(setup["teacher"], setup["class_id"], data)
    attempt_id = take(app, setup["alice"], assignment_id, right={"t-tf-b", "t-tf-c"})
    assert sorted(paper_uids(app, attempt_id)) == ["t-tf-b", "t-tf-c"]
    attempt = attempt_row(app, attempt_id)
    assert attempt.max_score == 6 and attempt.score == 6 and attempt.assignment_id == assignment_id


# ---------------------------------------------------------------- taking a quiz

def test_student_takes_and_submits_within_the_window(app, setup, clock):
    alice, class_id = setup["alice"], setup["class_id"]
    assignment_id = create_quiz(setup["teacher"], class_id,
                                quiz_data(setup["items"], opens=START + timedelta(hours=1),
                                          closes=START + timedelta(days=1)))
    home = alice.get("/").get_data(as_text=True)
    assert "我的作业" in home and "第一次测验" in home and "未开始" in home and "开放）" in home
    response = start(alice, assignment_id)  # not open yet
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/assignments/{assignment_id}")
    assert "测验尚未开放" in alice.get(f"/assignments/{assignment_id}").get_data(as_text=True)

    clock.advance(hours=2)
    attempt_id = take(app, alice, assignment_id, right={"t-tf-a", "t-tf-b"}, submit=False)
    assert "进行中" in alice.get("/").get_data(as_text=True)
    again = start(alice, assignment_id)  # resumes the open attempt instead of starting another
    assert again.headers["Location"].endswith(f"/exam/{attempt_id}")
    token = csrf_token(alice, f"/exam/{attempt_id}")
    alice.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token})
    attempt = attempt_row(app, attempt_id)
    assert attempt.status == "graded" and attempt.score == 3 and attempt.max_score == 4
    assert attempt.assignment_id == assignment_id and attempt.title == "第一次测验"
    page = alice.get(f"/assignments/{assignment_id}").get_data(as_text=True)
    assert "3.0" in page and "已用完全部 1 次作答机会" in page
    assert "已提交" in alice.get("/").get_data(as_text=True)

    # another student of another class sees nothing on their home page and cannot start
    outsider = user_client(app, "mallory")
    assert "第一次测验" not in outsider.get("/").get_data(as_text=True)
    assert start(outsider, assignment_id).status_code == 404


def test_attempts_allowed_is_enforced(app, setup, clock):
    alice = setup["alice"]
    assignment_id = create_quiz(setup["teacher"], setup["class_id"],
                                quiz_data(setup["items"], closes=START + timedelta(days=1), attempts_allowed="2"))
    take(app, alice, assignment_id, right={"t-tf-a"})
    take(app, alice, assignment_id, right={"t-tf-b"})
    response = start(alice, assignment_id)
    assert response.headers["Location"].endswith(f"/assignments/{assignment_id}")
    assert "你已用完全部 2 次作答机会" in alice.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        numbers = db.session.scalars(sa.select(AssignmentAttempt.number).order_by(AssignmentAttempt.number)).all()
        assert numbers == [1, 2]
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ExamAttempt)) == 2


@pytest.mark.parametrize(("rule", "expected"), [("highest", 4), ("last", 1), ("first", 2)])
def test_the_counting_attempt_follows_the_rule(app, setup, clock, rule, expected):
    alice = setup["alice"]
    assignment_id = create_quiz(setup["teacher"], setup["class_id"],
                                quiz_data(setup["items"], closes=START + timedelta(days=1), attempts_allowed="0",
                                          grading_rule=rule))
    for right in ({"t-tf-a"}, {"t-tf-a", "t-tf-b", "t-tf-c"}, {"t-tf-b"}):  # 2, then 4, then 1 point
        take(app, alice, assignment_id, right=right)
        clock.advance(minutes=5)
    with app.app_context():
        assignment = db.session.get(Assignment, assignment_id)
        alice_id = db.session.scalar(sa.select(User.id).where(User.username == "alice"))
        earned, full, _when = app.extensions["crm_assignment_kinds"]["quiz"].score(assignment, alice_id)
    assert (earned, full) == (expected, 4)
    html = setup["teacher"].get(f"/assignments/class/{setup['class_id']}/gradebook").get_data(as_text=True)
    assert re.search(rf'/grades/\d+">{expected}\.0</a>', html)


def test_close_time_caps_the_deadline(app, setup, clock):
    alice = setup["alice"]
    closes = START + timedelta(minutes=10)
    assignment_id = create_quiz(setup["teacher"], setup["class_id"],
                                quiz_data(setup["items"], closes=closes, time_limit="30"))
    attempt_id = take(app, alice, assignment_id, submit=False)
    assert attempt_row(app, attempt_id).deadline.replace(tzinfo=UTC) == closes  # not start + 30 minutes
    assert 'data-remaining="600"' in alice.get(f"/exam/{attempt_id}").get_data(as_text=True)

    short = create_quiz(setup["teacher"], setup["class_id"],
                        quiz_data(setup["items"], closes=START + timedelta(days=1), time_limit="5"))
    attempt_id = take(app, alice, short, submit=False)
    assert attempt_row(app, attempt_id).deadline.replace(tzinfo=UTC) == START + timedelta(minutes=5)

    clock.advance(minutes=15)  # past the close: no new attempts
    response = start(setup["bob"], assignment_id)
    assert "测验已截止" in setup["bob"].get(response.headers["Location"]).get_data(as_text=True)
    home = setup["bob"].get("/").get_data(as_text=True)
    assert "已逾期" in home  # closed, nothing submitted: listed for a week as overdue


def test_question_order_is_shuffled_only_when_asked(app, setup, clock):
    alice = setup["alice"]
    fixed = create_quiz(setup["teacher"], setup["class_id"],
                        quiz_data(setup["items"], closes=START + timedelta(days=1), attempts_allowed="0", shuffle=""))
    mixed = create_quiz(setup["teacher"], setup["class_id"],
                        quiz_data(setup["items"], closes=START + timedelta(days=1), attempts_allowed="0"))
    fixed_orders, mixed_orders = set(), set()
    for _ in range(6):
        fixed_orders.add(tuple(paper_uids(app, take(app, alice, fixed))))
        mixed_orders.add(tuple(paper_uids(app, take(app, alice, mixed))))
    assert fixed_orders == {tuple(setup["uids"])}
    assert len(mixed_orders) > 1 and all(sorted(order) == setup["uids"] for order in mixed_orders)


def test_no_new_attempts_in_an_archived_class(app, setup, clock):
    assignment_id = create_quiz(setup["teacher"], setup["class_id"],
                                quiz_data(setup["items"], closes=START + timedelta(days=1)))
    with app.app_context():
        db.session.get(SchoolClass, setup["class_id"]).archived = True
        db.session.commit()
    response = start(setup["alice"], assignment_id)
    assert "班级已归档" in setup["alice"].get(response.headers["Location"]).get_data(as_text=True)


def test_keys_and_feedback_are_hidden_until_the_close(app, setup, clock):
    alice = setup["alice"]
    closes = START + timedelta(hours=2)
    assignment_id = create_quiz(setup["teacher"], setup["class_id"],
                                quiz_data(setup["items"], closes=closes, feedback_policy="after_close"))
    attempt_id = take(app, alice, assignment_id, right={"t-tf-a"})
    result = alice.get(f"/exam/{attempt_id}/result").get_data(as_text=True)
    assert "逐题回顾" not in result and "参考答案" not in result and "之后公布" in result
    assert attempt_row(app, attempt_id).review_after.replace(tzinfo=UTC) == closes
    clock.advance(hours=2, seconds=1)
    result = alice.get(f"/exam/{attempt_id}/result").get_data(as_text=True)
    assert "逐题回顾" in result and "参考答案" in result

    never = create_quiz(setup["teacher"], setup["class_id"],
                        quiz_data(setup["items"], closes=START + timedelta(days=3), feedback_policy="never"))
    attempt_id = take(app, alice, never)
    clock.advance(days=4)
    assert "逐题回顾" not in alice.get(f"/exam/{attempt_id}/result").get_data(as_text=True)


def test_moving_the_close_time_updates_open_attempts(app, setup, clock):
    teacher, alice = setup["teacher"], setup["alice"]
    data = quiz_data(setup["items"], closes=START + timedelta(days=1), feedback_policy="after_close")
    assignment_id = create_quiz(teacher, setup["class_id"], data)
    attempt_id = take(app, alice, assignment_id, submit=False)
    earlier = START + timedelta(hours=1)
    assert post_form(teacher, f"/assignments/{assignment_id}/edit", {**data, "closes_at": local(earlier)}).status_code == 302
    attempt = attempt_row(app, attempt_id)
    assert attempt.deadline.replace(tzinfo=UTC) == earlier and attempt.review_after.replace(tzinfo=UTC) == earlier


# ---------------------------------------------------------------- gradebook

def test_gradebook_marks_late_and_missing(app, setup, clock):
    teacher, alice, bob, class_id = setup["teacher"], setup["alice"], setup["bob"], setup["class_id"]
    make_user(app, "carol")
    dave = user_client(app, "dave")
    with app.app_context():
        for n, name in ((3, "carol"), (4, "dave")):
            user_id = db.session.scalar(sa.select(User.id).where(User.username == name))
            db.session.add(Membership(class_id=class_id, user_id=user_id, student_number=f"202600{n}"))
        db.session.commit()
    closes = START + timedelta(hours=1)
    assignment_id = create_quiz(teacher, class_id, quiz_data(setup["items"], closes=closes))
    take(app, alice, assignment_id, right=set(setup["uids"]))  # on time
    clock.advance(minutes=55)
    late_id = take(app, bob, assignment_id, right={"t-tf-a"}, submit=False)  # started before the close ...
    abandoned_id = take(app, dave, assignment_id, right={"t-tf-c"}, submit=False)  # ... and never handed in
    clock.advance(minutes=5, seconds=10)  # bob presses 交卷 inside the grace period after the close
    bob.post(f"/exam/{late_id}/submit", data={"csrf_token": csrf_token(bob, f"/exam/{late_id}")})
    assert attempt_row(app, late_id).submitted_at.replace(tzinfo=UTC) > closes
    clock.advance(minutes=5)

    html = teacher.get(f"/assignments/class/{class_id}/gradebook").get_data(as_text=True)
    rows = {name: row for name, row in re.findall(r'<th class="pin">(\w+)(.*?)</tr>', html, re.S)}
    assert "4.0" in rows["Alice"] and "迟交" not in rows["Alice"] and "缺交" not in rows["Alice"]
    assert "2.0" in rows["Bob"] and "迟交" in rows["Bob"] and 'class="cell late"' in rows["Bob"]
    assert "缺交" in rows["Carol"] and "missing" in rows["Carol"]
    # dave's time ran out at the close: graded as it stood then, counted, neither late nor missing
    assert attempt_row(app, abandoned_id).status == "graded"
    assert "1.0" in rows["Dave"] and "迟交" not in rows["Dave"] and "缺交" not in rows["Dave"]
    assert alice.get(f"/assignments/class/{class_id}/gradebook").status_code == 403
    assert user_client(app, "other", "instructor").get(f"/assignments/class/{class_id}/gradebook").status_code == 404


def test_override_with_reason_is_kept_with_who_and_when(app, setup, clock):
    teacher, alice, class_id = setup["teacher"], setup["alice"], setup["class_id"]
    assignment_id = create_quiz(teacher, class_id, quiz_data(setup["items"], closes=START + timedelta(hours=1)))
    take(app, alice, assignment_id, right={"t-tf-b"})  # 1 point of 4
    with app.app_context():
        alice_id = db.session.scalar(sa.select(User.id).where(User.username == "alice"))
    url = f"/assignments/{assignment_id}/grades/{alice_id}"
    assert teacher.get(url).status_code == 200
    assert alice.get(url).status_code == 403
    response = post_form(teacher, url, {"score": "3.5", "reason": ""})
    assert response.status_code == 400 and "请写明改分理由" in response.get_data(as_text=True)
    assert "满分" in post_form(teacher, url, {"score": "9", "reason": "太多"}).get_data(as_text=True)
    clock.advance(minutes=30)
    assert post_form(teacher, url, {"score": "3.5", "reason": "第 2 题题干有歧义,按正确处理"}).status_code == 302

    html = teacher.get(f"/assignments/class/{class_id}/gradebook").get_data(as_text=True)
    assert ">3.5</a>" in html and "改分" in html
    assert re.search(r'title="原分 1.0 → 3.5；Teacher 于 2026-11-02 17:30 修改；理由：第 2 题题干有歧义,按正确处理"', html)
    assert "改分记录" in html and "1.0 → <b>3.5</b>" in html
    assert "教师已改分" in alice.get(f"/assignments/{assignment_id}").get_data(as_text=True)

    clock.advance(minutes=5)
    assert post_form(teacher, url, {"clear": "y", "reason": "已与学生确认,恢复原分"}).status_code == 302
    html = teacher.get(f"/assignments/class/{class_id}/gradebook").get_data(as_text=True)
    assert re.search(r'/grades/\d+">1\.0</a>', html) and "撤销改分" in html
    with app.app_context():
        history = db.session.scalars(sa.select(ScoreOverride).order_by(ScoreOverride.id)).all()
        assert [(h.score, h.previous) for h in history] == [(3.5, 1.0), (None, 3.5)]
        assert all(h.created_by.username == "teacher" for h in history)


def test_gradebook_csv_opens_in_excel(app, setup, clock):
    teacher, alice, class_id = setup["teacher"], setup["alice"], setup["class_id"]
    assignment_id = create_quiz(teacher, class_id, quiz_data(setup["items"], closes=START + timedelta(hours=1)))
    take(app, alice, assignment_id, right={"t-tf-a", "t-tf-c"})
    clock.advance(hours=2)
    response = teacher.get(f"/assignments/class/{class_id}/gradebook.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")  # the BOM tells Excel the file is UTF-8
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=gradebook-class") and disposition.isascii()
    assert "filename*=UTF-8''%E5%AE%A2" in disposition  # 客户关系管理 1 班-成绩册.csv, percent-encoded
    text = response.data.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["学号", "姓名", "用户名", "第一次测验（满分 4.0）"] and rows[0][-3:] == ["合计得分", "合计满分", "得分率"]
    assert rows[1][:5] == ["2026001", "Alice", "alice", "3.0", ""]
    assert rows[2][:5] == ["2026002", "Bob", "bob", "", "缺交"] and rows[2][-3:] == ["0.0", "4.0", "0.0%"]
    assert alice.get(f"/assignments/class/{class_id}/gradebook.csv").status_code == 403


# ---------------------------------------------------------------- the registry of kinds

class FakeExercise:
    """A stand-in for another feature's kind: the gradebook only asks the registry."""

    label = "沙盒实训"

    def student_url(self, assignment):
        return f"/sandbox/exercise/{assignment.id}"

    def score(self, assignment, user_id):
        return (7.0, 10.0, START + timedelta(hours=3)) if user_id == self.alice_id else None


def test_another_kind_plugs_into_the_gradebook(app, setup, clock):
    teacher, alice, class_id = setup["teacher"], setup["alice"], setup["class_id"]
    kind = FakeExercise()
    with app.app_context():
        kind.alice_id = db.session.scalar(sa.select(User.id).where(User.username == "alice"))
        db.session.add(Assignment(class_id=class_id, kind="exercise", title="RFM 细分实训",
                                  closes_at=START + timedelta(hours=2), settings={"sandbox": 1}))
        db.session.commit()
    app.extensions["crm_assignment_kinds"]["exercise"] = kind
    html = teacher.get(f"/assignments/class/{class_id}/gradebook").get_data(as_text=True)
    assert "RFM 细分实训" in html and ">7.0</a>" in html
    clock.advance(hours=4)
    html = teacher.get(f"/assignments/class/{class_id}/gradebook").get_data(as_text=True)
    rows = {name: row for name, row in re.findall(r'<th class="pin">(\w+)(.*?)</tr>', html, re.S)}
    assert "迟交" in rows["Alice"] and "缺交" in rows["Bob"]
    home = alice.get(f"/assignments/class/{class_id}/").get_data(as_text=True)
    assert "/sandbox/exercise/" in home and "沙盒实训" in home and "已提交" in home
