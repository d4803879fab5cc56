"""Item statistics on a small example computed by hand, the flagging of a negatively discriminating item, and the
per-topic view of a class.

Five students take one quiz of three true/false items: A is worth 2 points, B and C 1 point each.

    student   A  B  C   total
    s1        2  1  1   4
    s2        2  1  0   3
    s3        2  0  1   3
    s4        0  0  1   1
    s5        0  0  1   1

Variances and covariances divide by n − 1 = 4; y is the rest of the test (total − item).

Item A: x = [2,2,2,0,0], x̄ = 1.2, F = 1.2 / 2 = 0.60; y = [2,1,1,1,1], ȳ = 1.2
    dx = [.8,.8,.8,−1.2,−1.2]  dy = [.8,−.2,−.2,−.2,−.2]
    Σdx² = 4.8 → V(x) = 1.2;  Σdy² = 0.8 → V(y) = 0.2;  Σdxdy = .64 − .16 − .16 + .24 + .24 = 0.8 → C = 0.2
    D = 0.2 / √(1.2 · 0.2) = 0.2 / √0.24 = 0.4082
    sorted pairs: x [0,0,2,2,2], y [1,1,1,1,2]: Σ = .24 + .24 − .16 − .16 + .64 = 0.8 → Cmax = 0.2, E = 100 %
    SD of x / 2 = [1,1,1,0,0]: √(1.2 / 4) = 0.5477
Item B: x = [1,1,0,0,0], x̄ = 0.4, F = 0.40; y = [3,2,3,1,1], ȳ = 2
    dx = [.6,.6,−.4,−.4,−.4]  dy = [1,0,1,−1,−1]
    V(x) = 1.2 / 4 = 0.3;  V(y) = 4 / 4 = 1;  Σdxdy = .6 + 0 − .4 + .4 + .4 = 1.0 → C = 0.25
    D = 0.25 / √0.3 = 0.4564
    sorted: x [0,0,0,1,1], y [1,1,2,3,3]: Σ = .4 + .4 + 0 + .6 + .6 = 2.0 → Cmax = 0.5, E = 50 %
Item C: x = [1,0,1,1,1], x̄ = 0.8, F = 0.80; y = [3,3,2,0,0], ȳ = 1.6
    dx = [.2,−.8,.2,.2,.2]  dy = [1.4,1.4,.4,−1.6,−1.6]
    V(x) = 0.8 / 4 = 0.2;  V(y) = 9.2 / 4 = 2.3;  Σdxdy = .28 − 1.12 + .08 − .32 − .32 = −1.4 → C = −0.35
    D = −0.35 / √(0.2 · 2.3) = −0.35 / √0.46 = −0.5160  (negative: the strong students miss it → flagged)
    sorted: x [0,1,1,1,1], y [0,0,2,3,3]: Σ = 1.28 − .32 + .08 + .28 + .28 = 1.6 → Cmax = 0.4, E = −87.5 %
Test: totals / 4 = [1, .75, .75, .25, .25]: mean 0.60, median 0.75.
Topics (甲 = A, B; 乙 = B, C), mean score fraction per answer: 甲 (3 + 2) / 10 = 0.50; 乙 (2 + 4) / 10 = 0.60.
"""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Item
from app.models.assignments import Assignment
from tests.conftest import Clock, post_form
from tests.test_assignments import START, create_quiz, make_class, make_items, quiz_data, take, user_client

PATTERN = {  # who answers which items right
    "s1": {"t-tf-a", "t-tf-b", "t-tf-c"},
    "s2": {"t-tf-a", "t-tf-b"},
    "s3": {"t-tf-a", "t-tf-c"},
    "s4": {"t-tf-c"},
    "s5": {"t-tf-c"},
}


@pytest.fixture
def clock(app):
    c = Clock()
    app.config["CLOCK"] = c
    return c


@pytest.fixture
def quiz(app, clock):
    teacher = user_client(app, "teacher", "instructor")
    students = {name: user_client(app, name) for name in PATTERN}
    class_id = make_class(app, "teacher", tuple(PATTERN))
    uids, points = make_items(app)
    assignment_id = create_quiz(teacher, class_id, quiz_data("\n".join(f"{u} {points[u]}" for u in uids),
                                                             closes=START + timedelta(days=1), attempts_allowed="2"))
    for name, right in PATTERN.items():
        take(app, students[name], assignment_id, right=right)
    return {"teacher": teacher, "students": students, "class_id": class_id, "assignment_id": assignment_id}


def by_uid(rows):
    return {row["item"].uid: row["stats"] for row in rows}


def test_item_statistics_match_the_hand_computed_example(app, quiz):
    from app.assignments.statistics import assignment_statistics

    with app.app_context():
        data = assignment_statistics(db.session.get(Assignment, quiz["assignment_id"]))
        stats = by_uid(data["items"])
    a, b, c = stats["t-tf-a"], stats["t-tf-b"], stats["t-tf-c"]
    assert (a.n, b.n, c.n) == (5, 5, 5) and (a.max_points, b.max_points) == (2, 1)
    assert (a.facility, b.facility, c.facility) == pytest.approx((0.6, 0.4, 0.8))
    assert a.sd == pytest.approx(np.sqrt(0.3))
    assert a.discrimination == pytest.approx(0.2 / np.sqrt(0.24))  # 0.4082
    assert b.discrimination == pytest.approx(0.25 / np.sqrt(0.3))  # 0.4564
    assert c.discrimination == pytest.approx(-0.35 / np.sqrt(0.46))  # −0.5160
    assert (a.efficiency, b.efficiency, c.efficiency) == pytest.approx((100.0, 50.0, -87.5))
    assert data["test"]["n"] == 5
    assert (data["test"]["mean"], data["test"]["median"]) == pytest.approx((0.6, 0.75))
    assert [a.flag_candidate, b.flag_candidate, c.flag_candidate] == [False, False, True]

    html = quiz["teacher"].get(f"/assignments/{quiz['assignment_id']}/statistics").get_data(as_text=True)
    for text in ("0.41", "0.46", "-0.52", "60%", "40%", "80%", "100%", "50%", "负区分度", "标记为待核对"):
        assert text in html, text


def test_only_the_counting_attempt_enters_the_statistics(app, quiz, clock):
    # s4 takes the quiz again and gets everything right: 最高分 counts that attempt instead of the first one
    take(app, quiz["students"]["s4"], quiz["assignment_id"], right={"t-tf-a", "t-tf-b", "t-tf-c"})
    from app.assignments.statistics import assignment_statistics

    with app.app_context():
        stats = by_uid(assignment_statistics(db.session.get(Assignment, quiz["assignment_id"]))["items"])
    assert stats["t-tf-a"].n == 5 and stats["t-tf-a"].facility == pytest.approx(0.8)


def test_a_negatively_discriminating_item_is_flagged(app, quiz):
    teacher = quiz["teacher"]
    assert quiz["students"]["s1"].get(f"/assignments/{quiz['assignment_id']}/statistics").status_code == 403
    url = f"/assignments/{quiz['assignment_id']}/statistics"
    response = post_form(teacher, url + "/flag", page=url)
    assert response.status_code == 302
    with app.app_context():
        flags = dict(db.session.execute(sa.select(Item.uid, Item.flagged).where(Item.uid.like("t-tf-%"))).all())
    assert flags["t-tf-a"] == "" and flags["t-tf-b"] == ""
    assert flags["t-tf-c"].startswith("统计标记：区分度 -0.52") and "核对答案" in flags["t-tf-c"]
    assert "已标记待核对" in teacher.get(url).get_data(as_text=True)

    # an instructor checks the key and clears the flag: the same answers do not flag it again
    with app.app_context():
        item = db.session.scalar(sa.select(Item).where(Item.uid == "t-tf-c"))
        item.flagged, item.keyed_at = "", START + timedelta(hours=1)
        db.session.commit()
    post_form(teacher, url + "/flag", page=url)
    with app.app_context():
        assert db.session.scalar(sa.select(Item.flagged).where(Item.uid == "t-tf-c")) == ""


def test_the_cli_flags_items_across_the_bank(app, quiz):
    result = app.test_cli_runner().invoke(args=["assignments", "flag-items"])
    assert result.exit_code == 0, result.output
    assert "t-tf-c: 统计标记：区分度 -0.52" in result.output and "共标记 1 道题" in result.output
    with app.app_context():
        assert db.session.scalar(sa.select(Item.flagged).where(Item.uid == "t-tf-c")).startswith("统计标记")


def test_too_few_attempts_are_not_flagged(app, clock):
    from app.assignments.statistics import item_statistics

    # the same item C pattern on four students only (drop s5): still negative, but n < 5
    x = np.array([1.0, 0, 1, 1])
    y = np.array([3.0, 3, 2, 0])
    stats = item_statistics(np.array([7, 7, 7, 7]), x, y, np.ones(4))[7]
    assert stats.discrimination < 0 and not stats.flag_candidate


def test_bank_statistics_pool_the_quizzes(app, quiz):
    from app.assignments.statistics import bank_statistics

    with app.app_context():
        stats = by_uid(bank_statistics())
    # one test only: scaling by the full marks leaves the correlations as they were
    assert stats["t-tf-c"].discrimination == pytest.approx(-0.35 / np.sqrt(0.46))
    assert stats["t-tf-a"].efficiency == pytest.approx(100.0)
    html = quiz["teacher"].get("/assignments/statistics").get_data(as_text=True)
    assert "全题库题目统计" in html and "t-tf-c" in html
    assert quiz["students"]["s1"].get("/assignments/statistics").status_code == 403


def test_topic_performance_of_the_class(app, quiz):
    html = quiz["teacher"].get(f"/assignments/class/{quiz['class_id']}/topics").get_data(as_text=True)
    assert "<svg" in html and "各专题平均得分率" in html
    rows = dict(re.findall(r">(测试专题[甲乙])</a></td>\s*<td>.*?</div>(\d+%)</td>", html, re.S))
    assert rows == {"测试专题甲": "50%", "测试专题乙": "60%"}
    assert quiz["students"]["s1"].get(f"/assignments/class/{quiz['class_id']}/topics").status_code == 403

