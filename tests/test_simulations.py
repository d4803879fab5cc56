"""Tests of simulations/: the generator's determinism and consistency, and the analytics against planted truth."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from simulations import Company, Params, data_hash, generate
from simulations import analytics as an
from simulations.catalog import SCENARIOS, STAGES

MONEY_COLUMNS = {"products": ("unit_price", "unit_cost"), "orders": ("amount", "cost"), "order_lines": ("unit_price",),
                 "campaigns": ("cost_per_contact", "fixed_cost")}
DATE_COLUMNS = {"customers": "acquired_on", "orders": "ordered_on", "interactions": "happened_on",
                "tickets": "opened_on", "surveys": "surveyed_on", "campaigns": "sent_on"}
COLUMNS = {
    "customers": {"id", "name", "phone", "province", "city", "company", "kind", "settlement", "channel",
                  "acquired_on", "owner", "gender", "birth_year"},
    "products": {"id", "name", "category", "unit_price", "unit_cost"},
    "orders": {"id", "customer_id", "ordered_on", "amount", "cost", "channel", "hour"},
    "order_lines": {"id", "order_id", "product_id", "quantity", "unit_price"},
    "interactions": {"id", "customer_id", "happened_on", "kind", "direction", "rep", "note"},
    "tickets": {"id", "customer_id", "opened_on", "type", "priority", "status", "resolution", "hours_to_resolve",
                "satisfied_with_handling"},
    "surveys": {"id", "customer_id", "surveyed_on", "expectation_a", "perception_b", "satisfaction_c",
                "would_recommend"},
    "campaigns": {"id", "name", "channel", "cost_per_contact", "fixed_cost", "sent_on", "segment_note"},
}


@pytest.fixture(scope="module")
def default_company() -> Company:
    return generate(Params(n_customers=3000), seed=20260630)


@pytest.fixture(scope="module", params=SCENARIOS)
def scenario_company(request: pytest.FixtureRequest) -> Company:
    return generate(Params(n_customers=800, scenario=request.param), seed=11)


def _rfm(company: Company) -> dict[str, np.ndarray]:
    customers, orders = company.tables["customers"], company.tables["orders"]
    return an.rfm_from_orders(customers["id"], orders["customer_id"], orders["ordered_on"], orders["amount"],
                              company.params.as_of)


# ------------------------------------------------------------------------------------------------ generator

def test_same_seed_same_data_and_different_seed_different_data() -> None:
    params = Params(n_customers=500)
    first, again, other = generate(params, 7), generate(params, 7), generate(params, 8)
    assert data_hash(first) == data_hash(again)
    assert data_hash(first) != data_hash(other)
    np.testing.assert_array_equal(first.truth.propensity, again.truth.propensity)
    assert data_hash(generate(Params(n_customers=500, scenario="walmart_basket"), 7)) != data_hash(first)


def test_tables_have_the_documented_columns_and_types(scenario_company: Company) -> None:
    tables = scenario_company.tables
    assert set(tables) == set(COLUMNS)
    for name, columns in COLUMNS.items():
        assert set(tables[name]) == columns, name
        lengths = {len(v) for v in tables[name].values()}
        assert len(lengths) == 1, name
        ids = tables[name]["id"]
        assert ids.dtype == np.int64
        np.testing.assert_array_equal(ids, np.arange(1, ids.size + 1))
        for column, values in tables[name].items():
            assert values.ndim == 1
            if values.dtype.kind in "UO":
                assert all(isinstance(v, str) for v in values[:50].tolist()), (name, column)
    for name, column in DATE_COLUMNS.items():
        assert tables[name][column].dtype == np.dtype("datetime64[D]"), (name, column)
    for name, money_columns in MONEY_COLUMNS.items():
        for column in money_columns:
            values = tables[name][column]
            assert values.dtype == np.float64
            np.testing.assert_allclose(values, np.round(values, 2), atol=1e-9)
    customers = tables["customers"]
    assert set(customers["kind"].tolist()) <= {"消费者", "企业", "渠道", "内部客户"}
    assert set(customers["settlement"].tolist()) <= {"现金", "预付款", "赊销"}
    consumers = customers["kind"] == "消费者"
    assert (customers["company"][consumers] == "").all()
    assert (customers["company"][~consumers] != "").all()
    assert set(tables["orders"]["channel"].tolist()) <= {"线上", "门店", "电话"}
    assert tables["orders"]["hour"].min() >= 0 and tables["orders"]["hour"].max() <= 23


def test_tables_are_consistent(scenario_company: Company) -> None:
    tables, params = scenario_company.tables, scenario_company.params
    customers, orders, lines = tables["customers"], tables["orders"], tables["order_lines"]
    as_of = np.datetime64(params.as_of, "D")
    acquired = customers["acquired_on"]
    for name, column in DATE_COLUMNS.items():
        dates = tables[name][column]
        assert (dates <= as_of).all(), name
        if "customer_id" in tables[name]:
            assert (dates >= acquired[tables[name]["customer_id"] - 1]).all(), name
            assert (np.diff(dates.astype(np.int64)) >= 0).all(), f"{name} ids are not in date order"
    # An order's amount is the sum of its lines; every order has lines, a product at most once.
    summed = np.bincount(lines["order_id"] - 1, weights=lines["quantity"] * lines["unit_price"],
                         minlength=orders["id"].size)
    np.testing.assert_allclose(summed, orders["amount"], atol=0.011)
    assert (np.bincount(lines["order_id"] - 1, minlength=orders["id"].size) > 0).all()
    pairs = lines["order_id"] * 10_000 + lines["product_id"]
    assert np.unique(pairs).size == pairs.size
    assert (lines["quantity"] >= 1).all()
    # Customers acquired during the history place their first order on the day they were acquired.
    first = np.full(customers["id"].size, np.datetime64("2200-01-01"), dtype="datetime64[D]")
    np.minimum.at(first, orders["customer_id"] - 1, orders["ordered_on"])
    in_window = acquired >= scenario_company.truth.month_starts[0]
    np.testing.assert_array_equal(first[in_window], acquired[in_window])
    # No orders before acquisition or after churn in the hidden lifecycle.
    month = an.month_index(orders["ordered_on"], params.as_of, params.months)
    stage = scenario_company.truth.stage_history[orders["customer_id"] - 1, month]
    assert ((stage >= 0) & (stage <= 3)).all()
    tickets = tables["tickets"]
    still_open = tickets["status"] == "处理中"
    np.testing.assert_array_equal(np.isnan(tickets["hours_to_resolve"]), still_open)
    assert not (tickets["satisfied_with_handling"] & still_open).any()
    surveys = tables["surveys"]
    np.testing.assert_allclose(surveys["satisfaction_c"],
                               np.round(surveys["perception_b"] / surveys["expectation_a"], 3))
    assert surveys["expectation_a"].min() >= 1 and surveys["perception_b"].max() <= 10


def test_truth_lines_up_with_tables(scenario_company: Company) -> None:
    truth, n = scenario_company.truth, scenario_company.params.n_customers
    for name in ("stage", "churned", "reactivated", "value_tier", "profit", "propensity", "response_value",
                 "segment", "cohort_year", "order_rate", "order_value"):
        assert getattr(truth, name).shape == (n,), name
    assert set(truth.stage.tolist()) <= {*STAGES, an.PROSPECT}
    np.testing.assert_array_equal(truth.churned, truth.stage == "已流失")
    never_bought = np.bincount(scenario_company.tables["orders"]["customer_id"] - 1, minlength=n) == 0
    np.testing.assert_array_equal(truth.stage == an.PROSPECT, never_bought)  # prospects, not lost customers
    assert truth.stage_history.shape == (n, scenario_company.params.months)
    tickets = scenario_company.tables["tickets"]
    assert truth.ticket_effect.size == tickets["id"].size
    np.testing.assert_array_equal(truth.ticket_told == 0, tickets["status"] == "处理中")  # per-ticket truth lines up
    assert not tickets["satisfied_with_handling"][truth.ticket_effect == "完全抵制"].any()
    assert truth.survey_effect.size == scenario_company.tables["surveys"]["id"].size
    assert ((truth.propensity > 0) & (truth.propensity < 1)).all()
    assert truth.rules and all(rule["lift"] > 1 for rule in truth.rules)


def test_default_size_gives_about_twenty_orders_per_customer(default_company: Company) -> None:
    per_customer = default_company.tables["orders"]["id"].size / default_company.params.n_customers
    assert 18 <= per_customer <= 22
    truth = default_company.truth
    assert 0.02 < truth.reactivated.mean() < 0.2
    assert set(truth.stage.tolist()) == {*STAGES, an.PROSPECT}


def test_data_hash_sees_any_change() -> None:
    company = generate(Params(n_customers=200), 1)
    before = data_hash(company)
    company.tables["orders"]["amount"][0] += 0.01
    assert data_hash(company) != before
    assert data_hash(company.tables) == data_hash(company)


def test_unknown_scenario_and_bad_seed_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        generate(Params(n_customers=10, scenario="nope"), 1)
    with pytest.raises(ValueError, match="seed"):
        generate(Params(n_customers=10), -1)


def test_as_of_mid_month_and_short_history() -> None:
    company = generate(Params(n_customers=300, months=6, as_of=datetime.date(2025, 3, 14)), 3)
    orders = company.tables["orders"]["ordered_on"]
    assert orders.max() <= np.datetime64("2025-03-14")
    assert orders.min() >= np.datetime64("2024-10-01")


# -------------------------------------------------------------------------------- analytics recover the truth

def test_lifecycle_inference_agrees_with_truth(default_company: Company) -> None:
    customers, orders, params = (default_company.tables["customers"], default_company.tables["orders"],
                                 default_company.params)
    volume = an.monthly_volume(customers["id"], orders["customer_id"], orders["ordered_on"], params.as_of,
                               params.months)
    acquired = an.month_index(customers["acquired_on"], params.as_of, params.months)
    inferred = an.infer_stage(volume, acquired)
    accuracy = float(np.mean(inferred == default_company.truth.stage))
    assert accuracy >= 0.7
    assert set(inferred.tolist()) == {*STAGES, an.PROSPECT}  # every stage occurs


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_planted_association_is_found(scenario: str) -> None:
    company = generate(Params(n_customers=1500, scenario=scenario), 5)
    lines, names = company.tables["order_lines"], company.tables["products"]["name"]
    mined = an.association_rules(lines["order_id"], lines["product_id"], min_support=0.005, min_confidence=0.2,
                                 max_rules=None)
    planted = [r for r in company.truth.rules if r["direction"] == "planted"]
    for rule in planted:
        match = [m for m in mined if m["antecedent"] == rule["antecedent_id"] and m["consequent"] == rule["consequent_id"]]
        assert match, rule
        assert match[0]["lift"] == pytest.approx(rule["lift"], rel=0.10)
        assert rule["lift"] >= 2.5
        assert names[rule["antecedent_id"] - 1] == rule["antecedent"]
    if scenario == "walmart_basket":
        assert (planted[0]["antecedent"], planted[0]["consequent"]) == ("尿布", "啤酒")
        pairs = [(m["antecedent"], m["consequent"]) for m in mined]
        assert pairs.index((planted[0]["antecedent_id"], planted[0]["consequent_id"])) < 4  # among the strongest


def test_top_fifth_of_customers_make_most_revenue(default_company: Company) -> None:
    orders = default_company.tables["orders"]
    revenue = np.bincount(orders["customer_id"] - 1, weights=orders["amount"],
                          minlength=default_company.params.n_customers)
    result = an.pareto(revenue)
    assert 0.7 <= result["top20_share"] <= 0.9
    assert result["share_customers_for_80pct"] < 0.35


def test_rfm_targeted_campaign_beats_random(default_company: Company) -> None:
    rfm = _rfm(default_company)
    scores = an.rfm_scores(rfm["recency_days"], rfm["frequency"], rfm["monetary"])
    target = default_company.tables["customers"]["id"][(scores["r"] >= 4) & (scores["f"] >= 4)]
    targeted = an.simulate_campaign(default_company, target, cost_per_contact=2.0, fixed_cost=2000.0, seed=1)
    baseline = an.random_baseline(default_company, target.size, cost_per_contact=2.0, fixed_cost=2000.0, seed=1)
    assert targeted["contacted"] == baseline["contacted"] == target.size
    assert targeted["cost"] == baseline["cost"]
    assert targeted["expected_profit"] > baseline["expected_profit"]
    assert targeted["expected_responders"] > 1.5 * baseline["expected_responders"]
    # Course: the best R quintile answers far more often than the next one.
    propensity = default_company.truth.propensity
    assert propensity[scores["r"] == 5].mean() > 1.5 * propensity[scores["r"] == 4].mean()


def test_value_tiers_of_true_profit_follow_the_cutoffs(default_company: Company) -> None:
    tiers, profit = default_company.truth.value_tier, default_company.truth.profit
    counts = {t: int((tiers == t).sum()) for t in an.VALUE_TIERS}
    assert counts == {"VIP": 150, "主要": 450, "普通": 900, "小客户": 1500}
    assert profit[tiers == "VIP"].min() >= profit[tiers == "主要"].max()
    assert (profit[tiers == "小客户"] < 0).any()  # some small customers lose money (course: 带来负值的小客户)


def test_satisfaction_predicts_repurchase(default_company: Company) -> None:
    surveys, orders = default_company.tables["surveys"], default_company.tables["orders"]
    order = np.lexsort((orders["ordered_on"], orders["customer_id"]))
    who, when = orders["customer_id"][order], orders["ordered_on"][order]
    after = []
    for customer, day in zip(surveys["customer_id"].tolist(), surveys["surveyed_on"], strict=True):
        lo, hi = np.searchsorted(who, customer), np.searchsorted(who, customer, side="right")
        days = when[lo:hi]
        after.append(int(((days > day) & (days <= day + np.timedelta64(180, "D"))).sum()))
    after_arr = np.array(after)
    c = surveys["satisfaction_c"]
    low, high = c <= np.quantile(c, 1 / 3), c > np.quantile(c, 2 / 3)
    assert after_arr[high].mean() > 1.2 * after_arr[low].mean()
    assert surveys["would_recommend"][high].mean() > surveys["would_recommend"][low].mean()


def test_coca_cola_complaints_follow_the_course_figures() -> None:
    company = generate(Params(n_customers=3000, scenario="coca_cola_complaints"), 4)
    tickets, truth = company.tables["tickets"], company.truth
    closed = tickets["status"] != "处理中"
    satisfied = tickets["satisfied_with_handling"]
    told = truth.ticket_told
    ordinary = told < 20
    assert set(told[closed & satisfied & ordinary].tolist()) <= {4, 5}
    assert set(told[closed & ~satisfied & ordinary].tolist()) <= {9, 10}
    assert 0.08 <= np.mean(told[closed] >= 20) <= 0.17
    effect = truth.ticket_effect
    unsatisfied_first = (effect == "完全抵制") | (effect == "减少购买")
    assert np.mean(effect[unsatisfied_first] == "完全抵制") == pytest.approx(1 / 3 / 0.78, abs=0.08)
    boycotters = tickets["customer_id"][effect == "完全抵制"] - 1
    assert truth.churned[boycotters].mean() > 0.9
    assert not satisfied[effect == "完全抵制"].any()


def test_cosmetics_members_join_at_the_june_graduation_show() -> None:
    company = generate(Params(n_customers=1500, scenario="cosmetics_members"), 4)
    customers, truth = company.tables["customers"], company.truth
    members = truth.cohort_year > 0
    assert 0.35 <= members.mean() <= 0.65
    acquired = customers["acquired_on"][members]
    assert (acquired.astype("datetime64[M]").astype(np.int64) % 12 == 5).all()  # June
    assert (customers["channel"][members] == "校园活动").all()
    assert (customers["gender"][members] == "女").all()
    np.testing.assert_array_equal(customers["birth_year"][members], truth.cohort_year[members] - 18)
    for shares in truth.cohort_retention.values():
        assert shares == sorted(shares, reverse=True)
    assert truth.facts["attendance_rate"] >= 0.9


def test_convenience_segments_shop_at_their_hours() -> None:
    company = generate(Params(n_customers=1500, scenario="convenience_time_of_day"), 4)
    orders, truth = company.tables["orders"], company.truth
    segment = truth.segment[orders["customer_id"] - 1]
    peaks = {"早间通勤族": {7, 8, 9}, "午间白领女性": {11, 12, 13}, "傍晚下班放学族": {17, 18, 19, 20},
             "深夜夜归人": {22, 23, 0, 1}}
    for name, hours in peaks.items():
        in_peak = np.isin(orders["hour"][segment == name], list(hours))
        assert in_peak.mean() > 0.6, name
    women = company.tables["customers"]["gender"] == "女"
    assert women[truth.segment == "午间白领女性"].mean() > women[truth.segment == "深夜夜归人"].mean() + 0.3


# ---------------------------------------------------------------------------------- analytics, by hand

def test_rfm_scores_on_a_hand_computed_example() -> None:
    recency = [5, 40, 3, 100, 20, 60, 8, 15, 200, 30]
    frequency = [10, 2, 7, 1, 4, 3, 9, 6, 1, 5]
    monetary = [900, 700, 640, 50, 300, 200, 800, 450, 30, 380]
    scores = an.rfm_scores(recency, frequency, monetary)
    # Most recent first, two per quintile: 3,5 -> 5; 8,15 -> 4; 20,30 -> 3; 40,60 -> 2; 100,200 -> 1.
    np.testing.assert_array_equal(scores["r"], [5, 2, 5, 1, 3, 2, 4, 4, 1, 3])
    # 1,1 -> 1; 2,3 -> 2; 4,5 -> 3; 6,7 -> 4; 9,10 -> 5.
    np.testing.assert_array_equal(scores["f"], [5, 2, 4, 1, 3, 2, 5, 4, 1, 3])
    # 30,50 -> 1; 200,300 -> 2; 380,450 -> 3; 640,700 -> 4; 800,900 -> 5.
    np.testing.assert_array_equal(scores["m"], [5, 4, 4, 1, 2, 2, 5, 3, 1, 3])
    assert scores["cell"].tolist() == ["555", "224", "544", "111", "332", "222", "455", "443", "111", "333"]


def test_rfm_tie_rules() -> None:
    values = [1, 1, 1, 1, 5, 6, 7, 8, 9, 10]
    first = an.quintile_scores(values, tie_rule="rank_first")
    average = an.quintile_scores(values, tie_rule="average_rank")
    np.testing.assert_array_equal(first, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
    assert len(set(average[:4].tolist())) == 1  # tied values share one score
    # Average ranks 2.5 x4, 5..10; their quintile edges are 2.5, 4.0, 6.4, 8.2.
    np.testing.assert_array_equal(average, [1, 1, 1, 1, 3, 3, 4, 4, 5, 5])
    np.testing.assert_array_equal(an.quintile_scores([3, 2, 1, 5, 4], higher_is_better=False), [3, 4, 5, 1, 2])
    with pytest.raises(ValueError):
        an.quintile_scores(values, tie_rule="dense")  # type: ignore[arg-type]


def test_rfm_from_orders_by_hand() -> None:
    result = an.rfm_from_orders(
        customer_ids=[1, 2, 3],
        order_customer_id=[1, 1, 2, 1, 2],
        order_date=np.array(["2026-06-01", "2026-06-20", "2026-05-31", "2026-07-05", "2026-03-01"],
                            dtype="datetime64[D]"),
        order_amount=[100.0, 50.0, 30.0, 999.0, 20.0],
        as_of=datetime.date(2026, 6, 30),
    )
    np.testing.assert_array_equal(result["recency_days"], [10.0, 30.0, np.inf])  # the July order is ignored
    np.testing.assert_array_equal(result["frequency"], [2.0, 2.0, 0.0])
    np.testing.assert_array_equal(result["monetary"], [150.0, 50.0, 0.0])


def test_pareto_by_hand() -> None:
    result = an.pareto([5, 50, 10, 30, 5])
    assert result["top20_share"] == pytest.approx(0.5)
    assert result["share_customers_for_80pct"] == pytest.approx(0.4)
    # Sorted 50, 30 | 10, 5 | 5 (ties keep input order): A until 80 %, B until 95 %, then C.
    assert result["abc_class"].tolist() == ["B", "A", "B", "A", "C"]
    np.testing.assert_allclose(result["curve_y"], [0, 0.5, 0.8, 0.9, 0.95, 1.0])


def test_value_tiers_cutoffs() -> None:
    profit = np.arange(1, 101, dtype=float)[::-1]  # customer 1 is the most profitable
    tiers = an.value_tiers(profit)
    assert tiers[:5].tolist() == ["VIP"] * 5
    assert (tiers[5:20] == "主要").all() and (tiers[20:50] == "普通").all() and (tiers[50:] == "小客户").all()
    custom = an.value_tiers(profit, cutoffs=(0.1, 0.3, 0.6))
    assert [int((custom == t).sum()) for t in an.VALUE_TIERS] == [10, 20, 30, 40]
    # Ten customers: round half up gives 1 VIP, 1 主要, 3 普通, 5 小客户.
    small = an.value_tiers([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
    assert [int((small == t).sum()) for t in an.VALUE_TIERS] == [1, 1, 3, 5]
    with pytest.raises(ValueError):
        an.value_tiers(profit, cutoffs=(0.5, 0.2, 0.1))


def test_clv_by_hand() -> None:
    # 100/1.1 + 80/1.21 + 64/1.331 = 90.909 + 66.116 + 48.084
    assert an.clv(100.0, retention=0.8, discount=0.1, years=3) == pytest.approx(205.109, abs=1e-3)
    # Margins at the start of each year: 100 + 80/1.1 + 64/1.21
    assert an.clv(100.0, 0.8, 0.1, 3, first_year_discounted=False) == pytest.approx(225.620, abs=1e-3)
    assert an.clv(100.0, 1.0, 0.0, 5) == pytest.approx(500.0)
    assert an.customer_equity([100.0, 200.0], 0.8, 0.1, 3) == pytest.approx(3 * 205.109, abs=1e-2)
    assert an.customer_equity([100.0, 100.0], [0.8, 1.0], 0.0, 2) == pytest.approx(180.0 + 200.0)
    with pytest.raises(ValueError):
        an.clv(100.0, 1.5, 0.1, 3)


def test_churn_rate_by_segment() -> None:
    rates = an.churn_rate([True, False, True, True, False], ["门店", "门店", "线上广告", "线上广告", "展会"])
    assert rates == {"展会": 0.0, "线上广告": 1.0, "门店": 0.5}


def test_infer_stage_on_clear_patterns() -> None:
    volume = np.array([
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],  # acquired last month: 考察期
        [0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 3],  # acquired 5 months ago, rising: 形成期
        [3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3],  # steady: 稳定期
        [4, 4, 4, 4, 4, 4, 4, 4, 3, 1, 0, 1],  # falling: 退化期
        [3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0],  # silent for six months: 已流失
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # never bought: a prospect, not a lost customer
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],  # never bought, registered long ago: still a prospect
    ], dtype=float)
    acquired = np.array([11, 7, -10, -10, -10, 11, -10])
    assert an.infer_stage(volume, acquired).tolist() == ["考察期", "形成期", "稳定期", "退化期", "已流失", "潜在客户",
                                                         "潜在客户"]


def test_bucketed_search_equals_searchsorted() -> None:
    """The generator's category draws look most needles up by bucket: the same indices as np.searchsorted."""
    from simulations.common import BUCKETS, search_right

    rng = np.random.default_rng(9)
    for trial in range(30):
        groups, k = int(rng.integers(1, 6)), int(rng.integers(1, 80))
        weights = rng.random((groups, k)) ** 4 * (rng.random((groups, k)) < 0.8)  # tiny and empty categories
        weights[:, 0] += 1e-9
        cdf = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
        cdf[:, -1] = 1.0
        haystack = (np.arange(groups)[:, None] + cdf).ravel()
        if trial % 3 == 0:  # values on bucket edges, and needles equal to haystack values
            haystack = np.sort(np.concatenate([haystack, rng.integers(0, groups * BUCKETS, 20) / BUCKETS]))
        needles = rng.integers(0, groups, 20_000) + rng.random(20_000)
        needles[:200] = rng.choice(haystack, 200)
        needles[200:300] = rng.integers(0, groups * BUCKETS, 100) / BUCKETS
        np.testing.assert_array_equal(search_right(haystack, needles), np.searchsorted(haystack, needles, side="right"))


def test_infer_stage_on_integer_counts_equals_the_masked_float_sums() -> None:
    """Integer counts take prefix sums (row- or month-major), float volumes the masked row sums; histories of up to
    52 months are read as bit masks, longer ones as matrices: the same stage for every customer."""
    rng = np.random.default_rng(5)
    for trial in range(60):
        n, months = int(rng.integers(1, 300)), int(rng.integers(1, 60))
        busy = rng.gamma(0.7, 1.0, (n, 1)) * (rng.random((n, months)) < rng.random((n, 1)))
        counts = rng.poisson(busy * 3 * rng.random((n, months)))
        acquired = rng.integers(-30, months + 2, n) if trial % 3 else None
        quiet = int(rng.integers(0, 7))
        as_int = an.infer_stage(counts, acquired, min_quiet_months=quiet)
        as_float = an.infer_stage(counts.astype(float), acquired, min_quiet_months=quiet)
        month_major = an.infer_stage(np.asfortranarray(counts), acquired, min_quiet_months=quiet)
        assert as_int.tolist() == as_float.tolist() == month_major.tolist(), trial
        if trial % 10 == 0:  # counts whose sums need 64 bits: the same as their float sums
            huge = counts * 2**32
            assert an.infer_stage(huge, acquired, min_quiet_months=quiet).tolist() == an.infer_stage(
                huge.astype(float), acquired, min_quiet_months=quiet).tolist(), trial


def test_infer_stage_from_order_cells_equals_the_stage_of_the_counted_matrix() -> None:
    """One (customer, month) cell per order, sorted or not, customers without orders included, any history length
    and quiet rule: the same stage as counting the cells into the customers x months matrix first."""
    rng = np.random.default_rng(11)
    for trial in range(80):
        n, months = int(rng.integers(0, 300)), int(rng.integers(1, 60))
        busy = rng.gamma(0.7, 1.0, (n, 1)) * (rng.random((n, months)) < rng.random((n, 1)))
        counts = rng.poisson(busy * 3 * rng.random((n, months)))
        counts[rng.random(n) < 0.3] = 0  # never bought
        cells = np.repeat(np.arange(n * months), counts.ravel()).astype(np.int32 if trial % 2 else np.int64)
        shuffled = trial % 3 == 0
        if shuffled:
            cells = rng.permutation(cells)
        acquired = rng.integers(-30, months + 2, n) if trial % 4 else None
        rules = {"min_quiet_months": int(rng.integers(0, 7))}
        if trial % 5 == 0:
            rules.update(trial_months=int(rng.integers(0, 4)), forming_months=int(rng.integers(0, 9)),
                         min_expected=float(rng.random() * 4), decline_ratio=float(rng.random()))
        expected = an.infer_stage(counts, acquired, **rules)
        got = an.infer_stage_from_cells(cells, n, months, acquired, presorted=not shuffled, **rules)
        assert got.tolist() == expected.tolist(), trial
    assert an.infer_stage_from_cells(np.zeros(0, np.int32), 3, 24).tolist() == ["潜在客户"] * 3
    with pytest.raises(ValueError):
        an.infer_stage_from_cells(np.array([0, 48]), 2, 24)  # customer 2 of 2


def test_quintile_scores_of_whole_numbers_equal_a_plain_stable_sort() -> None:
    """Counts and days are ranked through 16-bit keys (radix sort): the same scores as sorting the values."""
    def plain(values: np.ndarray, higher_is_better: bool) -> np.ndarray:
        x = values if higher_is_better else -values
        ranks = np.empty(x.size)
        ranks[np.argsort(x, kind="stable")] = np.arange(1, x.size + 1)
        return 1 + np.searchsorted(np.quantile(ranks, [0.2, 0.4, 0.6, 0.8]), ranks, side="left")

    rng = np.random.default_rng(3)
    for trial in range(40):
        n = int(rng.integers(1, 2000))
        values = rng.integers(-70_000 if trial % 4 == 0 else 0, 70_000 if trial % 4 == 0 else 60, n).astype(float)
        if trial % 2:
            values[rng.random(n) < 0.1] = np.inf  # never bought: worst recency
            values[rng.random(n) < 0.02] = -np.inf
        for better in (True, False):
            np.testing.assert_array_equal(an.quintile_scores(values, better), plain(values, better))
    for trial in range(20):  # wider spans (amounts in cents, large day spans): one unique 64-bit key per value
        n = int(rng.integers(1, 3000))
        values = rng.integers(-5 * 10**8 if trial % 2 else 0, 10**9, n).astype(float)
        values[rng.random(n) < 0.3] = values[0]  # many ties
        for better in (True, False):
            np.testing.assert_array_equal(an.quintile_scores(values, better), plain(values, better))
            np.testing.assert_array_equal(an.quintile_scores(values, better, "average_rank"),
                                          an.quintile_scores(values / 7, better, "average_rank"))  # not whole
    r, f, m = (rng.integers(0, 40, 500).astype(float) for _ in range(3))
    scores = an.rfm_scores(r, f, m)
    assert scores["cell"].tolist() == (scores["r"] * 100 + scores["f"] * 10 + scores["m"]).astype(str).tolist()


def test_scores_tiers_and_abc_from_cut_positions_equal_a_full_stable_sort() -> None:
    """Quintile scores, value tiers and ABC classes take only the values at a few cut positions (a partial sort)
    and split the values tied there in input order: the same as positions in a full stable argsort, with ties,
    signed zeros, infinities and NaN (which goes to the sort)."""
    def stable_positions(values: np.ndarray) -> np.ndarray:
        position = np.empty(values.size, dtype=np.int64)
        position[np.argsort(values, kind="stable")] = np.arange(values.size)
        return position

    rng = np.random.default_rng(17)
    for trial in range(300):
        n = int(rng.integers(0, 400))
        kind = trial % 5
        if kind == 0:
            values = rng.normal(0, 100, n)
        elif kind == 1:
            values = rng.integers(-3, 4, n).astype(float)  # few distinct values: ties at every cut
        elif kind == 2:
            values = np.round(rng.gamma(1.0, 300.0, n) * (rng.random(n) < 0.7), 2)  # revenue, many zeros
        elif kind == 3:
            values = rng.choice([0.0, -0.0, 1.5, np.inf, -np.inf], n)
        else:
            values = rng.integers(0, 6, n).astype(float)
            values[rng.random(n) < 0.1] = np.nan
        cutoffs = (0.05, 0.20, 0.50) if trial % 4 else tuple(sorted(rng.choice([0.0, 0.1, 0.5, 1.0], 3)))
        bounds = np.floor(np.array(cutoffs) * n + 0.5)
        expected = np.array(an.VALUE_TIERS)[np.searchsorted(bounds, stable_positions(-values), side="right")]
        assert an.value_tiers(values, cutoffs).tolist() == expected.tolist(), trial
        if n:
            for better in (True, False):
                ranks = stable_positions(values if better else -values) + 1.0
                quintile = 1 + np.searchsorted(np.quantile(np.arange(1.0, n + 1), [0.2, 0.4, 0.6, 0.8]), ranks)
                assert an.quintile_scores(values, better).tolist() == quintile.tolist(), trial
        if kind == 4:
            continue  # (the curve of NaN revenue is NaN)
        values = np.where(np.isinf(values), np.sign(values) * 9.0, values)  # (infinite revenue: no curve)
        result = an.pareto(values)
        share = np.maximum(-np.sort(-values), 0.0)
        total = share.sum()
        cumulative = np.cumsum(share) / total if total > 0 else np.zeros(n)
        before = np.concatenate([[0.0], cumulative[:-1]]) if n else np.zeros(0)
        by_position = np.where(share <= 0, "C", np.where(before < 0.8 - 1e-12, "A",
                                                          np.where(before < 0.95 - 1e-12, "B", "C")))
        assert result["abc_class"].tolist() == by_position[stable_positions(-values)].tolist(), trial
        np.testing.assert_array_equal(result["curve_y"], np.concatenate([[0.0], cumulative]))


def test_monthly_volume_counts_and_sums() -> None:
    dates = np.array(["2026-04-03", "2026-06-01", "2026-06-30", "2025-01-01"], dtype="datetime64[D]")
    counts = an.monthly_volume([1, 2], [1, 1, 2, 2], dates, datetime.date(2026, 6, 30), 3)
    np.testing.assert_array_equal(counts, [[1, 0, 1], [0, 0, 1]])
    amounts = an.monthly_volume([1, 2], [1, 1, 2, 2], dates, datetime.date(2026, 6, 30), 3, values=[5, 6, 7, 8])
    np.testing.assert_array_equal(amounts, [[5, 0, 6], [0, 0, 7]])


def test_kmeans_is_deterministic_and_finds_separated_groups() -> None:
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = np.concatenate([c + rng.normal(0, 0.5, (50, 2)) for c in centers])
    labels, found = an.kmeans(x, 3, seed=42)
    again, _ = an.kmeans(x, 3, seed=42)
    np.testing.assert_array_equal(labels, again)
    for block in range(3):
        assert np.unique(labels[block * 50:(block + 1) * 50]).size == 1
    assert np.unique(labels).size == 3
    assert np.sort(np.round(found[:, 0])).tolist() == [0.0, 0.0, 10.0]


def test_kmeans_on_standardised_rfm(default_company: Company) -> None:
    rfm = _rfm(default_company)
    features = an.rfm_features(rfm["recency_days"], rfm["frequency"], rfm["monetary"])
    np.testing.assert_allclose(features.mean(axis=0), 0.0, atol=1e-9)
    labels, centers = an.kmeans(features, 4, seed=1)
    np.testing.assert_array_equal(labels, an.kmeans(features, 4, seed=1)[0])
    assert centers.shape == (4, 3) and np.bincount(labels, minlength=4).min() > 0


def test_association_rules_by_hand() -> None:
    orders = [1, 1, 2, 2, 3, 4, 4]
    products = [10, 20, 10, 20, 10, 30, 30]  # order 4 lists product 30 twice: it counts once
    rules = an.association_rules(orders, products, min_support=0.25, min_confidence=0.5)
    by_pair = {(r["antecedent"], r["consequent"]): r for r in rules}
    assert set(by_pair) == {(10, 20), (20, 10)}
    assert by_pair[(10, 20)]["support"] == pytest.approx(0.5)
    assert by_pair[(10, 20)]["confidence"] == pytest.approx(2 / 3)
    assert by_pair[(10, 20)]["lift"] == pytest.approx((2 / 3) / 0.5)
    assert by_pair[(20, 10)]["confidence"] == pytest.approx(1.0)
    assert an.association_rules(orders, products, min_support=0.6, min_confidence=0.0) == []
    one = an.rule_statistics(orders, products, 10, 20)
    assert one == {key: by_pair[(10, 20)][key] for key in ("support", "confidence", "lift", "count")}
    assert an.rule_statistics(orders, products, 10, 20, n_orders=8)["support"] == pytest.approx(0.25)


def test_simulate_campaign_with_an_unpacked_truth() -> None:
    truth = {"propensity": np.array([1.0, 0.0, 1.0, 0.0]), "response_value": np.array([100.0, 50.0, 10.0, 5.0])}
    result = an.simulate_campaign(truth, [1, 2, 3, 3], cost_per_contact=1.0, fixed_cost=7.0, seed=0)
    assert result["contacted"] == 3 and result["responders"] == 2
    assert result["cost"] == 10.0
    assert result["expected_revenue"] == 110.0
    assert result["expected_profit"] == 100.0 and result["expected_roi"] == 10.0
    assert result == an.simulate_campaign(truth, [3, 2, 1], 1.0, 7.0, seed=0)
    with pytest.raises(ValueError):
        an.simulate_campaign(truth, [5], 1.0, 0.0, seed=0)
    baseline = an.random_baseline(truth, 2, 1.0, 0.0, seed=0, population=[2, 4])
    assert baseline["responders"] == 0 and baseline["revenue"] == 0.0
