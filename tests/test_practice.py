"""Practice modes, the 错题本, FSRS review, grading rules and mock exams, through the test client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.grading import grade
from app.models import Item
from app.models.practice import ExamAnswer, ExamAttempt, ResponseRecord, ReviewCard, WrongEntry
from app.scores import round_score
from tests.conftest import csrf_token, login, make_user, post_form


def first_item(app, **where):
    with app.app_context():
        stmt = sa.select(Item).where(Item.retired.is_(False), Item.key_source != "none")
        for name, value in where.items():
            stmt = stmt.where(getattr(Item, name) == value)
        item = db.session.scalars(stmt.order_by(Item.position)).first()
        return {"id": item.id, "uid": item.uid, "answer": item.answer, "options": item.options, "type": item.type}


def start(client, **args):
    response = client.get("/practice/start", query_string=args)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return response.headers["Location"]


def current_item_id(client, set_url):
    html = client.get(set_url).get_data(as_text=True)
    match = re.search(r'name="item_id" value="(\d+)"', html)
    return int(match.group(1)) if match else None, html


def answer_current(client, set_url, values):
    item_id, _ = current_item_id(client, set_url)
    response = post_form(client, set_url + "/answer", {"item_id": item_id, "answer": values}, page=set_url)
    assert response.status_code == 302
    return item_id, response.headers["Location"]


def wrong_choice(item):
    return next(k for k in item["options"] if k not in item["answer"])


# ---------------------------------------------------------------- grading rules

MULTI = {"type": "multi_choice", "options": {"A": "a", "B": "b", "C": "c", "D": "d"}, "answer": ["A", "B", "C"]}


@pytest.mark.parametrize(("rule", "response", "expected"), [
    ("all_or_nothing", ["A", "B", "C"], 1.0), ("all_or_nothing", ["A", "B"], 0.0), ("all_or_nothing", ["A", "B", "C", "D"], 0.0),
    ("partial", ["A", "B", "C"], 1.0), ("partial", ["A", "B"], 2 / 3), ("partial", ["A", "D"], 0.0), ("partial", [], 0.0),
    ("moodle_sum", ["A", "B"], 2 / 3), ("moodle_sum", ["A", "B", "D"], 0.0), ("moodle_sum", ["A", "B", "C", "D"], 0.0),
    ("moodle_sum", ["D"], 0.0), ("moodle_sum", ["A", "B", "C"], 1.0),
])
def test_multi_choice_rules(rule, response, expected):
    assert grade(MULTI, response, multi_rule=rule).score == pytest.approx(expected)


def test_moodle_sum_partial_penalty():
    item = {"type": "multi_choice", "options": dict.fromkeys("ABCDE", "x"), "answer": ["A", "B"]}
    # +1/2 +1/2 -1/3 = 2/3
    assert grade(item, ["A", "B", "C"], multi_rule="moodle_sum").score == pytest.approx(2 / 3)


# ---------------------------------------------------------------- practice modes

def test_guest_practice_shows_feedback_and_is_kept_on_signup(app, client):
    set_url = start(client, mode="sequential", types="single_choice")
    item_id, _ = current_item_id(client, set_url)
    with app.app_context():
        item = db.session.get(Item, item_id)
        wrong = wrong_choice({"options": item.options, "answer": item.answer})
    item_id, feedback_url = answer_current(client, set_url, [wrong])
    html = client.get(feedback_url).get_data(as_text=True)
    assert "回答错误" in html and "参考答案" in html and "出处" in html
    response = post_form(client, "/auth/register", {"username": "newbie", "password": "secret123",
                                                    "confirm": "secret123"})
    assert response.status_code == 302
    with app.app_context():
        record = db.session.scalar(sa.select(ResponseRecord).where(ResponseRecord.item_id == item_id))
        assert record.user_id is not None and record.guest_key is None
        entry = db.session.scalar(sa.select(WrongEntry).where(WrongEntry.user_id == record.user_id))
        assert entry is not None and entry.item_id == item_id
    assert "错题本" in client.get("/practice/wrong").get_data(as_text=True)


def test_sequential_practice_resumes_where_left_off(student):
    set_url = start(student, mode="sequential", types="true_false")
    first, _ = answer_current(student, set_url, ["true"])
    second, _ = answer_current(student, set_url, ["true"])
    assert first != second
    again = start(student, mode="sequential", types="true_false")
    assert again == set_url
    third, _ = current_item_id(student, again)
    assert third not in (first, second)
    assert "第 3 / " in student.get(again).get_data(as_text=True)


def test_random_practice_respects_types_and_count(app, student):
    set_url = start(student, mode="random", types=["single_choice", "true_false"], count=5)
    html = student.get(set_url).get_data(as_text=True)
    assert "第 1 / 5 题" in html
    seen = set()
    for _ in range(5):
        item_id, _ = answer_current(student, set_url, ["A"])
        seen.add(item_id)
    with app.app_context():
        types = set(db.session.scalars(sa.select(Item.type).where(Item.id.in_(seen))))
    assert len(seen) == 5 and types <= {"single_choice", "true_false"}
    assert "练习完成" in student.get(set_url).get_data(as_text=True) or "完成" in student.get(set_url).get_data(as_text=True)


def test_topic_practice_only_draws_that_topic(app, student):
    set_url = start(student, mode="topic", topic="satisfaction-loyalty")
    item_id, _ = current_item_id(student, set_url)
    with app.app_context():
        item = db.session.get(Item, item_id)
        assert "客户满意与忠诚" in [t.name for t in item.topics]


def test_unkeyed_items_never_appear_in_graded_practice(app, student):
    with app.app_context():
        unkeyed = set(db.session.scalars(sa.select(Item.id).where(Item.key_source == "none")))
        from app.models.practice import PracticeSet
    assert unkeyed, "the bank has items without keys"
    set_url = start(student, mode="sequential")
    set_id = int(set_url.rsplit("/", 1)[1])
    with app.app_context():
        from app.models.practice import PracticeSet

        ids = set(db.session.get(PracticeSet, set_id).item_ids)
    assert ids and not ids & unkeyed
    uid = None
    with app.app_context():
        uid = db.session.scalar(sa.select(Item.uid).where(Item.id.in_(unkeyed)))
    assert student.get(f"/practice/items/{uid}").status_code == 302  # redirected back, not served


def test_derived_keys_are_labelled_in_feedback(app, student):
    item = first_item(app, key_source="derived")
    response = student.get(f"/practice/items/{item['uid']}")
    set_url = response.headers["Location"]
    values = item["answer"] if isinstance(item["answer"], list) else [str(item["answer"]).lower()]
    _, feedback_url = answer_current(student, set_url, values)
    assert "答案由源文档内容推导" in student.get(feedback_url).get_data(as_text=True)


def test_wrong_book_rule(app, student, clock):
    item = first_item(app, type="single_choice")
    set_url = student.get(f"/practice/items/{item['uid']}").headers["Location"]
    answer_current(student, set_url, [wrong_choice(item)])

    def entry():
        with app.app_context():
            return db.session.scalar(sa.select(WrongEntry).where(WrongEntry.item_id == item["id"]))

    assert entry() is not None and entry().cleared_at is None
    for days, expected_right_days, cleared in ((0, 0, False), (1, 1, False), (1, 1, False), (2, 2, True)):
        clock.now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC) + timedelta(days=days, hours=1)
        set_url = student.get(f"/practice/items/{item['uid']}").headers["Location"]
        answer_current(student, set_url, item["answer"])
        assert entry().right_days == expected_right_days
        assert (entry().cleared_at is not None) is cleared
    page = student.get("/practice/wrong").get_data(as_text=True)
    assert "不同的两天" in page and "已移出 1 题" in page


def test_wrong_book_can_be_practised_as_a_set(app, student):
    item = first_item(app, type="single_choice")
    set_url = student.get(f"/practice/items/{item['uid']}").headers["Location"]
    answer_current(student, set_url, [wrong_choice(item)])
    wrong_set = start(student, mode="wrong")
    assert current_item_id(student, wrong_set)[0] == item["id"]


def test_stars_and_starred_practice(app, student):
    item = first_item(app, type="true_false")
    response = post_form(student, f"/practice/items/{item['uid']}/star", {}, page=f"/bank/items/{item['uid']}")
    assert response.status_code == 302
    assert item["uid"] in student.get("/practice/starred").get_data(as_text=True)
    assert "★ 已收藏" in student.get(f"/bank/items/{item['uid']}").get_data(as_text=True)
    set_url = start(student, mode="starred")
    assert current_item_id(student, set_url)[0] == item["id"]


def test_study_mode_shows_answers_and_records_nothing(app, student):
    set_url = start(student, mode="study", types="single_choice")
    html = student.get(set_url).get_data(as_text=True)
    assert "参考答案" in html and 'name="item_id"' not in html
    post_form(student, set_url + "/goto", {}, page=set_url)
    assert "第 2 / " in student.get(set_url).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResponseRecord)) == 0


def test_spaced_review_schedules_answered_items(app, student, clock):
    item = first_item(app, type="single_choice")
    set_url = student.get(f"/practice/items/{item['uid']}").headers["Location"]
    answer_current(student, set_url, [wrong_choice(item)])
    with app.app_context():
        card = db.session.scalar(sa.select(ReviewCard).where(ReviewCard.item_id == item["id"]))
        assert card is not None and card.reviews == 1
    home = student.get("/").get_data(as_text=True)
    # due again in a few minutes (a short-term step of today's session): not part of the day's reviews
    assert "今日待复习" in home and re.search(r'class="big-number">0<', home)
    clock.advance(days=1)
    home = student.get("/").get_data(as_text=True)
    assert re.search(r'class="big-number">1<', home) and "其中 1 题是新学的" in home
    review_set = start(student, mode="review")
    assert current_item_id(student, review_set)[0] == item["id"]
    answer_current(student, review_set, item["answer"])
    with app.app_context():
        card = db.session.scalar(sa.select(ReviewCard).where(ReviewCard.item_id == item["id"]))
        assert card.reviews == 2 and card.due.replace(tzinfo=UTC) > clock.now


def test_self_assessment_keeps_both_scores(app, student):
    item = first_item(app, type="term_definition")
    set_url = student.get(f"/practice/items/{item['uid']}").headers["Location"]
    _, feedback_url = answer_current(student, set_url, ["不知道"])
    html = student.get(feedback_url).get_data(as_text=True)
    assert "评分要点" in html and "未答到" in html and "参考分" in html
    response_id = int(feedback_url.rsplit("/", 1)[1])
    post_form(student, f"/practice/responses/{response_id}/assess", {"rating": "partial"}, page=feedback_url)
    with app.app_context():
        record = db.session.get(ResponseRecord, response_id)
        assert record.self_score == 0.5 and record.score is not None and record.score < 0.2


def test_essay_self_assessment_per_rubric_point(app, student):
    item = first_item(app, type="essay")
    set_url = student.get(f"/practice/items/{item['uid']}").headers["Location"]
    _, feedback_url = answer_current(student, set_url, ["我的论述"])
    html = student.get(feedback_url).get_data(as_text=True)
    n = int(re.search(r'name="points" value="(\d+)"', html).group(1))
    data = {"points": n, **{f"rating_{i}": "mastered" if i == 0 else "none" for i in range(n)}}
    response_id = int(feedback_url.rsplit("/", 1)[1])
    post_form(student, f"/practice/responses/{response_id}/assess", data, page=feedback_url)
    with app.app_context():
        assert db.session.get(ResponseRecord, response_id).self_score == pytest.approx(1 / n)


@pytest.mark.parametrize(("uid", "answer", "label"), [
    ("s000-hw-08", "运营型CRM、协作型CRM、分析型CRM", "运营型 CRM"),
    ("s000-qa-06", "我的论述", "注意不要立即购买所有许可证"),
])
def test_curated_rubric_points_show_by_their_labels(student, uid, answer, label):
    """A curated rubric ({point, expressions, weight}) is shown to the student as its point texts, never raw data."""
    set_url = student.get(f"/practice/items/{uid}").headers["Location"]
    _, feedback_url = answer_current(student, set_url, [answer])
    html = student.get(feedback_url).get_data(as_text=True)
    assert label in html and "expressions" not in html and "'point'" not in html


def test_another_students_response_is_404(app, client, student):
    set_url = start(student, mode="sequential", types="true_false")
    _, feedback_url = answer_current(student, set_url, ["true"])
    student.post("/auth/logout", data={"csrf_token": csrf_token(student)})
    make_user(app, "bob")
    login(client, "bob")
    assert client.get(feedback_url).status_code == 404
    assert client.get(set_url).status_code == 404


def answer_wrongly(app, client, set_url):
    item_id, _ = current_item_id(client, set_url)
    with app.app_context():
        item = db.session.get(Item, item_id)
    wrong = ["false" if item.answer else "true"] if item.type == "true_false" else [wrong_choice(
        {"options": item.options, "answer": item.answer})]
    return answer_current(client, set_url, wrong)


def test_progress_page_lists_only_weak_topics_with_enough_answers(app, student):
    from app.models import Topic, item_topics

    with app.app_context():
        slug, name = db.session.execute(
            sa.select(Topic.slug, Topic.name).join(item_topics, item_topics.c.topic_id == Topic.id)
            .join(Item, Item.id == item_topics.c.item_id)
            .where(Item.type == "true_false", Item.key_source != "none", Item.retired.is_(False))
            .group_by(Topic.slug, Topic.name).order_by(sa.func.count().desc())).first()
    set_url = start(student, mode="topic", topic=slug, types="true_false")
    answer_wrongly(app, student, set_url)
    html = student.get("/practice/progress").get_data(as_text=True)
    assert "<svg" in html and "最近 30 天每日正确率" in html
    assert "最薄弱的专题" not in html  # one answer is not enough to call a topic weak
    for _ in range(4):
        answer_wrongly(app, student, set_url)
    html = student.get("/practice/progress").get_data(as_text=True)
    weak = html.split("最薄弱的专题", 1)[1].split("</section>", 1)[0]
    assert name in weak and "一键练习" in weak and "正确率 0%" in weak


# ---------------------------------------------------------------- mock exams

SMALL = {"title": "小测", "minutes": 10, "count_single_choice": 2, "points_single_choice": 5,
         "count_multi_choice": 1, "points_multi_choice": 10, "count_true_false": 1, "points_true_false": 2,
         "count_term_definition": 1, "points_term_definition": 8, "count_short_answer": 0, "points_short_answer": 0}


def start_exam(client, data=SMALL):
    response = post_form(client, "/exam/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def paper(app, attempt_id):
    with app.app_context():
        attempt = db.session.get(ExamAttempt, attempt_id)
        rows = []
        for entry in attempt.paper:
            item = db.session.get(Item, entry["item_id"])
            rows.append({"type": item.type, "answer": item.answer, "order": entry["order"], "points": entry["points"]})
        return rows


def display_key(row):
    return [chr(ord("A") + row["order"].index(k)) for k in row["answer"]]


def autosave(client, attempt_id, position, answer, flagged=None):
    token = csrf_token(client, "/practice/")
    body = {"position": position, "answer": answer}
    if flagged is not None:
        body["flagged"] = flagged
    return client.post(f"/exam/{attempt_id}/save", json=body, headers={"X-CSRFToken": token})


def test_exam_blueprint_deadline_and_key_never_sent(app, student, clock):
    attempt_id = start_exam(student)
    rows = paper(app, attempt_id)
    assert [r["type"] for r in rows] == ["single_choice", "single_choice", "multi_choice", "true_false", "term_definition"]
    with app.app_context():
        attempt = db.session.get(ExamAttempt, attempt_id)
        assert attempt.deadline.replace(tzinfo=UTC) == clock.now + timedelta(minutes=10)
        assert attempt.max_score == 5 + 5 + 10 + 2 + 8
    html = student.get(f"/exam/{attempt_id}?q=0").get_data(as_text=True)
    assert "答题卡" in html and 'data-remaining="600"' in html
    assert "参考答案" not in html and "答案来自源文档" not in html
    clock.advance(minutes=4)
    assert 'data-remaining="360"' in student.get(f"/exam/{attempt_id}").get_data(as_text=True)


def test_exam_autosave_resume_and_grading(app, student, clock):
    attempt_id = start_exam(student)
    rows = paper(app, attempt_id)
    assert autosave(student, attempt_id, 0, display_key(rows[0])).json["ok"]
    assert autosave(student, attempt_id, 2, display_key(rows[2])[:1], flagged=True).json["ok"]  # 少选
    assert autosave(student, attempt_id, 3, ["true" if rows[3]["answer"] else "false"]).json["ok"]
    html = student.get(f"/exam/{attempt_id}?q=0").get_data(as_text=True)  # reopen: the answer is still there
    assert re.search(rf'value="{display_key(rows[0])[0]}" checked', html)
    assert 'class="answered' in html and "flagged" in html
    confirm = student.get(f"/exam/{attempt_id}/confirm").get_data(as_text=True)
    assert "已答 3 题" in confirm
    token = csrf_token(student, f"/exam/{attempt_id}/confirm")
    assert student.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token}).status_code == 302
    assert student.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token}).status_code == 302  # double submit
    with app.app_context():
        attempt = db.session.get(ExamAttempt, attempt_id)
        partial = 10 * (1 / len(rows[2]["answer"]))
        assert attempt.status == "graded" and attempt.score == round_score(5 + partial + 2)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ResponseRecord)
                                 .where(ResponseRecord.exam_id == attempt_id)) == len(rows)
    result = student.get(f"/exam/{attempt_id}/result").get_data(as_text=True)
    assert "按题型" in result and "按专题" in result and "逐题回顾" in result and "用时" in result


def test_exam_form_post_without_javascript(app, student):
    attempt_id = start_exam(student)
    rows = paper(app, attempt_id)
    response = post_form(student, f"/exam/{attempt_id}/save",
                         {"position": 1, "has_answer": "1", "has_flag": "1", "answer": display_key(rows[1]), "goto": 2},
                         page=f"/exam/{attempt_id}?q=1")
    assert response.status_code == 302 and response.headers["Location"].endswith("q=2")
    with app.app_context():
        saved = db.session.scalar(sa.select(ExamAnswer).where(ExamAnswer.attempt_id == attempt_id))
        assert saved.answer == rows[1]["answer"]


def test_exam_after_deadline_is_graded_as_it_stood(app, student, clock):
    attempt_id = start_exam(student)
    rows = paper(app, attempt_id)
    autosave(student, attempt_id, 0, display_key(rows[0]))
    clock.advance(minutes=10, seconds=10)  # past the deadline but inside the grace period
    assert autosave(student, attempt_id, 1, display_key(rows[1])).status_code == 200
    clock.advance(minutes=5)  # beyond the grace: answers are refused
    late = autosave(student, attempt_id, 3, ["true" if rows[3]["answer"] else "false"])
    assert late.status_code == 409 and not late.json["ok"]
    token = csrf_token(student, "/practice/")
    student.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token})
    with app.app_context():
        attempt = db.session.get(ExamAttempt, attempt_id)
        assert attempt.score == 10 and attempt.closed_by in ("timeup", "abandoned")
        assert attempt.submitted_at.replace(tzinfo=UTC) <= attempt.deadline.replace(tzinfo=UTC) + timedelta(seconds=30)


def test_hand_in_notice_is_carried_by_the_address_not_the_session(app, student, clock):
    """After 交卷 the result page says so (and, when the hand-in came after the deadline's grace, that later answers do
    not count) without the submit rewriting the session cookie: a flash message would be signed into the cookie by
    the submit and out of it by the result page, at the bell."""
    attempt_id = start_exam(student)
    token = csrf_token(student, f"/exam/{attempt_id}/confirm")
    response = student.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/exam/{attempt_id}/result?handed_in=1")
    assert "Set-Cookie" not in response.headers
    shown = student.get(response.headers["Location"])
    assert 'role="status">已交卷。</div>' in shown.get_data(as_text=True) and "Set-Cookie" not in shown.headers
    assert 'role="status">已交卷' not in student.get(f"/exam/{attempt_id}/result").get_data(as_text=True)
    # the exam page's timer hands in by itself after the student was offline past the deadline and its grace
    late_id = start_exam(student)
    token = csrf_token(student, f"/exam/{late_id}/confirm")
    clock.advance(minutes=20)
    response = student.post(f"/exam/{late_id}/submit", data={"csrf_token": token, "reason": "timeup"})
    assert response.headers["Location"].endswith(f"/exam/{late_id}/result?handed_in=late")
    page = student.get(response.headers["Location"]).get_data(as_text=True)
    assert 'class="flash flash-warning" role="status">已交卷，超过截止时间后的作答不计分。' in page
    # an unknown value shows nothing; the page is not an echo of its address
    assert "role=\"status\">已交卷" not in student.get(f"/exam/{late_id}/result?handed_in=x").get_data(as_text=True)


def test_abandoned_exam_is_closed_on_next_visit(app, student, clock):
    attempt_id = start_exam(student)
    rows = paper(app, attempt_id)
    autosave(student, attempt_id, 0, display_key(rows[0]))
    clock.advance(hours=2)
    student.get("/")
    with app.app_context():
        attempt = db.session.get(ExamAttempt, attempt_id)
        assert attempt.status == "graded" and attempt.closed_by == "abandoned" and attempt.score == 5


def test_options_are_shuffled_per_attempt_and_mapped_back(app, student):
    orders = set()
    for _ in range(6):
        attempt_id = start_exam(student, {**SMALL, "count_single_choice": 2, "count_multi_choice": 0,
                                          "count_true_false": 0, "count_term_definition": 0})
        rows = paper(app, attempt_id)
        orders.add(tuple(tuple(r["order"]) for r in rows))
        autosave(student, attempt_id, 0, display_key(rows[0]))
        token = csrf_token(student, f"/exam/{attempt_id}/confirm")
        student.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token})
        with app.app_context():
            assert db.session.get(ExamAttempt, attempt_id).score == 5
    assert len(orders) > 1


def test_exam_blueprint_form_errors_rerender(student):
    response = post_form(student, "/exam/new", {**SMALL, "count_single_choice": "x"})
    assert response.status_code == 200 and "必须是数字" in response.get_data(as_text=True)
    response = post_form(student, "/exam/new", {"title": "空", "minutes": 10})
    assert "至少选择一种题型" in response.get_data(as_text=True)


def test_other_students_cannot_open_an_attempt(app, client, student):
    attempt_id = start_exam(student)
    student.post("/auth/logout", data={"csrf_token": csrf_token(student)})
    make_user(app, "mallory")
    login(client, "mallory")
    assert client.get(f"/exam/{attempt_id}").status_code == 404
    assert client.get(f"/exam/{attempt_id}/result").status_code == 404


def _exam_of_one_item(app, student, item, version):
    """An open mock exam whose paper is this one item at this version (5 points, options in their own order)."""
    attempt_id = start_exam(student, {**SMALL, "count_single_choice": 1, "count_multi_choice": 0,
                                      "count_true_false": 0, "count_term_definition": 0})
    with app.app_context():
        exam = db.session.get(ExamAttempt, attempt_id)
        exam.paper = [{"item_id": item["id"], "version": version, "points": 5.0, "order": sorted(item["options"])}]
        exam.max_score = 5.0
        db.session.commit()
    return attempt_id


def test_old_attempts_keep_the_version_the_student_saw(app, student):
    """Editing an item makes a new version; past answers and open exams still show and grade the old one."""
    from app.bank.services import apply_item_content
    from app.models import Topic

    item = first_item(app, type="single_choice")
    set_url = student.get(f"/practice/items/{item['uid']}").headers["Location"]
    _, feedback_url = answer_current(student, set_url, item["answer"])
    attempt_id = _exam_of_one_item(app, student, item, version=1)
    autosave(student, attempt_id, 0, item["answer"])  # options in original order: display letters = keys
    new_key = wrong_choice(item)
    with app.app_context():
        row = db.session.get(Item, item["id"])
        topics = {t.name: t for t in db.session.scalars(sa.select(Topic))}
        apply_item_content(row, {**row.to_dict(), "stem": row.stem + "(已修订)", "answer": [new_key]}, topics)
        db.session.commit()
        assert row.version == 2
    page = student.get(feedback_url).get_data(as_text=True)
    assert "(已修订)" not in page and "回答正确" in page and "第 1 版" in page
    token = csrf_token(student, f"/exam/{attempt_id}/confirm")
    student.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(ExamAttempt, attempt_id).score == 5.0  # graded by the version on the paper
    # a new answer is graded by the new version
    set_url = student.get(f"/practice/items/{item['uid']}").headers["Location"]
    _, feedback_url = answer_current(student, set_url, item["answer"])
    assert "回答错误" in student.get(feedback_url).get_data(as_text=True)
    # and a paper drawn after the edit is graded by version 2, though version 1 of the item was graded (and kept in
    # the per-process cache of graded versions) a moment ago
    second = _exam_of_one_item(app, student, item, version=2)
    autosave(student, second, 0, [new_key])
    token = csrf_token(student, f"/exam/{second}/confirm")
    student.post(f"/exam/{second}/submit", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(ExamAttempt, second).score == 5.0
