"""A generated company looks like a real one: the tells a student noticed (issue 9), each measured on a company."""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from faker.providers.person.zh_CN import Provider as ZhPerson

from simulations import Company, Params, catalog, generate
from simulations import analytics as an
from simulations.common import rng_for, weekday
from simulations.population import build_pools, draw_person_names
from simulations.scenarios import SCENARIO_CONFIGS
from simulations.service import in_season

N = 3000


@pytest.fixture(scope="module", params=catalog.SCENARIOS)
def company(request: pytest.FixtureRequest) -> Company:
    return generate(Params(n_customers=N, scenario=request.param), 11)


def test_names_are_unique_at_100000_customers_from_faker_name_parts() -> None:
    pools = build_pools(3, 12, rng_for(3, "pools"))
    rng = np.random.default_rng(3)
    female = rng.random(100_000) < 0.5
    names = draw_person_names(rng, female, pools)
    _, counts = np.unique(names, return_counts=True)
    unique_share = float((counts == 1).sum() / names.size)
    assert unique_share >= 0.95, unique_share  # was 8-16 % with 1,000 whole names per sex
    assert unique_share < 1.0  # namesakes still exist, as in any real customer list
    surnames = set(ZhPerson.last_names)
    chars = {ch for name in (*ZhPerson.first_names_male, *ZhPerson.first_names_female) for ch in name}
    for name in names[:2000].tolist():
        surname = name[:2] if name[:2] in surnames else name[:1]
        assert surname in surnames, name
        assert 1 <= len(name) - len(surname) <= 2 and set(name[len(surname):]) <= chars, name
    # women's given names come from Faker's female name parts
    female_chars = {ch for n in ZhPerson.first_names_female for ch in n}
    assert all(set(n[-1:]) <= female_chars for n in names[female][:500].tolist())


def test_names_in_a_generated_company_rarely_repeat(company: Company) -> None:
    _, counts = np.unique(company.tables["customers"]["name"], return_counts=True)
    assert (counts == 1).sum() / N >= 0.97


@pytest.mark.parametrize("months", [24, 36])
def test_campaign_dates_lie_in_their_named_season(months: int) -> None:
    campaigns = generate(Params(n_customers=300, months=months), 5).tables["campaigns"]
    seasons = {pattern.split("}年")[1]: season for pattern, _, _, season in catalog.CAMPAIGN_TEMPLATES}
    seen_seasonal = 0
    for name, sent in zip(campaigns["name"].tolist(), campaigns["sent_on"], strict=True):
        year, label = name.split("年", 1)
        assert int(year) == int(str(sent)[:4]), name  # the year in the name is the year it was sent
        season = seasons[label]
        assert in_season(np.array([sent], dtype="datetime64[D]"), season)[0], (name, sent)
        seen_seasonal += season is not None
    assert seen_seasonal >= months // 12 * 3 - 1  # 春节, 双十一 and 年中答谢 every year the history covers


def test_in_season_reads_month_and_day() -> None:
    days = np.array(["2025-11-11", "2025-11-12", "2025-10-25", "2025-07-03", "2025-12-01"], dtype="datetime64[D]")
    double_eleven = catalog.CAMPAIGN_TEMPLATES[4][3]
    assert in_season(days, double_eleven).tolist() == [True, False, True, False, False]


def test_customers_are_adults_when_acquired(company: Company) -> None:
    c = company.tables["customers"]
    acquired_year = c["acquired_on"].astype("datetime64[Y]").astype(np.int64) + 1970
    age_when_acquired = acquired_year - c["birth_year"]
    assert age_when_acquired.min() >= 18  # 113-241 customers were 14-15 before
    assert (datetime.date(2026, 6, 30).year - c["birth_year"]).max() <= 90


def test_each_scenario_has_its_own_weekday_profile(company: Company) -> None:
    orders = company.tables["orders"]
    share = np.bincount(weekday(orders["ordered_on"]), minlength=7) / orders["id"].size
    want = np.asarray(SCENARIO_CONFIGS[company.params.scenario].weekday)
    want = want / want.sum()
    assert np.abs(share - want).max() < 0.02, (share.round(3), want.round(3))
    weekend = share[5:].sum()
    if company.params.scenario == "default":  # an office-supply seller is quiet at weekends
        assert weekend < 0.2
    if company.params.scenario == "walmart_basket":  # a hypermarket is busiest at weekends
        assert weekend > 0.33


def test_margins_by_category_and_no_order_costs_more_than_its_amount(company: Company) -> None:
    orders, products = company.tables["orders"], company.tables["products"]
    assert (orders["cost"] <= orders["amount"]).all()  # 4.7-14.4 % did before; this catalogue has no loss-leaders
    ratio = products["unit_cost"] / products["unit_price"]
    want = 1 - np.array([catalog.CATEGORY_MARGIN[c] for c in products["category"].tolist()])
    assert np.abs(ratio - want).max() <= 0.03 + 0.01
    lines = company.tables["order_lines"]
    assert (lines["unit_price"] >= products["unit_cost"][lines["product_id"] - 1]).all()  # no sale below cost
    profit = np.bincount(orders["customer_id"] - 1, weights=orders["amount"] - orders["cost"], minlength=N)
    assert (profit >= 0).all()  # 11.7 % of customers had negative lifetime profit from orders


def test_no_unplanted_rule_is_stronger_than_the_planted_one(company: Company) -> None:
    lines = company.tables["order_lines"]
    mined = an.association_rules(lines["order_id"], lines["product_id"], min_support=0.005, min_confidence=0.1,
                                 max_rules=None)
    planted = {(r["antecedent_id"], r["consequent_id"]) for r in company.truth.rules}
    planted_lift = min(r["lift"] for r in mined if (r["antecedent"], r["consequent"]) in planted)
    others = [r for r in mined if (r["antecedent"], r["consequent"]) not in planted]
    strongest_other = max((r["lift"] for r in others), default=0.0)
    assert strongest_other < planted_lift, (strongest_other, planted_lift)
    assert (mined[0]["antecedent"], mined[0]["consequent"]) in planted  # the list's top rule is the planted one


def test_never_buyers_are_prospects_not_lost(company: Company) -> None:
    c, orders, params = company.tables["customers"], company.tables["orders"], company.params
    bought = np.bincount(orders["customer_id"] - 1, minlength=N) > 0
    volume = an.monthly_volume(c["id"], orders["customer_id"], orders["ordered_on"], params.as_of, params.months)
    inferred = an.infer_stage(volume, an.month_index(c["acquired_on"], params.as_of, params.months))
    assert (inferred[~bought] == "潜在客户").all() and (company.truth.stage[~bought] == "潜在客户").all()
    assert not (inferred[bought] == "潜在客户").any()
    assert not company.truth.churned[~bought].any()


# ------------------------------------------------------------------------------- symmetric lift, tie-break

def test_lift_is_bit_identical_both_ways_and_ties_go_to_the_higher_confidence() -> None:
    # 3 orders of 10 hold A (id 1); B (id 2) is in 6; both in 3: A->B confidence 1.0, B->A 0.5, same lift.
    lines_o: list[int] = []
    lines_p: list[int] = []
    for o in range(10):
        if o < 3:
            lines_o += [o, o]
            lines_p += [1, 2]
        elif o < 6:
            lines_o.append(o)
            lines_p.append(2)
        else:
            lines_o.append(o)
            lines_p.append(3)
    rules = an.association_rules(lines_o, lines_p, 0.01, 0.1, None)
    ab = next(r for r in rules if (r["antecedent"], r["consequent"]) == (1, 2))
    ba = next(r for r in rules if (r["antecedent"], r["consequent"]) == (2, 1))
    assert ab["lift"] == ba["lift"] and ab["support"] == ba["support"]
    assert ab["confidence"] > ba["confidence"]
    assert rules.index(ab) < rules.index(ba)  # the tie-break applies: higher confidence first
    # the same with ids the other way round: the rarer product is still the antecedent
    swapped = an.association_rules(lines_o, [{1: 2, 2: 1}.get(p, p) for p in lines_p], 0.01, 0.1, None)
    assert (swapped[0]["antecedent"], swapped[0]["consequent"]) == (2, 1)


def test_walmart_strongest_rule_is_the_planted_direction() -> None:
    company = generate(Params(n_customers=N, scenario="walmart_basket"), 4)
    lines, names = company.tables["order_lines"], company.tables["products"]["name"]
    for seed_rule in an.association_rules(lines["order_id"], lines["product_id"], 0.005, 0.1, 1):
        assert (names[seed_rule["antecedent"] - 1], names[seed_rule["consequent"] - 1]) == ("尿布", "啤酒")
    stats_ab = an.rule_statistics(lines["order_id"], lines["product_id"], 1, 2)
    stats_ba = an.rule_statistics(lines["order_id"], lines["product_id"], 2, 1)
    assert stats_ab["lift"] == stats_ba["lift"]
