"""The grading queue: an assignment's 名词解释 answer the scorer is unsure of waits for the instructor, whose score
the gradebook then shows; practice defers the same verdict to the student's self-assessment."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from app.extensions import db
from app.models import Item, Topic
from app.models.practice import ExamAnswer, ResponseRecord, ReviewCard, WrongEntry
from tests.conftest import csrf_token, post_form
from tests.test_assignments import START, attempt_row, create_quiz, make_class, quiz_data, start, user_client
from tests.test_practice import answer_current

RUBRIC = [
    {"point": "对特定产品或服务产生好感", "expressions": ["好感"], "weight": 1},
    {"point": "形成偏好", "expressions": ["偏好"], "weight": 1},
    {"point": "重复购买的倾向", "expressions": ["重复购买", "再次+购买"], "weight": 2},
]
UNSURE = "客户对产品产生了好感并形成偏好。"  # two of four weight: 待复核


def make_term(app, uid="t-td-loyal"):
    with app.app_context():
        topic = Topic(slug="test-loyalty", name="测试忠诚", position=950)
        item = Item(uid=uid, type="term_definition", stem="客户忠诚", key_source="source", position=95000, version=1,
                    answer="客户忠诚是指客户对某一特定产品或服务产生了好感,形成了偏好,进而重复购买的一种倾向。",
                    key_points=RUBRIC, explanation="要点:好感、偏好、重复购买。", explanation_source="seed",
                    topics=[topic])
        db.session.add(item)
        db.session.commit()
    return uid


def take_with(app, client, assignment_id, text):
    response = start(client, assignment_id)
    attempt_id = int(response.headers["Location"].rsplit("/", 1)[1])
    token = csrf_token(client, f"/exam/{attempt_id}")
    saved = client.post(f"/exam/{attempt_id}/save", headers={"X-CSRFToken": token},
                        json={"position": 0, "answer": [text]})
    assert saved.json["ok"], saved.json
    client.post(f"/exam/{attempt_id}/submit", data={"csrf_token": token})
    return attempt_id


def test_unsure_answer_goes_to_the_instructor_and_the_gradebook_follows(app, clock):
    teacher = user_client(app, "teacher", "instructor")
    alice = user_client(app, "alice")
    other_teacher = user_client(app, "zhang", "instructor")
    class_id = make_class(app, "teacher", ("alice",))
    uid = make_term(app)
    assignment_id = create_quiz(teacher, class_id, quiz_data(f"{uid} 10", closes=START + timedelta(days=1)))
    attempt_id = take_with(app, alice, assignment_id, UNSURE)
    attempt = attempt_row(app, attempt_id)
    assert attempt.score == 5.0  # the suggested score stands until the instructor decides
    result = alice.get(f"/exam/{attempt_id}/result").get_data(as_text=True)
    assert "待复核" in result and "已交给老师批改" in result and "参考分" in result

    assert "批改队列(1 题待批改)" in teacher.get("/assignments/").get_data(as_text=True)
    queue = teacher.get("/assignments/review").get_data(as_text=True)
    assert "待批改 <strong>1</strong> 题" in queue and "Alice" in queue and "采纳建议分 5.0" in queue
    assert "重复购买的倾向" in queue and "未答到" in queue
    # another instructor sees nothing of this class and cannot settle it; a student may not open the queue
    assert "没有待批改的答案" in other_teacher.get("/assignments/review").get_data(as_text=True)
    with app.app_context():
        answer_id = db.session.scalar(sa.select(ExamAnswer.id).where(ExamAnswer.attempt_id == attempt_id))
    assert post_form(other_teacher, f"/assignments/review/{answer_id}", {"action": "accept"},
                     page="/assignments/review").status_code == 404
    assert alice.get("/assignments/review").status_code == 403

    # a score outside 0..full marks changes nothing
    refused = post_form(teacher, f"/assignments/review/{answer_id}", {"action": "change", "score": "12"},
                        page="/assignments/review")
    assert "得分应在 0 到本题满分 10 之间" in teacher.get(refused.headers["Location"]).get_data(as_text=True)
    assert attempt_row(app, attempt_id).score == 5.0

    post_form(teacher, f"/assignments/review/{answer_id}", {"action": "change", "score": "8"},
              page="/assignments/review")
    assert attempt_row(app, attempt_id).score == 8.0
    with app.app_context():
        answer = db.session.get(ExamAnswer, answer_id)
        assert answer.review_status == "changed" and answer.reviewed_by_id is not None
        record = db.session.scalar(sa.select(ResponseRecord).where(ResponseRecord.exam_id == attempt_id))
        assert record.score == 0.8
    gradebook = teacher.get(f"/assignments/class/{class_id}/gradebook").get_data(as_text=True)
    assert "8.0" in gradebook or ">8<" in gradebook
    assert "老师已复核本题得分" in alice.get(f"/exam/{attempt_id}/result").get_data(as_text=True)
    assert "没有待批改的答案" in teacher.get("/assignments/review").get_data(as_text=True)


def test_a_sure_grade_does_not_enter_the_queue(app, clock):
    teacher = user_client(app, "teacher", "instructor")
    alice = user_client(app, "alice")
    class_id = make_class(app, "teacher", ("alice",))
    uid = make_term(app)
    assignment_id = create_quiz(teacher, class_id, quiz_data(f"{uid} 10", closes=START + timedelta(days=1)))
    attempt_id = take_with(app, alice, assignment_id, "客户忠诚不是产生好感,与重复购买无关。")
    assert attempt_row(app, attempt_id).score == 0
    with app.app_context():
        assert db.session.scalar(sa.select(ExamAnswer.review_status).where(ExamAnswer.attempt_id == attempt_id)) is None


def test_in_practice_the_self_assessment_decides_an_unsure_grade(app, clock):
    alice = user_client(app, "alice")
    uid = make_term(app)
    set_url = alice.get(f"/practice/items/{uid}").headers["Location"]
    _, feedback_url = answer_current(alice, set_url, [UNSURE])
    page = alice.get(feedback_url).get_data(as_text=True)
    assert "待复核" in page and "以你的自评为准" in page
    with app.app_context():
        item_id = db.session.scalar(sa.select(Item.id).where(Item.uid == uid))
        assert db.session.scalar(sa.select(ReviewCard).where(ReviewCard.item_id == item_id)) is None
    response_id = int(feedback_url.rsplit("/", 1)[1])
    post_form(alice, f"/practice/responses/{response_id}/assess", {"rating": "none"}, page=feedback_url)
    with app.app_context():
        assert db.session.scalar(sa.select(ReviewCard).where(ReviewCard.item_id == item_id)) is not None
        assert db.session.scalar(sa.select(WrongEntry).where(WrongEntry.item_id == item_id)) is not None
