"""Exercises teach analysis (issue 9): no answer on any page a student can open while an exercise runs; exercise
assignments honour window, attempts, counting rule and feedback policy; accepted conventions and tolerances.

Expected answers are computed independently (``tests.test_sandbox.observed``: simulations.analytics on the company
generated again in memory), then looked for in the HTML of every student page.
"""

from __future__ import annotations

import re
from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from app.clock import now
from app.extensions import db
from app.models.sandbox import Sandbox, SbExerciseAttempt
from simulations.analytics import association_rules, churn_rate, rfm_scores
from tests.conftest import login, post_form
from tests.test_sandbox import SIZE, company, make_world, observed, pct, run_check, top_share

pytestmark = pytest.mark.usefixtures("app")


def assign(app, client, world, key: str, **settings) -> int:
    """The teacher assigns exercise ``key`` through the form; return the assignment id."""
    from app.models.assignments import Assignment

    login(client, "teacher")
    data = {"sandbox_id": world.sandbox_id, "exercise_key": key, "title": f"实训 {key}", "points": 10,
            "attempts_allowed": 1, "grading_rule": "highest", "feedback_policy": "after_submit", **settings}
    response = post_form(client, f"/sandbox/assign/{world.class_id}", data)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    client.get("/")
    with app.app_context():
        return db.session.scalars(sa.select(Assignment.id).order_by(Assignment.id.desc())).first()


def params_of(app, world, key: str, assignment_id: int) -> dict:
    from app.models.assignments import Assignment
    from app.sandbox import work
    from app.sandbox.exercises import REGISTRY

    with app.app_context():
        sandbox = db.session.get(Sandbox, world.sandbox_id)
        variant = work.assignment_variant(db.session.get(Assignment, assignment_id))
        return REGISTRY[key].make_params(sandbox, world.alice, variant)


def student_pages(world, customers: list[int], extra: list[str] = ()) -> list[str]:
    sid = world.sandbox_id
    pages = [f"/sandbox/{sid}/", f"/sandbox/{sid}/customers", f"/sandbox/{sid}/segments",
             f"/sandbox/{sid}/campaigns", f"/sandbox/{sid}/exercises", f"/sandbox/{sid}/downloads"]
    pages += [f"/sandbox/{sid}/analysis/{p}" for p in ("rfm", "pareto", "lifecycle", "clusters", "satisfaction",
                                                       "basket")]
    pages += [f"/sandbox/{sid}/analysis/basket?support={s}&confidence={c}"
              for s, c in ((0.01, 0.1), (0.005, 0.2), (0.01, 0.2))]
    pages += [f"/sandbox/{sid}/customers/{c}" for c in customers]
    return pages + list(extra)


def leaks(app, world, key: str) -> tuple[dict, list[str], list[str]]:
    """(params, pages to open, strings that would give the answer) for one exercise of the default sandbox."""
    obs = observed()
    sid = world.sandbox_id
    return EXPECTED[key](obs, sid)


def _rfm_scores(obs, sid, p):
    out = []
    for c in p["customers"]:
        i = c - 1
        out += [f"<code>{obs.scores['cell'][i]}</code>",
                f"R={obs.scores['r'][i]} F={obs.scores['f'][i]} M={obs.scores['m'][i]}"]
    return p["customers"], [], out


def _rfm_cell(obs, sid, p):
    n = int((obs.scores["cell"] == p["cell"]).sum())
    return [], [f"/sandbox/{sid}/customers?rfm={p['cell']}"], [f"共 {n} 位客户", f"<code>{p['cell']}</code></td><td>{n}<"]


def _tiers(obs, sid, p):
    out = []
    for c in p["customers"]:
        out += [f"<dd>{obs.tiers[c - 1]}</dd>", f"<td>{obs.tiers[c - 1]}</td>"]
    tier = obs.tiers[p["customers"][0] - 1]
    return p["customers"], [f"/sandbox/{sid}/customers?tier={tier}"], [
        *out, f"共 {int((obs.tiers == tier).sum())} 位客户"]


def _stages(obs, sid, p):
    out = []
    for c in p["customers"]:
        out += [f"<dd>{obs.stage[c - 1]}</dd>", f"<td>{obs.stage[c - 1]}</td>"]
    return p["customers"], [f"/sandbox/{sid}/customers?stage={s}" for s in ("退化期", "已流失")], [
        *out, f"共 {int((obs.stage == '退化期').sum())} 位客户"]


def _decline(obs, sid, p):
    return p["candidates"], [f"/sandbox/{sid}/customers?stage=退化期"], [
        "<td>退化期</td>", "<dd>退化期</dd>", f"共 {int((obs.stage == '退化期').sum())} 位客户"]


def _churn(obs, sid, p):
    seg = obs.customers[p["field"]] == p["value"]
    lost = int((seg & (obs.stage == "已流失")).sum())
    return [], [f"/sandbox/{sid}/customers?{p['field']}={p['value']}&stage=已流失"], [
        "<td>已流失</td>", f"共 {lost} 位客户"]


def _rule(obs, sid, p):
    lines, names = company().tables["order_lines"], company().tables["products"]["name"]
    best = association_rules(lines["order_id"], lines["product_id"], p["min_support"], p["min_confidence"])[0]
    return [], [], [f"{names[best['antecedent'] - 1]} → {names[best['consequent'] - 1]}", f"{best['lift']:.2f}</td>"]


def _pareto(obs, sid, p):
    share = top_share(obs.raw["monetary"], p["share"])
    return [], [], [f"{share * 100:.1f}%"]


EXPECTED = {"rfm_scores": _rfm_scores, "rfm_cell_count": _rfm_cell, "value_tiers": _tiers,
            "lifecycle_stage": _stages, "decline_customers": _decline, "segment_churn_rate": _churn,
            "association_rule": _rule, "pareto_share": _pareto}


def _html(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


@pytest.mark.parametrize("key", sorted(EXPECTED))
def test_no_student_page_answers_a_running_exercise(app, client, key):
    world = make_world(app)
    if "assignments" not in app.blueprints:
        pytest.skip("the assignments feature is not installed")
    assignment_id = assign(app, client, world, key)
    params = params_of(app, world, key, assignment_id)
    customers, extra, answers = EXPECTED[key](observed(), world.sandbox_id, params)
    pages = student_pages(world, customers, extra)
    # the strings do give the answer where figures are shown: the instructor's view has them
    teacher_html = "".join(_html(client, url) for url in pages)
    assert any(a in teacher_html for a in answers), (key, answers)
    student = app.test_client()
    login(student, "alice")
    with app.app_context():
        from app.models.assignments import Assignment
        from app.sandbox.work import SandboxExerciseKind

        with app.test_request_context():
            exercise_url = SandboxExerciseKind().student_url(db.session.get(Assignment, assignment_id))
    for url in [*pages, exercise_url]:
        html = _html(student, url)
        found = [a for a in answers if a in html]
        assert not found, (key, url, found)
    # the raw data stays: the customer list and the 360° page still show orders and revenue
    assert f"共 {SIZE} 位客户" in _html(student, f"/sandbox/{world.sandbox_id}/customers")
    assert "最近订单" in _html(student, f"/sandbox/{world.sandbox_id}/customers/1")


def test_downloads_keep_raw_data_and_derived_figures_are_the_instructors(app, client):
    world = make_world(app)
    login(client, "alice")
    sid = world.sandbox_id
    page = _html(client, f"/sandbox/{sid}/downloads")
    assert "customer_metrics" not in page and "orders.csv" in page and "order_lines.csv" in page
    assert client.get(f"/sandbox/{sid}/downloads/customer_metrics.csv").status_code == 403
    client.get(f"/sandbox/{sid}/downloads/customers.csv", follow_redirects=True).close()  # builds the export
    with client.get(f"/sandbox/{sid}/downloads/customers.csv") as response:
        assert response.status_code == 200
        header = response.get_data().decode("utf-8-sig").splitlines()[0].split(",")
    assert "n_orders" in header and not {"rfm", "tier", "stage"} & set(header)
    teacher = app.test_client()
    login(teacher, "teacher")
    with teacher.get(f"/sandbox/{sid}/downloads/customer_metrics.csv") as response:
        metrics = response.get_data().decode("utf-8-sig")
    first = metrics.splitlines()[1].split(",")
    assert first[1] == observed().scores["cell"][0] and first[-1] == observed().stage[0]


def test_figures_come_back_after_submission_or_close(app, client):
    world = make_world(app)
    assignment_id = assign(app, client, world, "rfm_scores")
    student = app.test_client()
    login(student, "alice")
    cell = observed().scores["cell"][0]
    url = f"/sandbox/{world.sandbox_id}/customers/1"
    assert f"<code>{cell}</code>" not in _html(student, url)
    from app.models.assignments import Assignment

    with app.app_context():
        db.session.get(Assignment, assignment_id).closes_at = now() - timedelta(minutes=1)
        db.session.commit()
    html = _html(student, url)
    assert f"<code>{cell}</code>" not in html  # rfm_cell_count, never submitted, still asks for the cells
    for key in ("rfm_scores", "rfm_cell_count"):
        post_form(student, f"/sandbox/{world.sandbox_id}/exercises/{key}", {})
    assert f"<code>{cell}</code>" in _html(student, url)


# ----------------------------------------------------------------------------------- assignment settings

def _attempts(app, assignment_id: int) -> list[float]:
    with app.app_context():
        return list(db.session.scalars(sa.select(SbExerciseAttempt.score).where(
            SbExerciseAttempt.assignment_id == assignment_id).order_by(SbExerciseAttempt.id)))


def test_exercise_assignment_honours_attempts_feedback_and_window(app, client):
    world = make_world(app)
    closes = (now() + timedelta(days=1)).astimezone().strftime("%Y-%m-%dT%H:%M")
    assignment_id = assign(app, client, world, "pareto_share", attempts_allowed=2, grading_rule="last",
                           closes_at=closes)
    params = params_of(app, world, "pareto_share", assignment_id)
    right = pct(top_share(observed().raw["monetary"], params["share"]))
    right_text = f"{right:.1f}%"
    student = app.test_client()
    login(student, "alice")
    from app.models.assignments import Assignment
    from app.sandbox.work import SandboxExerciseKind

    with app.app_context(), app.test_request_context():
        assignment = db.session.get(Assignment, assignment_id)
        url = SandboxExerciseKind().student_url(assignment)
    page = _html(student, url)
    assert "可提交 2 次" in page and "计最后一次" in page
    # 1st: wrong -> the method, not the number to paste back
    html = _html(student, post_form(student, url, {"percent": f"{right - 10:.2f}"}).headers["Location"])
    assert "方法提示" in html and right_text not in html and "得分 0 / 100" in html
    # 2nd: right (the last attempt) -> full feedback
    html = _html(student, post_form(student, url, {"percent": f"{right:.2f}"}).headers["Location"])
    assert "得分 100 / 100" in html and "已用完" in html
    # 3rd: refused, nothing recorded
    post_form(student, url, {"percent": f"{right:.2f}"}, page=f"/sandbox/{world.sandbox_id}/exercises")
    assert _attempts(app, assignment_id) == [0.0, 1.0]
    with app.app_context():
        kind = app.extensions["crm_assignment_kinds"]["sandbox_exercise"]
        assert kind.score(db.session.get(Assignment, assignment_id), world.alice)[0] == 10.0
        a = db.session.get(Assignment, assignment_id)
        a.attempts_allowed, a.closes_at = 0, now() - timedelta(minutes=1)
        db.session.commit()
    # after the close: refused with a clear message, not counted
    response = post_form(student, url, {"percent": "1"}, page=f"/sandbox/{world.sandbox_id}/exercises",
                         follow_redirects=True)
    assert "作业已截止" in response.get_data(as_text=True)
    assert _attempts(app, assignment_id) == [0.0, 1.0]


def test_after_close_policy_shows_nothing_until_the_close(app, client):
    world = make_world(app)
    assignment_id = assign(app, client, world, "pareto_share", attempts_allowed=0, feedback_policy="after_close")
    student = app.test_client()
    login(student, "alice")
    from app.models.assignments import Assignment
    from app.sandbox.work import SandboxExerciseKind

    with app.app_context(), app.test_request_context():
        url = SandboxExerciseKind().student_url(db.session.get(Assignment, assignment_id))
    html = _html(student, post_form(student, url, {"percent": "12.5"}).headers["Location"])
    assert "截止后公布" in html and not re.search(r"得分 \d+ / 100", html)
    with app.app_context():
        db.session.get(Assignment, assignment_id).closes_at = now() - timedelta(minutes=1)
        db.session.commit()
    assert re.search(r"得分 \d+ / 100", _html(student, url))


def test_assign_form_rejects_a_window_that_closes_before_it_opens(app, client):
    world = make_world(app)
    login(client, "teacher")
    response = post_form(client, f"/sandbox/assign/{world.class_id}", {
        "sandbox_id": world.sandbox_id, "exercise_key": "pareto_share", "title": "x", "points": 10,
        "attempts_allowed": 1, "grading_rule": "highest", "feedback_policy": "after_submit",
        "opens_at": "2030-01-02T10:00", "closes_at": "2030-01-01T10:00"})
    assert response.status_code == 200 and "截止时间必须晚于开放时间" in response.get_data(as_text=True)
    from app.models.assignments import Assignment

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 0


# ------------------------------------------------------------------------------- conventions, tolerances

def test_rfm_buyers_only_convention_is_accepted(app):
    world = make_world(app)
    obs = observed()
    buyers = obs.raw["frequency"] > 0
    part = rfm_scores(obs.raw["recency_days"][buyers], obs.raw["frequency"][buyers], obs.raw["monetary"][buyers])
    ids = np.flatnonzero(buyers) + 1
    differs = [int(c) for j, c in enumerate(ids) if any(part[k][j] != obs.scores[k][c - 1] for k in "rfm")]
    share = len(differs) / buyers.sum()
    assert share > 0.05  # the conventions really differ for many buyers
    chosen = differs[:3]
    answer = {f"{k}_{c}": str(int(part[k][list(ids).index(c)])) for c in chosen for k in "rfm"}
    result, _ = run_check(app, world.sandbox_id, "rfm_scores", world.alice, lambda p: answer,
                          {"customers": chosen, "as_of": "2026-06-30"})
    assert result.score == pytest.approx(1.0) and "标准 RFM" in result.feedback[0]
    cell = part["cell"][0]
    n_buyers = int((part["cell"] == cell).sum())
    result, _ = run_check(app, world.sandbox_id, "rfm_cell_count", world.alice, lambda p: {"count": n_buyers},
                          {"cell": str(cell), "as_of": "2026-06-30"})
    assert result.score == pytest.approx(1.0)


def test_decline_customers_accepts_the_truth_where_the_rule_disagrees(app):
    world = make_world(app)
    obs, truth = observed(), company().truth
    rule_only = [int(i) + 1 for i in np.flatnonzero((obs.stage == "退化期") & (truth.stage != "退化期"))][:1]
    truth_only = [int(i) + 1 for i in np.flatnonzero((obs.stage == "稳定期") & (truth.stage == "退化期"))][:1]
    both = [int(i) + 1 for i in np.flatnonzero((obs.stage == "退化期") & (truth.stage == "退化期"))][:2]
    steady = [int(i) + 1 for i in np.flatnonzero((obs.stage == "稳定期") & (truth.stage == "稳定期"))][:3]
    assert rule_only and truth_only and both
    params = {"candidates": sorted(rule_only + truth_only + both + steady), "as_of": "2026-06-30"}
    for picked in (both, both + rule_only, both + truth_only, both + rule_only + truth_only):
        result, _ = run_check(app, world.sandbox_id, "decline_customers", world.alice,
                              lambda p, picked=picked: {"declining": [str(c) for c in picked]}, params)
        assert result.score == pytest.approx(1.0), (picked, result.feedback)
    missed, _ = run_check(app, world.sandbox_id, "decline_customers", world.alice,
                          lambda p: {"declining": [str(c) for c in rule_only + steady[:1]]}, params)
    assert missed.score < 0.5


def test_churn_counts_buyers_only(app):
    world = make_world(app)
    obs = observed()
    bought = obs.raw["frequency"] > 0
    assert (obs.stage[~bought] == "潜在客户").all()
    params = {"field": "kind", "value": "消费者"}
    right = churn_rate((obs.stage == "已流失")[bought], obs.customers["kind"][bought])["消费者"]
    result, _ = run_check(app, world.sandbox_id, "segment_churn_rate", world.alice,
                          lambda p: {"percent": pct(right)}, params)
    assert result.score == pytest.approx(1.0)


def test_walmart_association_exercise_takes_the_planted_direction(app):
    world = make_world(app, "walmart_basket")
    lines, names = company("walmart_basket").tables["order_lines"], company("walmart_basket").tables["products"]["name"]
    ids = {str(n): i + 1 for i, n in enumerate(names.tolist())}
    params = {"min_support": 0.005, "min_confidence": 0.1}
    best = association_rules(lines["order_id"], lines["product_id"], 0.005, 0.1)[0]
    assert (names[best["antecedent"] - 1], names[best["consequent"] - 1]) == ("尿布", "啤酒")
    answer = {"antecedent": str(ids["尿布"]), "consequent": str(ids["啤酒"]), "lift": round(best["lift"], 2)}
    result, _ = run_check(app, world.sandbox_id, "association_rule", world.alice, lambda p: answer, params)
    assert result.score == pytest.approx(1.0) and not any("反方向" in line for line in result.feedback)
    assert re.search(r"尿布 → 啤酒", " ".join(result.feedback))
