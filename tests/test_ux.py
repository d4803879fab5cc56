"""A student's day on the site (issue 10): local times, clean records, practice like a 刷题 app, what pages say.

Times are checked against Python's own zoneinfo conversion of a known UTC moment; scores against Decimal's
ROUND_HALF_UP; punctuation and identifiers by scanning the rendered text (tests/uxscan.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Item
from app.models.practice import ExamAttempt, ResponseRecord, WrongEntry
from app.scores import format_score, round_score
from tests.conftest import csrf_token, login, make_user, post_form
from tests.test_assignments import create_quiz, make_class, make_items, quiz_data, take, user_client
from tests.test_practice import SMALL, answer_wrongly, current_item_id, paper, start, start_exam

TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "templates"
BEIJING = ZoneInfo("Asia/Shanghai")


def beijing(moment: datetime, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return moment.astimezone(BEIJING).strftime(fmt)


# ---------------------------------------------------------------- times

def test_templates_show_times_only_through_the_local_time_filter():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if ".strftime(" in text or "|when" in text or "|sb_time" in text:
            offenders.append(path.name)
        # a stored moment printed as it is: {{ x.created_at }}, {{ a.deadline }} ...
        offenders += [f"{path.name}: {m}" for m in re.findall(r"\{\{\s*[\w.]+(?:_at|deadline|review_after)\s*\}\}", text)]
    assert offenders == []


def test_every_time_a_student_and_an_instructor_see_is_local(app, clock):
    clock.now = datetime(2026, 11, 2, 14, 6, tzinfo=UTC)  # 22:06 in Beijing, still 2 November
    teacher, alice = user_client(app, "teacher", "instructor"), user_client(app, "alice")
    class_id = make_class(app, "teacher", ("alice",))
    uids, points = make_items(app)
    items = "\n".join(f"{u} {points[u]}" for u in uids)
    closes = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # 20:00 in Beijing
    quiz = create_quiz(teacher, class_id, quiz_data(items, closes=closes, feedback_policy="after_close"))

    exam_id = start_exam(alice)
    listing = alice.get("/exam/").get_data(as_text=True)
    assert beijing(clock.now) in listing and "2026-11-02 14:06" not in listing

    attempt_id = take(app, alice, quiz, right={uids[0]})
    result = alice.get(f"/exam/{attempt_id}/result").get_data(as_text=True)
    assert f"答案和逐题反馈将在 {beijing(closes)} 之后公布" in result and "2026-12-01 12:00" not in result
    detail = alice.get(f"/assignments/{quiz}").get_data(as_text=True)
    assert beijing(closes) in detail and beijing(clock.now, "%m-%d %H:%M") in detail
    home = alice.get("/").get_data(as_text=True)
    assert beijing(closes, "%m-%d %H:%M") in home

    with app.app_context():
        alice_id = db.session.scalar(sa.select(ExamAttempt.user_id).where(ExamAttempt.id == attempt_id))
    grade_url = f"/assignments/{quiz}/grades/{alice_id}"
    clock.advance(minutes=1)
    assert post_form(teacher, grade_url, {"score": "2", "reason": "复核"}).status_code == 302
    grade = teacher.get(grade_url).get_data(as_text=True)
    assert beijing(clock.now) in grade and beijing(clock.now - timedelta(minutes=1)) in grade
    book = teacher.get(f"/assignments/class/{class_id}/gradebook").get_data(as_text=True)
    assert beijing(closes, "%m-%d %H:%M") in book and beijing(clock.now) in book
    listing = teacher.get(f"/assignments/class/{class_id}/").get_data(as_text=True)
    assert beijing(closes, "%m-%d %H:%M") in listing
    from app.models.classes import Membership

    with app.app_context():
        joined = db.session.scalar(sa.select(Membership.joined_at)).replace(tzinfo=UTC)
    roster = teacher.get(f"/classes/{class_id}/roster").get_data(as_text=True)
    assert beijing(joined, "%Y-%m-%d") in roster
    del exam_id


def test_the_zone_is_a_setting(app, clock):
    from app.timefmt import format_local, from_local

    moment = datetime(2026, 11, 2, 16, 30, tzinfo=UTC)
    with app.app_context():
        assert format_local(moment) == "2026-11-03 00:30"  # Asia/Shanghai by default
        app.config["TIMEZONE"] = "Europe/Berlin"
        assert format_local(moment) == moment.astimezone(ZoneInfo("Europe/Berlin")).strftime("%Y-%m-%d %H:%M")
        assert from_local(datetime(2026, 11, 2, 17, 30)) == moment
        assert format_local(None, empty="不限") == "不限"


# ---------------------------------------------------------------- exams: who closed them, time used, records

def test_an_untouched_exam_left_to_time_out_is_abandoned_and_leaves_no_wrong_answers(app, student, clock):
    attempt_id = start_exam(student, {**SMALL, "minutes": 5})
    clock.advance(minutes=30)
    student.get("/")  # the next visit closes it
    html = student.get(f"/exam/{attempt_id}/result").get_data(as_text=True)
    with app.app_context():
        attempt = db.session.get(ExamAttempt, attempt_id)
        assert attempt.closed_by == "abandoned" and attempt.score == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WrongEntry)) == 0
        records = db.session.scalars(sa.select(ResponseRecord).where(ResponseRecord.exam_id == attempt_id)).all()
        assert records and all(r.score is None and r.detail.get("unanswered") for r in records)
    assert "未交卷，超时后由系统收卷" in html and "5 分 0 秒" in html  # capped at the limit, not 5:30
    progress = student.get("/practice/progress").get_data(as_text=True)
    assert re.search(r"<dt>累计作答</dt><dd>0</dd>", progress) and "<dt>总正确率</dt><dd>—</dd>" in progress


def test_the_bell_is_recorded_as_time_up_and_a_student_submit_as_the_students(app, student, clock):
    rung = start_exam(student)
    rows = paper(app, rung)
    token = csrf_token(student, f"/exam/{rung}")
    student.post(f"/exam/{rung}/save", headers={"X-CSRFToken": token},
                 json={"position": 3, "answer": ["true" if rows[3]["answer"] else "false"]})
    early = student.post(f"/exam/{rung}/submit", data={"csrf_token": token, "reason": "timeup"})
    assert early.status_code == 302
    with app.app_context():  # a "bell" minutes before the deadline is the student's own submit
        assert db.session.get(ExamAttempt, rung).closed_by == "student"
    with app.app_context():
        wrong_before = db.session.scalar(sa.select(sa.func.count()).select_from(WrongEntry))
    bell = start_exam(student)
    rows = paper(app, bell)
    token = csrf_token(student, f"/exam/{bell}")
    student.post(f"/exam/{bell}/save", headers={"X-CSRFToken": token},
                 json={"position": 3, "answer": ["true" if rows[3]["answer"] else "false"]})
    clock.advance(minutes=10)  # the page's countdown reaches 0:00 and its script hands the paper in
    student.post(f"/exam/{bell}/submit", data={"csrf_token": token, "reason": "timeup"})
    html = student.get(f"/exam/{bell}/result").get_data(as_text=True)
    with app.app_context():
        attempt = db.session.get(ExamAttempt, bell)
        assert attempt.closed_by == "timeup"
        unanswered = db.session.scalar(sa.select(sa.func.count()).select_from(ResponseRecord).where(
            ResponseRecord.exam_id == bell, ResponseRecord.score.is_(None)))
        assert unanswered == len(rows) - 1  # only the answered one counts towards accuracy
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WrongEntry)) == wrong_before
    assert "时间到，自动交卷" in html and "10 分 0 秒" in html


def test_a_student_submitting_keeps_blanks_as_wrong(app, student):
    attempt_id = start_exam(student)
    token = csrf_token(student, f"/exam/{attempt_id}/confirm")
    student.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(ExamAttempt, attempt_id).closed_by == "student"
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WrongEntry)) == len(paper(app, attempt_id))


def test_reopening_an_exam_returns_to_where_the_student_stopped(app, student):
    attempt_id = start_exam(student)
    assert "第 1 / " in student.get(f"/exam/{attempt_id}").get_data(as_text=True)
    student.get(f"/exam/{attempt_id}?q=3")
    student.get("/exam/")
    html = student.get(f"/exam/{attempt_id}").get_data(as_text=True)
    assert "第 4 / " in html and 'data-position="3"' in html


def test_class_quizzes_stay_out_of_the_mock_exam_history(app, clock):
    teacher, alice = user_client(app, "teacher", "instructor"), user_client(app, "alice")
    class_id = make_class(app, "teacher", ("alice",))
    uids, points = make_items(app)
    quiz = create_quiz(teacher, class_id, quiz_data("\n".join(uids), closes=clock.now + timedelta(days=1)))
    take(app, alice, quiz)
    mock = start_exam(alice)
    listing = alice.get("/exam/").get_data(as_text=True)
    assert f"/exam/{mock}" in listing and "第一次测验" not in listing
    assert "第一次测验" in alice.get(f"/assignments/{quiz}").get_data(as_text=True)


# ---------------------------------------------------------------- one rounding rule

@pytest.mark.parametrize("value", [6.55, 6.25, 0.05, 2.675, 14.95, 1 / 3, 10.0, 0.0])
def test_scores_round_half_up_to_one_decimal(value):
    expected = Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    assert round_score(value) == float(expected)
    assert format_score(value) == f"{expected:.1f}"


def test_the_override_form_accepts_any_one_decimal_score_and_the_log_agrees(app, clock):
    teacher, alice = user_client(app, "teacher", "instructor"), user_client(app, "alice")
    class_id = make_class(app, "teacher", ("alice",))
    uids, _points = make_items(app, spec=(("t-tf-a", 15, ["测试专题甲"]),))
    quiz = create_quiz(teacher, class_id, quiz_data("t-tf-a 15", closes=clock.now + timedelta(days=1)))
    take(app, alice, quiz)
    with app.app_context():
        alice_id = db.session.scalar(sa.select(ExamAttempt.user_id))
    url = f"/assignments/{quiz}/grades/{alice_id}"
    form = teacher.get(url).get_data(as_text=True)
    assert re.search(r'name="score"[^>]*step="0.1"', form)
    assert post_form(teacher, url, {"score": "6.55", "reason": "复核"}).status_code == 302
    book = teacher.get(f"/assignments/class/{class_id}/gradebook").get_data(as_text=True)
    assert ">6.6</a>" in book and "0.0 → <b>6.6</b>" in book and "6.55" not in book


# ---------------------------------------------------------------- practice like a 刷题 app

def test_practice_sets_move_back_skip_and_jump(app, student):
    set_url = start(student, mode="sequential", types="true_false")
    first, html = current_item_id(student, set_url)
    assert "跳过" in html and "上一题" not in html and 'aria-label="第 1 题，未作答"' in html
    post_form(student, set_url + "/goto", {"position": "1"}, page=set_url)  # 跳过
    second, html = current_item_id(student, set_url)
    assert second != first and "上一题" in html
    post_form(student, set_url + "/goto", {"position": "5"}, page=set_url)  # the grid
    assert "第 6 / " in student.get(set_url).get_data(as_text=True)
    post_form(student, set_url + "/goto", {"position": "0"}, page=set_url)  # back to the first
    assert current_item_id(student, set_url)[0] == first
    assert post_form(student, set_url + "/goto", {"position": "99999"}, page=set_url).status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResponseRecord)) == 0


def test_a_blank_practice_answer_is_skipped_not_wrong(app, student):
    set_url = start(student, mode="sequential", types="true_false")
    item_id, _ = current_item_id(student, set_url)
    response = post_form(student, set_url + "/answer", {"item_id": item_id}, page=set_url, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "已跳过" in html and "回答错误" not in html and "第 2 / " in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResponseRecord)) == 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(WrongEntry)) == 0


def test_star_toggle_on_the_question_screen_shows_its_state(app, student):
    set_url = start(student, mode="sequential", types="single_choice")
    item_id, html = current_item_id(student, set_url)
    assert "☆ 收藏" in html and "★ 已收藏" not in html
    with app.app_context():
        uid = db.session.get(Item, item_id).uid
    post_form(student, f"/practice/items/{uid}/star", {"next": urlpath(set_url)}, page=set_url)
    html = student.get(set_url).get_data(as_text=True)
    assert "★ 已收藏" in html and 'aria-pressed="true"' in html
    post_form(student, f"/practice/items/{uid}/star", {"next": urlpath(set_url)}, page=set_url)
    assert "☆ 收藏" in student.get(set_url).get_data(as_text=True)


def urlpath(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url)


def test_the_grid_shows_right_and_wrong(app, student):
    set_url = start(student, mode="sequential", types="single_choice")
    answer_wrongly(app, student, set_url)
    html = student.get(set_url).get_data(as_text=True)
    assert 'class="wrong"' in html and 'aria-label="第 1 题，答错"' in html


# ---------------------------------------------------------------- what pages say

def test_students_see_document_titles_not_file_names(app, student):
    set_url = start(student, mode="sequential", types="single_choice")
    item_id, _ = current_item_id(student, set_url)
    with app.app_context():
        uid = db.session.get(Item, item_id).uid
    pages = ["/bank/browse", "/practice/", f"/bank/items/{uid}", "/seeds/"]
    for url in pages:
        html = student.get(url).get_data(as_text=True)
        visible = re.sub(r"<[^>]+>", " ", html)
        assert not re.search(r"\d{3}_[0-9a-f]{16}\.txt", visible), url
    seeds = student.get("/seeds/").get_data(as_text=True)
    for title in ("客户关系管理重点", "CRM复习重点", "CRM 系统模块与客户关系管理习题汇编", "网络客户关系管理期末试卷",
                  "CRM与电子商务"):
        assert f"《{title}》" in seeds
    assert seeds.count("阅读材料") >= 2 and "/notes/s001-rfm" in seeds and "/notes/s004-" in seeds


def test_the_manifest_makes_the_site_installable(client):
    html = client.get("/").get_data(as_text=True)
    assert 'rel="manifest"' in html and 'name="theme-color"' in html
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200 and response.mimetype == "application/manifest+json"
    body = response.json
    assert body["display"] == "standalone" and body["lang"] == "zh-CN"
    for icon in body["icons"]:
        png = client.get(icon["src"])
        data = png.data
        png.close()
        assert png.status_code == 200 and data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert f"{width}x{height}" == icon["sizes"]


def test_multi_choices_are_checkboxes(app, instructor):
    for url in ("/exam/new", "/manage/items/new"):
        html = instructor.get(url).get_data(as_text=True)
        assert "<select multiple" not in html and "Ctrl" not in html, url
        assert re.search(r'<input[^>]*type="checkbox"[^>]*name="topics"|name="topics"[^>]*type="checkbox"', html), url


def _first_customer(sandbox_id: int) -> int:
    """The first customer of a sandbox's company (read through the store's public interface)."""
    from app.models.sandbox import Sandbox
    from app.sandbox import store

    return store.scalar(db.session.get(Sandbox, sandbox_id), "SELECT min(id) FROM customers")


def test_rendered_pages_have_chinese_punctuation_and_no_identifiers(app):
    from app.models.classes import SchoolClass
    from app.models.sandbox import SbCaseRun
    from app.sandbox import work
    from app.sandbox.cases import CASES
    from tests.test_sandbox import make_world
    from tests.uxscan import crawl

    world = make_world(app)
    with app.app_context():
        school_class = db.session.get(SchoolClass, world.class_id)
        from app.sandbox import services as sandbox_services

        for case in CASES.values():
            run, _created = work.start_case(case, school_class, world.teacher, 200, None)
            db.session.commit()
            if run.sandbox.status == "building":  # built by a background job from the page
                sandbox_services.build(run.sandbox.id)
        runs = list(db.session.scalars(sa.select(SbCaseRun.id)))
        customer = _first_customer(world.sandbox_id)
    sandbox_pages = [f"/sandbox/{world.sandbox_id}/", f"/sandbox/{world.sandbox_id}/customers",
                     f"/sandbox/{world.sandbox_id}/customers/{customer}", f"/sandbox/{world.sandbox_id}/exercises",
                     f"/sandbox/{world.sandbox_id}/downloads",
                     *[f"/sandbox/case/{run}" for run in runs]]
    student = app.test_client()
    login(student, "alice")
    start(student, mode="sequential", types="true_false")
    report = crawl(student, ["/", "/practice/", "/exam/", "/exam/new", "/seeds/", "/practice/progress", "/sandbox/",
                             "/bank/topics", *sandbox_pages], limit=100)
    teacher = app.test_client()
    login(teacher, "teacher")
    report.update({f"教师 {k}": v for k, v in crawl(teacher, ["/", "/manage/", "/sandbox/", "/sandbox/cases",
                                                              "/classes/", *sandbox_pages], limit=100).items()})
    assert report == {}, "\n".join(f"{page}: {p}" for page, found in report.items() for p in sorted(set(found))[:5])


def test_rubric_points_given_as_dicts_are_shown_as_their_text(app, student):
    """The grading work turns key points into {point, expressions, weight}: the pages show the point itself."""
    with app.app_context():
        from app.models import User

        essay = db.session.scalar(sa.select(Item).where(Item.type.in_(["essay", "case_study"])).limit(1))
        alice = db.session.scalar(sa.select(User.id).where(User.username == "alice"))
        record = ResponseRecord(user_id=alice, item_id=essay.id, item_version=essay.version, mode="single",
                                answer="我的答案", detail={"rubric": [
                                    {"point": "从企业方面展开", "expressions": ["企业"], "weight": 1},
                                    {"point": "从客户方面展开", "expressions": ["客户"], "weight": 1}]})
        db.session.add(record)
        db.session.commit()
        record_id = record.id
    html = student.get(f"/practice/responses/{record_id}").get_data(as_text=True)
    assert "从企业方面展开" in html and "从客户方面展开" in html and "expressions" not in html
    assert 'name="points" value="2"' in html


def test_the_other_pages_that_show_a_time_show_it_local(app):
    """Every template using local_time is rendered here or above with a known UTC moment (17:30 UTC is 01:30 the
    next day in Beijing, so even a date-only format shows the local day)."""
    from app.models import ItemVersion, User
    from app.models.classes import Membership
    from app.models.sandbox import SbCaseRun, SbExerciseAttempt, SbStudentAction
    from app.sandbox import work
    from app.sandbox.cases import CASES
    from tests.test_sandbox import make_world

    known = datetime(2026, 11, 2, 17, 30, tzinfo=UTC)
    local, utc = beijing(known), known.strftime("%Y-%m-%d %H:%M")
    world = make_world(app)
    make_user(app, "root", "admin")
    alice, teacher, admin = app.test_client(), app.test_client(), app.test_client()
    login(alice, "alice")
    login(teacher, "teacher")
    login(admin, "root")
    with app.app_context():
        customer = _first_customer(world.sandbox_id)
    page = f"/sandbox/{world.sandbox_id}/customers/{customer}"
    post_form(alice, page + "/interactions", {"kind": "电话", "direction": "呼出", "note": "回访"}, page=page)
    exercise = f"/sandbox/{world.sandbox_id}/exercises/pareto_share"
    post_form(alice, exercise, {"percent": "50"})
    with app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.key_source == "source").order_by(Item.position))
        uid = item.uid
        item.keyed_by_id, item.keyed_at = world.teacher, known
        for row in db.session.scalars(sa.select(ItemVersion).where(ItemVersion.item_id == item.id)):
            row.created_at = known
        db.session.execute(sa.update(User).values(created_at=known))
        db.session.execute(sa.update(Membership).values(joined_at=known))
        db.session.execute(sa.update(SbStudentAction).values(created_at=known))
        db.session.execute(sa.update(SbExerciseAttempt).values(created_at=known))
        from app.models.classes import SchoolClass

        run, _created = work.start_case(CASES["walmart"], db.session.get(SchoolClass, world.class_id), world.teacher,
                                        200, known)
        db.session.commit()
        run_id = run.id
        if run.sandbox.status == "building":  # the route hands this to a background job; here it is built directly
            from app.sandbox import services as sandbox_services

            sandbox_services.build(run.sandbox.id)
        assert db.session.get(SbCaseRun, run_id).closes_at is not None
    checks = {
        "sandbox/customer.html": (alice, page, local),
        "sandbox/exercise.html": (alice, exercise, local),
        "sandbox/case.html": (teacher, f"/sandbox/case/{run_id}", beijing(known, "%Y-%m-%dT%H:%M")),
        "authoring/versions.html": (teacher, f"/manage/items/{uid}/versions", local),
        "authoring/_item_panel.html": (teacher, f"/bank/items/{uid}", local),
        "authoring/users.html": (admin, "/manage/users", beijing(known, "%Y-%m-%d")),
        "classes/roster.html": (teacher, f"/classes/{world.class_id}/roster", beijing(known, "%Y-%m-%d")),
    }
    for name, (client, url, expected) in checks.items():
        html = client.get(url).get_data(as_text=True)
        assert expected in html and utc not in html, name
    # together with test_every_time_a_student_and_an_instructor_see_is_local, every template that shows a time
    covered = set(checks) | {"practice/exams.html", "practice/exam_result.html", "assignments/detail.html",
                             "assignments/grade.html", "assignments/gradebook.html", "assignments/class_list.html",
                             "assignments/_class_block.html"}
    using = {str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html") if "|local_time" in p.read_text()}
    assert using == covered


def test_starting_a_case_says_so_in_chinese_and_the_repaired_case_text_is_noted(app):
    from tests.test_sandbox import make_world

    world = make_world(app)
    teacher = app.test_client()
    login(teacher, "teacher")
    response = post_form(teacher, "/sandbox/cases", {"class_id": world.class_id, "case_key": "coca_cola",
                                                      "customers": 200}, follow_redirects=True)
    html = response.get_data(as_text=True)
    flash = re.search(r'class="flash[^"]*"[^>]*>([^<]*)<', html).group(1)
    assert flash == "已为本班新建沙盒“可口可乐的客户调查：投诉与口碑案例沙盒”，案例在其中开始。"
    # the new sandbox is built by a background job; its progress page leads on to the case
    case_url = re.search(r'href="(/sandbox/case/\d+)"', html).group(1)
    html = teacher.get(case_url).get_data(as_text=True)
    crumbs = re.search(r'<p class="crumbs">(.*?)</p>', html, re.S).group(1)
    assert re.sub(r"<[^>]+>", "", crumbs).strip().endswith("› 可口可乐的客户调查：投诉与口碑")
    assert "超过12%的人向20个或更多的人转述了可口可乐公司对他们抱怨的反应" in html
    assert "校订：资料原文此句缺少动词" in html
    cases = teacher.get("/sandbox/cases").get_data(as_text=True)
    for internal in ("walmart_basket", "cosmetics_members", "coca_cola_complaints"):
        assert internal not in re.sub(r'(value|name|href|class|id)="[^"]*"', "", cases)
